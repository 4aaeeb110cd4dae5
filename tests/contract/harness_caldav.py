"""Contract harness for CalDAV: the real adapter against a real Radicale server.

One Radicale serves the whole test process (:func:`shared_radicale`); each harness reaches it
through its own :mod:`fault proxy <tests.support.fault_proxy>` (for 429/503 faults and request
counts) and creates fresh users, so harnesses never see each other's data. The back door (seeding
events, counting them, revoking a password, dropping sync state) talks to Radicale directly.
"""
from __future__ import annotations

import contextlib
import itertools
import shutil
import uuid
from datetime import datetime, timedelta, timezone

import caldav
import icalendar

from adapters.providers.caldav import CalDavCalendarProvider
from adapters.providers.retry import RetryPolicy
from scheduler.ports import CalendarAccount
from tests.contract.harness import Harness
from tests.support.fault_proxy import fault_proxy
from tests.support.ical_events import busy_event, wrap_in_calendar
from tests.support.radicale import shared_radicale

FAST_RETRIES = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0)
CALENDAR_NAME = "primary"
PAST = datetime(2000, 1, 3, 9, tzinfo=timezone.utc)


@contextlib.contextmanager
def make_harness():
    server = shared_radicale()
    users: dict[str, str] = {}  # email -> password, for this harness's accounts
    numbers = itertools.count(1)

    def back_door(email: str) -> caldav.Calendar:
        client = caldav.DAVClient(url=server.url, username=email, password=users[email], enable_rfc6764=False)
        return client.principal().calendar(cal_id=CALENDAR_NAME)

    with fault_proxy(server.url) as proxy:
        def account(email: str) -> CalendarAccount:
            if email not in users:
                users[email] = uuid.uuid4().hex
                server.set_user(email, users[email])
                with caldav.DAVClient(url=server.url, username=email, password=users[email],
                                      enable_rfc6764=False) as client:
                    client.principal().make_calendar(name="Calendar", cal_id=CALENDAR_NAME)
            return CalendarAccount(connection_id=f"caldav-{next(numbers)}", provider="caldav", email=email,
                                   credentials={"url": proxy.url, "username": email,
                                                "password": users[email], "tz": "UTC"})

        def add_busy(account: CalendarAccount, start, end, title, **kw) -> None:
            back_door(account.email).add_event(wrap_in_calendar(busy_event(start, end, title, **kw)).to_ical().decode())

        def calendar_folder(account: CalendarAccount):
            return server.storage_of(account.email) / CALENDAR_NAME

        def count_events(account: CalendarAccount) -> int:
            return len(list(calendar_folder(account).glob("*.ics")))

        def set_attendee_response(account: CalendarAccount, event_id: str, attendee: str, response: str) -> None:
            """The attendee's reply merged into the organizer's copy, as a CalDAV scheduling server does."""
            resource = back_door(account.email).get_event_by_uid(event_id)
            ics = icalendar.Calendar.from_ical(resource.data)
            for event in ics.walk("VEVENT"):
                attendees = event.get("ATTENDEE", [])
                for address in attendees if isinstance(attendees, list) else [attendees]:
                    if str(address).lower() == f"mailto:{attendee.lower()}":
                        address.params["PARTSTAT"] = response.upper()
            resource.data = ics.to_ical().decode()
            resource.save(increase_seqno=False)

        def inject(name: str, times: int = 1, retry_after: float | None = None) -> None:
            if name == "rate_limit":
                proxy.fail_next(429, times, {"Retry-After": str(int(retry_after))} if retry_after else {})
            elif name == "unavailable":
                proxy.fail_next(503, times)
            elif name == "revoked":
                for email in users:
                    server.set_user(email, "revoked-" + uuid.uuid4().hex)
            elif name == "stale_sync":
                # Radicale accepts a token equal to the current state without its history, so the
                # history is dropped and the collection changed: a free event in the year 2000.
                for email in users:
                    shutil.rmtree(server.storage_of(email) / CALENDAR_NAME / ".Radicale.cache" / "sync-token",
                                  ignore_errors=True)
                    back_door(email).add_event(wrap_in_calendar(busy_event(
                        PAST, PAST + timedelta(hours=1), "sync breaker", transparent=True)).to_ical().decode())
            else:
                raise ValueError(f"the caldav harness cannot inject {name!r}")

        provider = CalDavCalendarProvider(retry_policy=FAST_RETRIES, sleep=lambda seconds: None,
                                          address_policy=lambda address: address.is_loopback)
        yield Harness(name="caldav", provider=provider, account=account, add_busy=add_busy,
                      faults=frozenset({"rate_limit", "unavailable", "revoked", "stale_sync"}), inject=inject,
                      count_events=count_events, requests_served=lambda: proxy.requests_served,
                      set_attendee_response=set_attendee_response,
                      extra={"radicale": server})
