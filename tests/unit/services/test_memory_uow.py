"""The in-memory unit of work behaves like the database where use cases can tell."""
from __future__ import annotations

import pytest

from scheduler.core.entities import Occurrence, OutboxMessage, Pair, Series
from scheduler.ports import DuplicateKey
from tests.unit.services.booked import T0


def test_changes_without_commit_are_lost(deps, seed):
    s = seed()
    with deps.uow() as uow:
        uow.pairs.get(s.pair_id).status = "ready"
    with deps.uow() as uow:
        assert uow.pairs.get(s.pair_id).status == "invited"
        uow.pairs.get(s.pair_id).status = "ready"
        uow.commit()
    with deps.uow() as uow:
        assert uow.pairs.get(s.pair_id).status == "ready"


def test_links_follow_foreign_keys_both_ways(deps, seed):
    s = seed()
    with deps.uow() as uow:
        pair = uow.pairs.get(s.pair_id)
        series = uow.series.add(Series(pair_id=pair.id, rrule="FREQ=WEEKLY;COUNT=2", dtstart_local="2026-03-03T10:00:00",
                                       tz="UTC", duration_min=45))
        later = uow.occurrences.add(Occurrence(series=series, original_start=T0.replace(day=10), start=T0.replace(day=10),
                                               end=T0.replace(day=10, hour=9)))
        first = uow.occurrences.add(Occurrence(series=series, original_start=T0.replace(day=3), start=T0.replace(day=3),
                                               end=T0.replace(day=3, hour=9)))
        uow.commit()
    with deps.uow() as uow:
        pair = uow.pairs.get(s.pair_id)
        assert pair.program.name == "Pilot" and pair.mentor.email == "mentor@example.org"
        (series,) = pair.series
        assert [o.id for o in series.occurrences] == [first.id, later.id]
        assert series.occurrences[0].series is series and later.series_id == series.id


def test_unique_keys_are_enforced(deps, seed):
    s = seed()
    with deps.uow() as uow:
        assert uow.outbox.add_once("plan_pair", s.pair_id, "k1", T0) is True
        assert uow.outbox.add_once("plan_pair", s.pair_id, "k1", T0) is False
        uow.commit()
    with deps.uow() as uow:
        uow.pairs.add(Pair(program_id=s.program_id, mentor_id=s.mentor_id, mentee_id=s.mentee_id))
        with pytest.raises(DuplicateKey):
            uow.commit()
    with deps.uow() as uow:
        assert [m.idempotency_key for m in uow.outbox.claim_due(T0, limit=10, claim_timeout=T0 - T0,
                                                                 max_attempts=3)] == ["k1"]
        assert isinstance(uow.outbox.all()[0], OutboxMessage)


def test_single_use_links(deps):
    with deps.uow() as uow:
        assert uow.used_links.use("n1", "signin", T0) is True
        uow.commit()
    with deps.uow() as uow:
        assert uow.used_links.use("n1", "signin", T0) is False


def test_a_commit_writes_only_what_changed(deps, seed):
    s = seed()
    with deps.uow() as reader:
        assert reader.pairs.get(s.pair_id).status == "invited"  # only read
        with deps.uow() as writer:
            writer.pairs.get(s.pair_id).status = "ready"
            writer.commit()
        reader.commit()
    with deps.uow() as uow:
        assert uow.pairs.get(s.pair_id).status == "ready"


def test_add_once_stores_a_copy_and_refuses_a_second(deps, seed):
    from scheduler.core.entities import Notification

    s = seed()
    note = Notification(kind="reminder", person_id=s.mentor_id, due_at=T0, idempotency_key="r1")
    with deps.uow() as uow:
        assert uow.notifications.add_once(note) is True
        note.status = "sent"  # not tracked, as SQL's INSERT ... ON CONFLICT goes around the session
        uow.commit()
    with deps.uow() as uow:
        assert uow.notifications.get(note.id).status == "pending"
        assert uow.notifications.add_once(Notification(kind="reminder", person_id=s.mentor_id, due_at=T0,
                                                       idempotency_key="r1")) is False


def test_deleting_a_connection_unsets_the_series_organizer(deps, seed):
    from scheduler.core.entities import CalendarConnection

    s = seed()
    with deps.uow() as uow:
        conn = uow.connections.add(CalendarConnection(person_id=s.mentor_id, provider="memory"))
        series = uow.series.add(Series(pair_id=s.pair_id, organizer_connection_id=conn.id))
        uow.commit()
    with deps.uow() as uow:
        uow.connections.delete(uow.connections.get(conn.id))
        uow.commit()
    with deps.uow() as uow:
        assert uow.series.get(series.id).organizer_connection_id is None


def test_unclaimed_rows_with_no_time_never_match(deps):
    with deps.uow() as uow:
        uow.outbox.add(OutboxMessage(kind="k", subject_id="x", idempotency_key="e", status="enqueued", enqueued_at=None))
        uow.outbox.add(OutboxMessage(kind="k", subject_id="x", idempotency_key="r", status="running", locked_until=None))
        uow.commit()
    with deps.uow() as uow:
        assert uow.outbox.claim_due(T0, limit=5, claim_timeout=T0 - T0, max_attempts=3) == []
        (running,) = [m for m in uow.outbox.all() if m.idempotency_key == "r"]
        assert uow.outbox.acquire(running.id, T0, T0 - T0) is False
