"""Shared dates, specs and checks for the contract suite (no tests here)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from scheduler.core.intervals import Interval, merge
from scheduler.ports import FreeBusy, SeriesSpec
from tests.contract.harness import Harness

UTC = timezone.utc
WINDOW_START = datetime(2027, 3, 1, tzinfo=UTC)
WINDOW_END = datetime(2027, 3, 8, tzinfo=UTC)
# Weekly on Tuesdays 10:00 New York from 2 March 2027: DST starts on 14 March, so the first two
# occurrences are at 15:00Z and the rest at 14:00Z.
DST_SERIES_START_LOCAL = datetime(2027, 3, 2, 10, 0)
DST_SERIES_EXPECTED_STARTS = (
    datetime(2027, 3, 2, 15, tzinfo=UTC), datetime(2027, 3, 9, 15, tzinfo=UTC),
    datetime(2027, 3, 16, 14, tzinfo=UTC), datetime(2027, 3, 23, 14, tzinfo=UTC),
    datetime(2027, 3, 30, 14, tzinfo=UTC), datetime(2027, 4, 6, 14, tzinfo=UTC),
)
SERIES_WINDOW = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 15, tzinfo=UTC))
SESSION = timedelta(minutes=45)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=UTC)


def unique_email(harness: Harness, who: str) -> str:
    """An email no earlier test used, so shared backends (Radicale) start empty for it."""
    return f"{who}-{harness.name}-{uuid.uuid4().hex[:8]}@example.org"


def series_spec(organizer: str, attendee: str, *, key: str | None = None) -> SeriesSpec:
    return SeriesSpec(
        series_key=key or f"contract-{uuid.uuid4().hex}",
        title="Mentoring session",
        description="Agenda: goals for the quarter",
        organizer_email=organizer,
        attendee_emails=(attendee,),
        start_local=DST_SERIES_START_LOCAL,
        tz="America/New_York",
        duration_min=45,
        rrule="FREQ=WEEKLY;INTERVAL=1;COUNT=6;BYDAY=TU",
    )


def merged(busy) -> list[tuple[datetime, datetime]]:
    """Busy intervals as sorted, merged (start, end) pairs in UTC, however the provider split them."""
    return [(iv.start.astimezone(UTC), iv.end.astimezone(UTC)) for iv in merge(busy)]


def is_busy_during(free_busy: FreeBusy, start: datetime, end: datetime) -> bool:
    probe = Interval(start, end)
    return any(iv.overlaps(probe) for iv in free_busy.busy)


def require_writable(harness: Harness) -> None:
    if not harness.provider.can_write:
        pytest.skip(f"{harness.name} is read-only (can_write=False): write contract does not apply")


def require_fault(harness: Harness, fault: str) -> None:
    if fault not in harness.faults or harness.inject is None:
        pytest.skip(f"{harness.name} harness cannot inject the {fault!r} fault")
