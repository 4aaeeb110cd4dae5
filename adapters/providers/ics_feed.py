"""A read-only calendar provider over a published ICS feed (or an uploaded .ics file).

``CalendarAccount.credentials`` holds either ``{"url": "https://..."}`` (a secret feed link as
Google, Outlook or Apple publish it; ``webcal://`` works too) or ``{"ics_text": "BEGIN:VCALENDAR..."}``
(an uploaded file), plus ``"tz"``: the person's IANA zone, used for floating times and all-day
events.

Decisions:

- Feeds are fetched through :mod:`adapters.providers.safe_fetch` (the link is untrusted), with
  retries on 429/5xx; every call fetches afresh (free/busy runs rarely, and a stale feed is worse).
- ``free_busy`` never raises for one person's feed: a feed that cannot be fetched or parsed gives
  ``FreeBusy(error=...)`` — unknown, never free — so other people's feeds still count. The
  message says what to do. :meth:`IcsFeedCalendarProvider.check_feed` raises the typed error
  instead (for the connect step).
- Tandem cannot write into a feed: ``can_write`` is False and every write raises
  :class:`ReadOnlyCalendar`; sessions reach these people by emailed invitation (.ics).
- Expansion is bounded (:class:`~scheduler.core.ics_busy.ExpansionLimits`): a feed with an
  event repeating every second or minute, or more instances than the limits, is refused with a
  message naming the event's UID (a "recurrence bomb" cost minutes and gigabytes before).
- No push and no change feed: ``watch`` returns None, ``changes`` reports nothing.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Callable, Sequence

from adapters.providers import ical_util
from adapters.providers.retry import RetryPolicy, call_with_retries
from adapters.providers.safe_fetch import (FetchedDocument, FetchLimits, fetch_untrusted_url, is_own_server,
                                          loopback_only)
from scheduler.core.ics_busy import ExpansionLimits
from scheduler.core.intervals import Interval
from scheduler.errors import (InvalidInput, ProviderError, ProviderUnavailable, RateLimited,
                              ReconnectNeeded)
from scheduler.ports import (CalendarAccount, Changes, FreeBusy, ProviderKind, SeriesRef, SeriesSpec,
                             SeriesState, Watch)

log = logging.getLogger(__name__)
Fetch = Callable[[str], FetchedDocument]
_PARALLEL_FETCHES = 8
CHECK_WINDOW = timedelta(days=120)


class ReadOnlyCalendar(ProviderError):
    """The calendar can only be read (an ICS feed): bookings go out by emailed invitation."""


def _read_only(what: str) -> ReadOnlyCalendar:
    return ReadOnlyCalendar(f"cannot {what}: this person shared a read-only calendar feed (ICS), so Tandem "
                            "sends sessions and their changes to them by emailed invitation instead")


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: let the retry policy choose


def _feed_body(document: FetchedDocument) -> bytes:
    """The body of a 200 reply, or the error that the status means for a feed link."""
    status = document.status
    if status == 200:
        return document.body
    if status == 429:
        raise RateLimited("the calendar feed server asked us to slow down",
                          retry_after=_retry_after(document.headers.get("retry-after")))
    if status >= 500 or status == 408:
        raise ProviderUnavailable(f"the calendar feed server answered HTTP {status}; try again later")
    raise ReconnectNeeded(f"the calendar feed link no longer works (HTTP {status}): publish the calendar "
                          "again and give Tandem the new link")


class IcsFeedCalendarProvider:
    """Reads busy time from ICS feeds; implements ``CalendarProvider`` with ``can_write=False``."""

    kind: ProviderKind = "ics"
    can_write: bool = False
    can_restore: bool = False

    def __init__(self, *, fetch: Fetch = fetch_untrusted_url, retry_policy: RetryPolicy = RetryPolicy(attempts=3),
                 sleep: Callable[[float], None] = time.sleep,
                 expansion_limits: ExpansionLimits = ExpansionLimits(), own_servers: tuple[str, ...] = ()):
        """``own_servers``: origins of feed hosts this installation runs on loopback (the
        sandbox's); a feed there is fetched from loopback only, without redirects."""
        self._own_servers = own_servers
        self._fetch = fetch
        self._expansion_limits = expansion_limits
        self._retry_policy = retry_policy
        self._sleep = sleep

    # --- reading ---------------------------------------------------------------------------
    def load_feed(self, account: CalendarAccount) -> tuple[bytes | str, str]:
        """The account's iCalendar data and how messages name it; raises typed errors."""
        credentials = account.credentials
        if credentials.get("ics_text"):
            return credentials["ics_text"], "the uploaded calendar file"
        url = credentials.get("url")
        if not url:
            raise ReconnectNeeded("no calendar feed link is stored for this person: give Tandem the feed link")
        if is_own_server(url, self._own_servers):
            def fetch() -> FetchedDocument:
                return fetch_untrusted_url(url, address_policy=loopback_only, limits=FetchLimits(max_redirects=0))
        else:
            def fetch() -> FetchedDocument:
                return self._fetch(url)
        body = call_with_retries(lambda: _feed_body(fetch()), self._retry_policy, provider="ics", method="load_feed",
                                 sleep=self._sleep)
        return body, "the calendar feed"

    def busy_in(self, account: CalendarAccount, start: datetime, end: datetime) -> tuple[Interval, ...]:
        """Busy intervals of one account's feed in ``[start, end)``; raises typed errors."""
        data, source = self.load_feed(account)
        return ical_util.busy_time([data], source, start, end, account.credentials.get("tz"),
                                   limits=self._expansion_limits)

    def check_feed(self, account: CalendarAccount, *, now: datetime) -> None:
        """Raise the typed error if the feed cannot be used (for the connect step): fetch, parse
        and expand the next ``CHECK_WINDOW`` from ``now``."""
        self.busy_in(account, now, now + CHECK_WINDOW)

    def verify(self, account: CalendarAccount, now: datetime) -> None:
        """Fetch, parse and expand the feed once (:meth:`check_feed`)."""
        self.check_feed(account, now=now)

    def free_busy(self, accounts: Sequence[CalendarAccount], start: datetime, end: datetime) -> dict[str, FreeBusy]:
        def one(account: CalendarAccount) -> FreeBusy:
            try:
                return FreeBusy(busy=self.busy_in(account, start, end))
            except (ProviderError, InvalidInput) as exc:
                log.warning("ICS feed of connection %s unusable: %s", account.connection_id, type(exc).__name__)
                return FreeBusy(error=str(exc))

        if len(accounts) <= 1:
            return {account.connection_id: one(account) for account in accounts}
        with ThreadPoolExecutor(max_workers=min(_PARALLEL_FETCHES, len(accounts))) as pool:
            results = list(pool.map(one, accounts))
        return {account.connection_id: result for account, result in zip(accounts, results)}

    def changes(self, account: CalendarAccount, cursor: str | None) -> Changes:
        """A feed holds none of our events: nothing ever changes."""
        return Changes(cursor="ics-feed", changed_event_ids=(), full_resync=cursor is None)

    def watch(self, account: CalendarAccount, webhook_url: str, token: str) -> Watch | None:
        return None

    def renew_watch(self, account: CalendarAccount, watch: Watch) -> Watch | None:
        """Nothing to renew: feeds never push."""
        return None

    def stop_watch(self, account: CalendarAccount, watch: Watch) -> None:
        """Nothing to stop: feeds never push."""

    def revoke(self, account: CalendarAccount) -> None:
        """Nothing is held at the feed's side; forgetting the link (done by the caller) is all."""

    # --- writing: refused ------------------------------------------------------------------------
    def create_series(self, account: CalendarAccount, spec: SeriesSpec) -> SeriesRef:
        raise _read_only("create the series in their calendar")

    def get_series(self, account: CalendarAccount, event_id: str, start: datetime, end: datetime) -> SeriesState:
        raise _read_only("read a Tandem series from their calendar")

    def move_occurrence(self, account: CalendarAccount, event_id: str, original_start: datetime,
                        new_start: datetime, new_end: datetime) -> None:
        raise _read_only("move the session in their calendar")

    def cancel_occurrence(self, account: CalendarAccount, event_id: str, original_start: datetime) -> None:
        raise _read_only("cancel the session in their calendar")

    def update_description(self, account: CalendarAccount, event_id: str, description: str) -> None:
        raise _read_only("change the agenda in their calendar")

    def cancel_series(self, account: CalendarAccount, event_id: str) -> None:
        raise _read_only("cancel the series in their calendar")
