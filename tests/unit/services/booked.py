"""Constants and helpers of the use-case tests (plain functions, not fixtures): the time the tests
start at, working hours, and a booked series to start from."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from scheduler.core.entities import Occurrence, Series
from scheduler.ports import SeriesSpec
from scheduler.services.accounts import account_for

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)  # a Monday: "now" in use-case tests
WORKDAY = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
FIRST = datetime(2026, 3, 10, 14, 0, tzinfo=timezone.utc)  # a Tuesday, inside both people's working hours
DURATION = timedelta(minutes=45)


def book_series(deps, seeded, *, count: int = 3, at_provider: bool = True) -> tuple[str, list[str]]:
    """A booked weekly series of the seeded pair, organised on the mentor's memory calendar
    (``at_provider``) and stored with its occurrences; returns the series and occurrence ids."""
    with deps.uow() as uow:
        connection = uow.connections.usable_of(seeded.mentor_id)[0]
        account = account_for(deps, connection)
    rrule = f"FREQ=WEEKLY;COUNT={count}"
    series = Series(pair_id=seeded.pair_id, rrule=rrule, dtstart_local=FIRST.replace(tzinfo=None).isoformat(),
                    tz="UTC", duration_min=45, organizer_connection_id=connection.id, status="booked")
    if at_provider:
        spec = SeriesSpec(series_key=series.idempotency_key, title="Mentoring", description="",
                          organizer_email=account.email, attendee_emails=("mentee@example.org",),
                          start_local=FIRST.replace(tzinfo=None), tz="UTC", duration_min=45, rrule=rrule)
        series.provider_event_id = deps.provider("memory").create_series(account, spec).event_id
    starts = [FIRST + timedelta(weeks=i) for i in range(count)]
    occurrences = [Occurrence(series_id=series.id, original_start=s, start=s, end=s + DURATION) for s in starts]
    with deps.uow() as uow:
        uow.series.add(series)
        for occ in occurrences:
            uow.occurrences.add(occ)
        uow.commit()
    return series.id, [o.id for o in occurrences]


def mentor_account(deps, seeded):
    with deps.uow() as uow:
        return account_for(deps, uow.connections.usable_of(seeded.mentor_id)[0])


def outbox(deps, kind: str | None = None) -> list:
    with deps.uow() as uow:
        return [m for m in uow.outbox.all() if kind is None or m.kind == kind]


def notifications(deps, kind: str) -> list:
    with deps.uow() as uow:
        return uow.notifications.where(lambda n: n.kind == kind)
