"""Failed work traced back to a program's pairs, on the in-memory unit of work."""
from __future__ import annotations

from datetime import timedelta

from scheduler.core.entities import CalendarConnection, Notification, OutboxMessage, Series
from scheduler.services.problems import failed_work
from tests.unit.services.booked import T0


def test_dead_work_is_traced_to_the_programs_pairs_newest_first(deps, seed):
    s = seed()
    with deps.uow() as uow:
        series = uow.series.add(Series(pair_id=s.pair_id, rrule="FREQ=WEEKLY;COUNT=2", tz="UTC", duration_min=45))
        conn = uow.connections.add(CalendarConnection(person_id=s.mentee_id, provider="memory"))
        note = uow.notifications.add(Notification(kind="reminder", person_id=s.mentor_id, pair_id=s.pair_id,
                                                  due_at=T0, idempotency_key="r1"))
        rows = [("book_series", series.id, 1), ("handle_calendar_change", conn.id, 3),
                ("deliver_notification", note.id, 2), ("plan_pair", "another-pair", 4),
                ("push_occurrence", "gone", 5)]
        for kind, subject, hours in rows:
            uow.outbox.add(OutboxMessage(kind=kind, subject_id=subject, idempotency_key=f"{kind}:{subject}",
                                         status="dead", due_at=T0 + timedelta(hours=hours), attempts=8,
                                         last_error=f"{kind} failed"))
        uow.outbox.add(OutboxMessage(kind="plan_pair", subject_id=s.pair_id, idempotency_key="alive",
                                     status="pending", due_at=T0))
        uow.commit()
    found = failed_work(deps, s.program_id)
    assert [(f.what, f.error) for f in found] == [
        ("reading calendar changes", "handle_calendar_change failed"),
        ("sending an email", "deliver_notification failed"),
        ("booking the series on the calendar", "book_series failed")]
    assert {f.pair_id for f in found} == {s.pair_id}
