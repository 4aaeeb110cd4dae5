"""Contract harness for Microsoft Graph: the real adapter, real MSAL and ``requests`` talking to the
Graph emulator over TLS. Accounts are connected through the real auth-code flow (auto-approved
consent), so every credential the adapter uses came out of MSAL."""
from __future__ import annotations

import contextlib
import itertools
import json
import logging
from datetime import timezone

from adapters.providers.microsoft import MicrosoftCalendarProvider
from adapters.providers.microsoft_auth import BOOKING_SCOPES, MicrosoftConnectFlow
from adapters.providers.microsoft_recurrence import rrule_to_graph
from adapters.providers.retry import RetryPolicy
from emulators.microsoft import GraphEmulator
from emulators.microsoft.browser import sign_in
from emulators.microsoft.receiver import WebhookReceiver
from emulators.tls import client_session
from scheduler.ports import CalendarAccount
from tests.contract.harness import Harness

FAST_RETRIES = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0)
REDIRECT_URI = "https://127.0.0.1/connect/microsoft/callback"
WEBHOOK_ORIGIN = "https://tandem.example.org"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def make_harness():
    capture = _Capture()
    logger = logging.getLogger("adapters.providers")
    old_level = logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.DEBUG)
    with GraphEmulator() as emu, WebhookReceiver() as hook, client_session(emu.ca_file) as session:
        emu.set_auto_approve(True)
        emu.redirect_webhooks(WEBHOOK_ORIGIN, hook.origin)
        provider = MicrosoftCalendarProvider(emu.graph_url, emu.authority, emu.client_id, emu.client_secret,
                                             session, validate_authority=False, retry_policy=FAST_RETRIES,
                                             sleep=lambda seconds: None)
        connect = MicrosoftConnectFlow(provider.apps)
        numbers = itertools.count(1)
        persisted: list[dict] = []

        def account(email: str) -> CalendarAccount:
            emu.add_user(email)
            flow = connect.start(REDIRECT_URI, BOOKING_SCOPES, login_hint=email)
            connection = connect.finish(flow, sign_in(session, flow["auth_uri"]))
            persisted.append(connection.credentials)
            return CalendarAccount(connection_id=f"microsoft-{next(numbers)}", provider="microsoft", email=email,
                                   credentials=connection.credentials, on_credentials_changed=persisted.append)

        def add_busy(acct: CalendarAccount, start, end, title, *, rrule=None, transparent=False,
                     cancelled=False) -> None:
            recurrence = None
            if rrule:
                recurrence = rrule_to_graph(rrule, start.astimezone(timezone.utc).replace(tzinfo=None), "UTC")
            emu.add_event(acct.email, title, start, end, show_as="free" if transparent else "busy",
                          recurrence=recurrence, cancelled=cancelled)

        def inject(name: str, **kw) -> None:
            times = kw.get("times", 1)
            if name == "rate_limit":
                emu.fail_next(429, count=times, retry_after=kw.get("retry_after"))
            elif name == "unavailable":
                emu.fail_next(503, count=times)
            elif name == "revoked":
                for user in list(emu.store.users.values()):
                    emu.revoke_refresh_tokens(user.email)
            elif name == "stale_sync":
                emu.invalidate_delta_tokens()
            else:
                raise ValueError(f"unknown fault {name!r}")

        graph_answers = {"accepted": "accepted", "declined": "declined", "tentative": "tentativelyAccepted"}

        def set_attendee_response(organizer: CalendarAccount, event_id: str, attendee: str, response: str) -> None:
            emu.respond(organizer.email, event_id, attendee, graph_answers[response])

        def all_logged_text() -> str:
            return "\n".join(capture.lines) + "\n" + json.dumps(persisted)

        try:
            yield Harness(
                name="microsoft", provider=provider, account=account, add_busy=add_busy,
                faults=frozenset({"rate_limit", "unavailable", "revoked", "stale_sync"}), inject=inject,
                count_events=lambda acct: len(emu.events(acct.email)),
                requests_served=lambda: sum(1 for r in emu.requests() if r["path"].startswith("/v1.0/")),
                all_logged_text=all_logged_text, set_attendee_response=set_attendee_response,
                extra={"emulator": emu, "webhooks": hook, "session": session},
            )
        finally:
            logger.removeHandler(capture)
            logger.setLevel(old_level)
