"""Emails as rows, on the in-memory unit of work: created once per key, with their delivery row."""
from __future__ import annotations

from datetime import timedelta

from scheduler.core.entities import Occurrence, Series
from scheduler.services.notifications import (add_notification, cancel_occurrence_notifications, notify_coordinators,
                                              schedule_occurrence_followups)
from tests.unit.services.booked import T0


def test_a_notification_is_created_once_per_key_with_its_delivery_row(deps, seed):
    s = seed()
    with deps.uow() as uow:
        first = add_notification(uow, kind="reconnect", person_id=s.mentor_id, due_at=T0, key="rc:1")
        again = add_notification(uow, kind="reconnect", person_id=s.mentor_id, due_at=T0, key="rc:1")
        uow.commit()
    assert first is not None and again is None
    with deps.uow() as uow:
        (row,) = uow.outbox.all()
        assert (row.kind, row.subject_id, row.idempotency_key) == ("deliver_notification", first, f"deliver:{first}")


def test_a_session_sets_reminders_and_feedback_going_and_cancelling_drops_them(deps, seed):
    s = seed()
    start = T0 + timedelta(days=3)
    with deps.uow() as uow:
        series = uow.series.add(Series(pair_id=s.pair_id, tz="UTC", duration_min=45))
        occ = uow.occurrences.add(Occurrence(series_id=series.id, original_start=start, start=start,
                                             end=start + timedelta(minutes=45)))
        pair = uow.pairs.get(s.pair_id)
        created = schedule_occurrence_followups(uow, occ, pair, pair.program, T0)
        notify_coordinators(uow, pair, "pair_attention", T0, "attention:1", {"reason": "no sessions"})
        uow.commit()
    assert created == 6  # two reminders (a day and an hour before) and a feedback request, for both
    with deps.uow() as uow:
        kinds = sorted((n.kind, n.person_id == s.mentor_id) for n in uow.notifications.all()
                       if n.occurrence_id == occ.id)
        assert kinds == sorted([("reminder", True)] * 2 + [("reminder", False)] * 2
                               + [("feedback", True), ("feedback", False)])
        assert any(m.kind == "recheck_series" for m in uow.outbox.all())
        (attention,) = [n for n in uow.notifications.all() if n.kind == "pair_attention"]
        assert attention.person_id == s.coordinator_id
        cancel_occurrence_notifications(uow, occ.id)
        uow.commit()
    with deps.uow() as uow:
        assert {n.status for n in uow.notifications.all() if n.occurrence_id == occ.id} == {"cancelled"}
