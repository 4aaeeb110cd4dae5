"""Re-checking a booked series against fresh calendars, on the in-memory unit of work and calendar:
the program's repair policy decides what happens to a session that no longer fits."""
from __future__ import annotations

from datetime import datetime, timedelta


from scheduler.services import repair
from tests.unit.services.booked import DURATION, FIRST, book_series, mentor_account, notifications, outbox

SECOND = FIRST + timedelta(weeks=1)


def _mentee_busy(calendars, start: datetime, end: datetime) -> None:
    calendars.add_event("mentee@example.org", start, end, "Dentist", calendar_id="mentee@example.org")


def test_nothing_happens_while_every_session_still_fits(deps, seed, calendars):
    seeded = seed(status="booked", connected=True)
    series_id, _ = book_series(deps, seeded)
    assert repair.recheck_series(deps, series_id) == []
    assert outbox(deps, "deliver_notification") == []


def test_auto_policy_moves_the_conflicting_session_alone(deps, seed, calendars):
    seeded = seed(status="booked", connected=True, repair_policy="auto")
    series_id, occ_ids = book_series(deps, seeded)
    _mentee_busy(calendars, SECOND - timedelta(minutes=30), SECOND + timedelta(hours=1))
    decisions = repair.recheck_series(deps, series_id)
    assert [d.occurrence_id for d in decisions] == [occ_ids[1]]
    new_start = decisions[0].new_start
    assert new_start is not None and new_start != SECOND and abs(new_start - SECOND) < timedelta(days=4)
    assert "mentee" in decisions[0].why
    with deps.uow() as uow:
        occ = uow.occurrences.get(occ_ids[1])
        assert (occ.status, occ.start, occ.end) == ("moved", new_start, new_start + DURATION)
        event_id = uow.series.get(series_id).provider_event_id
    assert len(notifications(deps, "moved")) == 2
    state = calendars.get_series(mentor_account(deps, seeded), event_id, FIRST, FIRST + timedelta(days=30))
    assert {o.original_start: o.start for o in state.occurrences if o.moved} == {SECOND: new_start}


def test_propose_policy_only_emails_the_nearest_time(deps, seed, calendars):
    seeded = seed(status="booked", connected=True, repair_policy="propose")
    series_id, occ_ids = book_series(deps, seeded)
    _mentee_busy(calendars, SECOND - timedelta(minutes=30), SECOND + timedelta(hours=1))
    [decision] = repair.recheck_series(deps, series_id)
    with deps.uow() as uow:
        assert uow.occurrences.get(occ_ids[1]).start == SECOND  # the people decide
    proposed = notifications(deps, "move_proposed")
    assert len(proposed) == 2
    assert {n.payload["new_start"] for n in proposed} == {decision.new_start.isoformat()}


def test_no_mutual_time_left_marks_the_session_and_the_pair(deps, seed, calendars):
    seeded = seed(status="booked", connected=True, repair_policy="auto")
    series_id, occ_ids = book_series(deps, seeded)
    _mentee_busy(calendars, SECOND - timedelta(days=4), SECOND + timedelta(days=4))  # away all week
    [decision] = repair.recheck_series(deps, series_id)
    assert decision.new_start is None
    with deps.uow() as uow:
        assert uow.occurrences.get(occ_ids[1]).status == "conflict"
        pair = uow.pairs.get(seeded.pair_id)
        assert pair.status == "needs_attention" and "no mutual time left" in pair.status_reason
    assert [n.person_id for n in notifications(deps, "pair_attention")] == [seeded.coordinator_id]
    assert len(notifications(deps, "conflict")) == 2


def test_a_series_deleted_at_the_provider_needs_attention(deps, seed, calendars):
    seeded = seed(status="booked", connected=True, repair_policy="auto")
    series_id, _ = book_series(deps, seeded)
    with deps.uow() as uow:
        uow.series.get(series_id).provider_event_id = "gone@memory"
        uow.commit()
    _mentee_busy(calendars, SECOND - timedelta(minutes=30), SECOND + timedelta(hours=1))
    assert repair.recheck_series(deps, series_id) == []
    with deps.uow() as uow:
        pair = uow.pairs.get(seeded.pair_id)
        assert pair.status == "needs_attention" and "deleted" in pair.status_reason
    [told] = notifications(deps, "pair_attention")
    assert told.idempotency_key == f"gone:{series_id}:{seeded.coordinator_id}"


def test_a_paused_pair_is_not_rechecked(deps, seed, calendars):
    seeded = seed(status="paused", connected=True)
    series_id, _ = book_series(deps, seeded)
    _mentee_busy(calendars, SECOND - timedelta(minutes=30), SECOND + timedelta(hours=1))
    assert repair.recheck_series(deps, series_id) == []


def test_booked_series_of_a_person(deps, seed):
    seeded = seed(status="booked", connected=True)
    series_id, _ = book_series(deps, seeded, at_provider=False)
    with deps.uow() as uow:
        assert uow.series.booked_ids() == [series_id]
        assert uow.series.booked_ids(seeded.mentee_id) == [series_id]
        assert uow.series.booked_ids(seeded.coordinator_id) == []
        others = uow.occurrences.busy_intervals_of(seeded.mentor_id)
        assert sorted(start for start, _ in others) == [FIRST + timedelta(weeks=i) for i in range(3)]
        assert uow.occurrences.busy_intervals_of(seeded.mentor_id, exclude_series_id=series_id) == []


def test_a_session_skipped_while_the_calendars_are_read_stays_skipped(deps, seed, calendars, monkeypatch):
    seeded = seed(status="booked", connected=True, repair_policy="propose")
    series_id, occ_ids = book_series(deps, seeded)
    _mentee_busy(calendars, SECOND - timedelta(minutes=30), SECOND + timedelta(hours=1))
    answer_free_busy = calendars.free_busy

    def person_skips_while_the_calendar_answers(*args):  # the calendar service is slow; meanwhile...
        from scheduler.services import lifecycle
        lifecycle.skip_occurrence(deps, occ_ids[1], by_person_id=seeded.mentee_id)
        return answer_free_busy(*args)

    monkeypatch.setattr(calendars, "free_busy", person_skips_while_the_calendar_answers)
    repair.recheck_series(deps, series_id)
    with deps.uow() as uow:
        assert uow.occurrences.get(occ_ids[1]).status == "skipped"
    assert notifications(deps, "move_proposed") == []
