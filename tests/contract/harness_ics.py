"""Contract harness for ICS feeds: each person's feed is served by a loopback HTTP server.

The server listens on 127.0.0.2, which this harness's address policy treats as public (the
default policy refuses every loopback address); all other safe-fetch rules apply unchanged.
"""
from __future__ import annotations

import contextlib
import functools
import ipaddress
import itertools
import uuid

from adapters.providers.ics_feed import IcsFeedCalendarProvider
from adapters.providers.retry import RetryPolicy
from adapters.providers.safe_fetch import fetch_untrusted_url, is_public_address
from scheduler.ports import CalendarAccount
from tests.contract.harness import Harness
from tests.support.http_server import local_http_server
from tests.support.ical_events import busy_event, wrap_in_calendar

PRETEND_PUBLIC = ipaddress.ip_address("127.0.0.2")
FAST_RETRIES = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0)


@contextlib.contextmanager
def make_harness():
    feeds: dict[str, list] = {}
    pending_faults: list[list] = []  # [status, remaining, headers]
    numbers = itertools.count(1)

    with local_http_server(str(PRETEND_PUBLIC)) as server:
        def serve_feed(handler):
            for fault in pending_faults:
                if fault[1] > 0:
                    fault[1] -= 1
                    return fault[0], fault[2], b"not now"
            calendar = wrap_in_calendar(*feeds[handler.path.rsplit("/", 1)[-1]])
            return 200, {"Content-Type": "text/calendar; charset=utf-8"}, calendar.to_ical()

        def account(email: str) -> CalendarAccount:
            feed_name = f"{uuid.uuid4().hex}.ics"
            feeds[feed_name] = []
            server.routes[f"/feeds/{feed_name}"] = serve_feed
            return CalendarAccount(connection_id=f"ics-{next(numbers)}", provider="ics", email=email,
                                   credentials={"url": server.url(f"/feeds/{feed_name}"), "tz": "UTC"})

        def add_busy(account: CalendarAccount, start, end, title, **kw) -> None:
            feeds[account.credentials["url"].rsplit("/", 1)[-1]].append(busy_event(start, end, title, **kw))

        def inject(name: str, times: int = 1, retry_after: float | None = None) -> None:
            if name == "rate_limit":
                headers = {"Retry-After": str(int(retry_after))} if retry_after else {}
                pending_faults.append([429, times, headers])
            elif name == "unavailable":
                pending_faults.append([503, times, {}])
            elif name == "revoked":
                pending_faults.append([404, 10**6, {}])
            else:
                raise ValueError(f"the ics harness cannot inject {name!r}")

        fetch = functools.partial(fetch_untrusted_url,
                                  address_policy=lambda a: a == PRETEND_PUBLIC or is_public_address(a))
        provider = IcsFeedCalendarProvider(fetch=fetch, retry_policy=FAST_RETRIES, sleep=lambda seconds: None)
        yield Harness(name="ics", provider=provider, account=account, add_busy=add_busy,
                      faults=frozenset({"rate_limit", "unavailable", "revoked"}), inject=inject,
                      count_events=lambda acct: len(feeds[acct.credentials["url"].rsplit("/", 1)[-1]]),
                      requests_served=lambda: len(server.requests))
