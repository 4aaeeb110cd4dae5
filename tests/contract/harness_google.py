"""Contract harness for Google Calendar: the real adapter and client library against the
loopback Google emulator."""
from __future__ import annotations

import contextlib
import itertools
import logging

from adapters.providers.google import GoogleCalendarProvider
from adapters.providers.retry import RetryPolicy
from emulators.google import GoogleEmulator
from scheduler.ports import CalendarAccount
from tests.contract.harness import Harness

FAST_RETRIES = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0)


class _Capture(logging.Handler):
    """Everything the adapter logs, for the privacy check."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def provider_for(emu: GoogleEmulator, **kw) -> GoogleCalendarProvider:
    """The adapter configured for an emulator (no real sleeping between retries)."""
    kw.setdefault("retry_policy", FAST_RETRIES)
    kw.setdefault("sleep", lambda seconds: None)
    kw.setdefault("timeout_s", 10)
    kw.setdefault("batch_uri", emu.batch_uri)
    return GoogleCalendarProvider(emu.client_id, emu.client_secret, token_uri=emu.token_uri,
                                  api_endpoint=emu.calendar_endpoint, revoke_uri=emu.revoke_uri, trust_env=False,
                                  **kw)


@contextlib.contextmanager
def make_harness():
    capture = _Capture()
    adapter_log = logging.getLogger("adapters.providers.google")
    adapter_log.addHandler(capture)
    numbers = itertools.count(1)
    stored: list[dict] = []
    with GoogleEmulator() as emu:
        provider = provider_for(emu)

        def account(email: str) -> CalendarAccount:
            credentials = emu.grant(email)
            return CalendarAccount(connection_id=f"google-{next(numbers)}", provider="google", email=email.lower(),
                                   credentials=credentials, on_credentials_changed=stored.append)

        def add_busy(acct: CalendarAccount, start, end, title, **kw) -> None:
            emu.add_event(acct.email, start, end, title, rrule=kw.get("rrule"), tz=kw.get("tz"),
                          transparent=kw.get("transparent", False), cancelled=kw.get("cancelled", False))

        def inject(name: str, **kw) -> None:
            if name == "revoked":
                for email in list(emu.store.users):
                    emu.revoke(email)
            elif name == "stale_sync":
                emu.invalidate_sync_tokens()
            else:
                emu.faults.add(name, count=kw.get("times", 1), retry_after=kw.get("retry_after"))

        def count_events(acct: CalendarAccount) -> int:
            return sum(1 for e in emu.events(acct.email) if not e.get("recurringEventId"))

        def requests_served() -> int:
            return len(emu.response_log)

        def all_logged_text() -> str:
            return "\n".join(capture.lines) + "\n" + repr(stored)

        try:
            yield Harness(
                name="google", provider=provider, account=account, add_busy=add_busy,
                faults=frozenset({"rate_limit", "unavailable", "revoked", "stale_sync"}), inject=inject,
                count_events=count_events, requests_served=requests_served, all_logged_text=all_logged_text,
                set_attendee_response=lambda organizer, event_id, attendee, response:
                    emu.set_response(organizer.email, event_id, attendee, response),
                extra={"emulator": emu},
            )
        finally:
            adapter_log.removeHandler(capture)
