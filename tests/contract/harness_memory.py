"""Contract harness for the in-memory provider (no server: the provider is its own backend)."""
from __future__ import annotations

import contextlib
import itertools

from adapters.providers.memory import InMemoryCalendarProvider
from adapters.providers.retry import RetryPolicy
from scheduler.ports import CalendarAccount
from tests.contract.harness import Harness

FAST_RETRIES = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0)


@contextlib.contextmanager
def make_harness():
    provider = InMemoryCalendarProvider(retry_policy=FAST_RETRIES, sleep=lambda seconds: None)
    numbers = itertools.count(1)

    def account(email: str) -> CalendarAccount:
        return CalendarAccount(connection_id=f"memory-{next(numbers)}", provider="memory", email=email,
                               credentials={"tz": "UTC"})

    def add_busy(account: CalendarAccount, start, end, title, **kw) -> None:
        provider.add_event(account.email, start, end, title, calendar_id=account.calendar_id, **kw)

    def inject(name: str, **kw) -> None:
        if name == "stale_sync":
            provider.expire_cursors()
        else:
            provider.inject_fault(name, times=kw.get("times", 1000 if name == "revoked" else 1),
                                  retry_after=kw.get("retry_after"))

    yield Harness(
        name="memory", provider=provider, account=account, add_busy=add_busy,
        faults=frozenset({"rate_limit", "unavailable", "revoked", "stale_sync"}), inject=inject,
        count_events=lambda acct: provider.count_events(acct.email, acct.calendar_id),
        requests_served=lambda: provider.requests_served,
        set_attendee_response=provider.set_attendee_response,
    )
