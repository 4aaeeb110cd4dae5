"""An in-memory calendar service and the provider that talks to it.

Product code, not a test double: the demo and the tests use it, and it keeps the semantics of the
real providers so that the one contract suite (``tests/contract``) passes against it.

- Each ``(email, calendar_id)`` holds iCalendar objects by UID, like a CalDAV collection.
- ``create_series`` is idempotent on ``series_key`` (the UID is derived from it).
- Occurrences are expanded with ``recurring_ical_events`` in the series zone; a moved or
  cancelled occurrence is a RECURRENCE-ID override.
- ``changes`` works like a sync token: a revision counter per calendar; :meth:`expire_cursors`
  makes old cursors raise :class:`SyncTokenExpired`.
- ``watch`` registers a channel; every change to a watched calendar calls the ``on_push``
  callback given to the constructor (outside the lock), as a webhook delivery would.
- Faults (``rate_limit``, ``unavailable``, ``revoked``) can be injected for the next N requests;
  the provider retries transient ones with :func:`call_with_retries` like the HTTP adapters do.
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Sequence, TypeVar

import icalendar

from adapters.providers import ical_util
from adapters.providers.retry import RetryPolicy, call_with_retries
from scheduler.errors import (NotFound, ProviderUnavailable, RateLimited, ReconnectNeeded,
                              SyncTokenExpired)
from scheduler.ports import (CalendarAccount, Changes, FreeBusy, ProviderKind, Response, SeriesRef,
                             SeriesSpec, SeriesState, Watch)

T = TypeVar("T")
WATCH_LIFETIME = timedelta(days=7)
FAULT_NAMES = ("rate_limit", "unavailable", "revoked")
PushCallback = Callable[[str, Watch], None]  # (webhook_url, watch)


@dataclass
class _StoredObject:
    calendar: icalendar.Calendar
    revision: int
    ours: bool  # created by Tandem (carries the series-key tag)


@dataclass
class _MemoryCalendar:
    objects: dict[str, _StoredObject] = field(default_factory=dict)
    revision: int = 0
    epoch: int = 0  # bumped by expire_cursors: cursors from an older epoch are stale
    watches: dict[str, tuple[str, Watch]] = field(default_factory=dict)  # watch_id -> (url, watch)


@dataclass
class _Fault:
    name: str
    remaining: int
    retry_after: float | None = None


class InMemoryCalendarProvider:
    """A thread-safe calendar service held in memory, implementing ``CalendarProvider``."""

    kind: ProviderKind = "memory"
    can_write: bool = True
    can_restore: bool = True

    def __init__(self, *, now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 retry_policy: RetryPolicy = RetryPolicy(),
                 sleep: Callable[[float], None] = time.sleep,
                 on_push: PushCallback | None = None):
        self._now = now
        self._retry_policy = retry_policy
        self._sleep = sleep
        self._on_push = on_push
        self._lock = threading.RLock()
        self._calendars: dict[tuple[str, str], _MemoryCalendar] = {}
        self._faults: list[_Fault] = []
        self.requests_served = 0  # every request that reached the service, failed or not

    # --- back door: the calendar's owner using their own calendar app ----------------------
    def add_event(self, email: str, start: datetime, end: datetime, title: str, *, rrule: str | None = None,
                  transparent: bool = False, cancelled: bool = False, calendar_id: str = "primary") -> str:
        """Put one of the person's own events into their calendar; returns its UID."""
        event = icalendar.Event()
        uid = f"{uuid.uuid4().hex}@memory"
        event.add("uid", uid)
        event.add("dtstamp", self._now())
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", title)
        if rrule:
            event.add("rrule", icalendar.vRecur.from_ical(rrule))
        event.add("transp", "TRANSPARENT" if transparent else "OPAQUE")
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        calendar = icalendar.Calendar()
        calendar.add("prodid", ical_util.PRODID)
        calendar.add("version", "2.0")
        calendar.add_component(event)
        with self._lock:
            self._store(self._calendar(email, calendar_id), uid, calendar, ours=False)
        return uid

    def count_events(self, email: str, calendar_id: str = "primary") -> int:
        """How many events (a recurring series counts once) the calendar holds."""
        with self._lock:
            return len(self._calendar(email, calendar_id).objects)

    def set_attendee_response(self, organizer: CalendarAccount, event_id: str, attendee_email: str,
                              response: Response, original_start: datetime | None = None) -> None:
        """Record an attendee's answer (as their calendar app would send it back) to the series,
        or to the one occurrence that originally started at ``original_start``."""
        partstat = {"needsAction": "NEEDS-ACTION", "accepted": "ACCEPTED", "declined": "DECLINED",
                    "tentative": "TENTATIVE"}[response]

        def apply(calendar: icalendar.Calendar) -> None:
            ical_util.set_partstat(calendar, event_id, attendee_email, partstat, now=self._now(),
                                   original_start=original_start)

        with self._lock:
            self._edit(organizer, event_id, apply)
        self._push(organizer)

    def inject_fault(self, name: str, times: int = 1, retry_after: float | None = None) -> None:
        """Make the next ``times`` requests fail with ``name`` (see ``FAULT_NAMES``)."""
        if name not in FAULT_NAMES:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
        with self._lock:
            self._faults.append(_Fault(name, times, retry_after))

    def expire_cursors(self) -> None:
        """Make every cursor handed out so far stale (as a provider that dropped sync state)."""
        with self._lock:
            for calendar in self._calendars.values():
                calendar.epoch += 1

    # --- CalendarProvider ---------------------------------------------------------------------
    def free_busy(self, accounts: Sequence[CalendarAccount], start: datetime, end: datetime) -> dict[str, FreeBusy]:
        def read() -> dict[str, FreeBusy]:
            self._request()
            result = {}
            for account in accounts:
                calendar = self._calendar(account.email, account.calendar_id)
                busy = ical_util.busy_time([o.calendar.to_ical() for o in calendar.objects.values()],
                                           "the calendar", start, end, account.credentials.get("tz"))
                result[account.connection_id] = FreeBusy(busy=busy)
            return result
        return self._call("free_busy", read)

    def create_series(self, account: CalendarAccount, spec: SeriesSpec) -> SeriesRef:
        uid = ical_util.series_uid(spec.series_key)

        def create() -> bool:
            self._request()
            calendar = self._calendar(account.email, account.calendar_id)
            if uid in calendar.objects:
                return False
            self._store(calendar, uid, ical_util.build_series_calendar(spec, now=self._now()), ours=True)
            return True
        if self._call("create_series", create):
            self._push(account)
        return SeriesRef(event_id=uid, video_url=None)

    def get_series(self, account: CalendarAccount, event_id: str, start: datetime, end: datetime) -> SeriesState:
        def read() -> SeriesState:
            self._request()
            return ical_util.read_series(self._object(account, event_id).calendar, event_id, start, end)
        return self._call("get_series", read)

    def move_occurrence(self, account: CalendarAccount, event_id: str, original_start: datetime,
                        new_start: datetime, new_end: datetime) -> None:
        self._edit_and_push("move_occurrence", account, event_id, lambda cal: ical_util.set_occurrence(
            cal, event_id, original_start, now=self._now(), new_start=new_start, new_end=new_end, cancelled=False))

    def cancel_occurrence(self, account: CalendarAccount, event_id: str, original_start: datetime) -> None:
        self._edit_and_push("cancel_occurrence", account, event_id, lambda cal: ical_util.set_occurrence(
            cal, event_id, original_start, now=self._now(), cancelled=True))

    def update_description(self, account: CalendarAccount, event_id: str, description: str) -> None:
        self._edit_and_push("update_description", account, event_id, lambda cal: ical_util.set_description(
            cal, event_id, description, now=self._now()))

    def cancel_series(self, account: CalendarAccount, event_id: str) -> None:
        self._edit_and_push("cancel_series", account, event_id, lambda cal: ical_util.cancel_series(
            cal, event_id, now=self._now()))

    def changes(self, account: CalendarAccount, cursor: str | None) -> Changes:
        def read() -> Changes:
            self._request()
            calendar = self._calendar(account.email, account.calendar_id)
            since, full = -1, True
            if cursor is not None:
                since, full = self._parse_cursor(calendar, cursor), False
            changed = tuple(uid for uid, obj in sorted(calendar.objects.items(), key=lambda kv: kv[1].revision)
                            if obj.ours and obj.revision > since)
            return Changes(cursor=f"m:{calendar.epoch}:{calendar.revision}", changed_event_ids=changed,
                           full_resync=full)
        return self._call("changes", read)

    def watch(self, account: CalendarAccount, webhook_url: str, token: str) -> Watch | None:
        def start() -> Watch:
            self._request()
            watch = Watch(watch_id=uuid.uuid4().hex, resource_id=f"{account.email}/{account.calendar_id}",
                          expires_at=self._now() + WATCH_LIFETIME, token=token)
            self._calendar(account.email, account.calendar_id).watches[watch.watch_id] = (webhook_url, watch)
            return watch
        return self._call("watch", start)

    def renew_watch(self, account: CalendarAccount, watch: Watch) -> Watch | None:
        """Extend a live watch in place (like a Graph subscription); NotFound when it is gone."""
        def renew() -> Watch:
            self._request()
            watches = self._calendar(account.email, account.calendar_id).watches
            if watch.watch_id not in watches:
                raise NotFound(f"no watch {watch.watch_id} on this calendar")
            url, _ = watches[watch.watch_id]
            renewed = Watch(watch.watch_id, watch.resource_id, self._now() + WATCH_LIFETIME, watch.token)
            watches[watch.watch_id] = (url, renewed)
            return renewed
        return self._call("renew_watch", renew)

    def stop_watch(self, account: CalendarAccount, watch: Watch) -> None:
        def stop() -> None:
            self._request()
            self._calendar(account.email, account.calendar_id).watches.pop(watch.watch_id, None)
        self._call("stop_watch", stop)

    def revoke(self, account: CalendarAccount) -> None:
        """Nothing is held on the service's side for an account; watches of it are stopped."""
        with self._lock:
            self._calendar(account.email, account.calendar_id).watches.clear()

    def verify(self, account: CalendarAccount, now: datetime) -> None:
        """One request to the service (so an injected fault surfaces as a real check's would)."""
        self._call("verify", self._request)

    # --- internals ------------------------------------------------------------------------------
    def _call(self, method: str, operation: Callable[[], T]) -> T:
        def locked() -> T:
            with self._lock:
                return operation()
        return call_with_retries(locked, self._retry_policy, provider="memory", method=method, sleep=self._sleep)

    def _request(self) -> None:
        """Count one request and fail it if a fault is pending (caller holds the lock)."""
        self.requests_served += 1
        for fault in self._faults:
            if fault.remaining <= 0:
                continue
            fault.remaining -= 1
            if fault.name == "revoked":
                raise ReconnectNeeded("access to this calendar was revoked: reconnect the calendar")
            if fault.name == "unavailable":
                raise ProviderUnavailable("the calendar service is unavailable; try again later")
            raise RateLimited("the calendar service asked us to slow down", retry_after=fault.retry_after)
        self._faults = [f for f in self._faults if f.remaining > 0]

    def _calendar(self, email: str, calendar_id: str) -> _MemoryCalendar:
        return self._calendars.setdefault((email.lower(), calendar_id), _MemoryCalendar())

    def _store(self, calendar: _MemoryCalendar, uid: str, ics: icalendar.Calendar, *, ours: bool) -> None:
        calendar.revision += 1
        calendar.objects[uid] = _StoredObject(ics, calendar.revision, ours)

    def _object(self, account: CalendarAccount, event_id: str) -> _StoredObject:
        stored = self._calendar(account.email, account.calendar_id).objects.get(event_id)
        if stored is None:
            raise NotFound(f"calendar event {event_id} does not exist in {account.email}'s calendar")
        return stored

    def _edit(self, account: CalendarAccount, event_id: str, change: Callable[[icalendar.Calendar], object]) -> None:
        """Apply ``change`` to a copy of the object and store it as a new revision (lock held).

        A change returning ``False`` means "nothing to do" and keeps the revision.
        """
        stored = self._object(account, event_id)
        edited = icalendar.Calendar.from_ical(stored.calendar.to_ical())
        if change(edited) is False:
            return
        self._store(self._calendar(account.email, account.calendar_id), event_id, edited, ours=stored.ours)

    def _edit_and_push(self, method: str, account: CalendarAccount, event_id: str,
                       change: Callable[[icalendar.Calendar], object]) -> None:
        def edit() -> None:
            self._request()
            self._edit(account, event_id, change)
        self._call(method, edit)
        self._push(account)

    def _parse_cursor(self, calendar: _MemoryCalendar, cursor: str) -> int:
        try:
            prefix, epoch, revision = cursor.split(":")
            if prefix != "m":
                raise ValueError(cursor)
            epoch_number, revision_number = int(epoch), int(revision)
        except ValueError as exc:
            raise SyncTokenExpired(f"unrecognised change cursor {cursor!r}: do a full resync") from exc
        if epoch_number != calendar.epoch or revision_number > calendar.revision:
            raise SyncTokenExpired("the change cursor is no longer valid: do a full resync")
        return revision_number

    def _push(self, account: CalendarAccount) -> None:
        """Deliver a change notice to every watch of the account's calendar (outside the lock)."""
        if self._on_push is None:
            return
        with self._lock:
            deliveries = list(self._calendar(account.email, account.calendar_id).watches.values())
        for webhook_url, watch in deliveries:
            self._on_push(webhook_url, watch)
