"""A pair's life after booking, on the in-memory unit of work and calendar: skip, move, pause,
resume, end, change cadence, and the actors that make the calendar match."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.errors import InvalidInput
from scheduler.services import lifecycle
from tests.unit.services.booked import DURATION, FIRST, book_series, mentor_account, notifications, outbox

def run_outbox(deps, kind: str) -> None:
    """Run the queued rows of one kind the way the actors do."""
    actor = {"push_occurrence": lifecycle.push_occurrence, "cancel_series": lifecycle.cancel_series_at_provider}[kind]
    for row in outbox(deps, kind):
        actor(deps, row.subject_id)


@pytest.fixture
def booked(deps, seed):
    seeded = seed(status="booked", connected=True)
    series_id, occ_ids = book_series(deps, seeded)
    return seeded, series_id, occ_ids


def test_skipping_a_session_queues_the_calendar_change_and_tells_both(deps, calendars, booked):
    seeded, series_id, occ_ids = booked
    lifecycle.skip_occurrence(deps, occ_ids[0], by_person_id=seeded.mentee_id)
    with deps.uow() as uow:
        assert uow.occurrences.get(occ_ids[0]).status == "skipped"
    assert [m.subject_id for m in outbox(deps, "push_occurrence")] == [occ_ids[0]]
    told = notifications(deps, "skipped")
    assert sorted(n.person_id for n in told) == sorted([seeded.mentor_id, seeded.mentee_id])
    assert all(n.payload["by"] == seeded.mentee_id for n in told)

    run_outbox(deps, "push_occurrence")
    with deps.uow() as uow:
        event_id = uow.series.get(series_id).provider_event_id
    state = calendars.get_series(mentor_account(deps, seeded), event_id, FIRST - timedelta(days=1),
                                 FIRST + timedelta(days=30))
    cancelled = {o.original_start for o in state.occurrences if o.cancelled}
    assert cancelled == {FIRST}


def test_skipping_the_last_upcoming_session_leaves_the_pair_needing_attention(deps, booked):
    seeded, series_id, occ_ids = booked
    for occ_id in occ_ids[:-1]:
        lifecycle.skip_occurrence(deps, occ_id, by_person_id=seeded.mentee_id)
    with deps.uow() as uow:
        assert uow.pairs.get(seeded.pair_id).status == "booked"  # one session still to come
    lifecycle.skip_occurrence(deps, occ_ids[-1], by_person_id=seeded.mentee_id)
    with deps.uow() as uow:
        pair = uow.pairs.get(seeded.pair_id)
        assert pair.status == "needs_attention" and "no upcoming session" in pair.status_reason
    assert [n.person_id for n in notifications(deps, "pair_attention")] == [seeded.coordinator_id]


def test_a_past_session_cannot_be_skipped_or_moved(deps, clock, booked):
    seeded, _, occ_ids = booked
    clock.advance(days=9)  # past the first session
    with pytest.raises(InvalidInput):
        lifecycle.skip_occurrence(deps, occ_ids[0], by_person_id="x")
    with pytest.raises(InvalidInput, match="past"):
        lifecycle.move_occurrence_to(deps, occ_ids[1], clock.now() - timedelta(hours=1), by_person_id="x")
    assert outbox(deps, "push_occurrence") == []


def test_moving_a_session_moves_it_at_the_provider_with_fresh_reminders(deps, calendars, booked):
    seeded, series_id, occ_ids = booked
    new_start = FIRST + timedelta(weeks=1, hours=1)
    lifecycle.move_occurrence_to(deps, occ_ids[1], new_start, by_person_id=seeded.mentor_id)
    with deps.uow() as uow:
        occ = uow.occurrences.get(occ_ids[1])
        assert (occ.status, occ.start, occ.end) == ("moved", new_start, new_start + DURATION)
        reminders = uow.notifications.where(lambda n: n.kind == "reminder" and n.occurrence_id == occ.id)
        assert reminders and all(n.due_at < new_start for n in reminders)
        event_id = uow.series.get(series_id).provider_event_id
    assert len(notifications(deps, "moved")) == 2
    run_outbox(deps, "push_occurrence")
    state = calendars.get_series(mentor_account(deps, seeded), event_id, FIRST, FIRST + timedelta(days=30))
    moved = {o.original_start: o.start for o in state.occurrences if o.moved}
    assert moved == {FIRST + timedelta(weeks=1): new_start}


def test_pause_takes_sessions_off_and_resume_puts_back_what_was_decided(deps, calendars, clock, booked):
    seeded, series_id, occ_ids = booked
    lifecycle.skip_occurrence(deps, occ_ids[0], by_person_id=seeded.mentee_id)
    moved_to = FIRST + timedelta(weeks=1, hours=1)
    lifecycle.move_occurrence_to(deps, occ_ids[1], moved_to, by_person_id=seeded.mentor_id)
    with deps.uow() as uow:
        video = uow.series.get(series_id).video_url
    clock.advance(minutes=5)
    lifecycle.pause_pair(deps, seeded.pair_id)
    with deps.uow() as uow:
        assert uow.pairs.get(seeded.pair_id).status == "paused"
        assert [o.status for o in sorted(uow.occurrences.get_many(occ_ids), key=lambda o: o.original_start)] == \
            ["skipped", "cancelled", "cancelled"]
        assert not uow.notifications.where(lambda n: n.kind == "reminder" and n.status == "pending")
    with pytest.raises(InvalidInput):
        lifecycle.pause_pair(deps, seeded.pair_id)  # a paused pair is not paused twice

    clock.advance(days=1)
    assert lifecycle.resume_pair(deps, seeded.pair_id) == 2
    with deps.uow() as uow:
        assert uow.pairs.get(seeded.pair_id).status == "booked"
        series = uow.series.get(series_id)
        assert (series.status, series.video_url) == ("booked", video)  # the same series and link
        occs = sorted(uow.occurrences.get_many(occ_ids), key=lambda o: o.original_start)
        assert [o.status for o in occs] == ["skipped", "moved", "scheduled"]  # the skip and the move stand
        assert occs[1].start == moved_to
        assert all(o.attendance_verdict == "unknown" for o in occs[1:])
        reminders = uow.notifications.where(lambda n: n.kind == "reminder" and n.status == "pending")
        assert {n.occurrence_id for n in reminders} == set(occ_ids[1:])
    assert outbox(deps, "plan_pair") == [] and outbox(deps, "cancel_series") == []
    assert len(notifications(deps, "resumed")) == 2
    run_outbox(deps, "push_occurrence")
    with deps.uow() as uow:
        event_id = uow.series.get(series_id).provider_event_id
    state = calendars.get_series(mentor_account(deps, seeded), event_id, FIRST - timedelta(days=1),
                                 FIRST + timedelta(days=30))
    assert {o.original_start for o in state.occurrences if o.cancelled} == {FIRST}
    assert {o.original_start: o.start for o in state.occurrences if o.moved} == {FIRST + timedelta(weeks=1): moved_to}
    with pytest.raises(InvalidInput):
        lifecycle.resume_pair(deps, seeded.pair_id)  # only a paused pair


def test_a_pause_that_outlasts_the_series_plans_again_on_resume(deps, clock, booked):
    seeded, series_id, occ_ids = booked
    lifecycle.pause_pair(deps, seeded.pair_id)
    clock.advance(days=60)  # every paused session's time has passed
    assert lifecycle.resume_pair(deps, seeded.pair_id) == 0
    with deps.uow() as uow:
        assert uow.pairs.get(seeded.pair_id).status == "ready"
        assert uow.series.get(series_id).status == "cancelled"
    assert [m.subject_id for m in outbox(deps, "cancel_series")] == [series_id]
    plans = outbox(deps, "plan_pair")
    assert [m.idempotency_key for m in plans] == [f"plan_pair:{seeded.pair_id}:resume:{clock.now():%Y%m%dT%H%M%S}"]


def test_a_skip_is_undone_within_the_window_and_nobody_is_emailed(deps, clock, booked):
    seeded, _, occ_ids = booked
    lifecycle.skip_occurrence(deps, occ_ids[0], by_person_id=seeded.mentee_id)
    told = notifications(deps, "skipped")
    assert all(n.due_at == clock.now() + lifecycle.UNDO_WINDOW for n in told)  # the emails wait for the window
    clock.advance(seconds=30)
    lifecycle.undo_skip(deps, occ_ids[0])
    with deps.uow() as uow:
        occ = uow.occurrences.get(occ_ids[0])
        assert (occ.status, occ.attendance_verdict) == ("scheduled", "unknown")
        assert not [s for s in occ.attendance_signals if s["kind"] == "skipped"]
        assert {n.status for n in uow.notifications.where(lambda n: n.kind == "skipped")} == {"cancelled"}
        assert uow.notifications.where(lambda n: n.kind == "reminder" and n.occurrence_id == occ.id
                                       and n.status == "pending")
    assert len(outbox(deps, "push_occurrence")) == 2  # off, then back on


def test_a_skip_cannot_be_undone_after_the_window(deps, clock, booked):
    seeded, _, occ_ids = booked
    lifecycle.skip_occurrence(deps, occ_ids[1], by_person_id=seeded.mentee_id)
    clock.advance(seconds=lifecycle.UNDO_WINDOW.total_seconds() + 1)
    with pytest.raises(InvalidInput, match="too late to undo"):
        lifecycle.undo_skip(deps, occ_ids[1])
    with pytest.raises(InvalidInput, match="too late to undo"):
        lifecycle.undo_skip(deps, occ_ids[2])  # never skipped


def test_undoing_the_last_skip_brings_the_pair_back_to_booked(deps, booked):
    seeded, _, occ_ids = booked
    for occ_id in occ_ids:
        lifecycle.skip_occurrence(deps, occ_id, by_person_id=seeded.mentee_id)
    with deps.uow() as uow:
        assert uow.pairs.get(seeded.pair_id).status == "needs_attention"
    lifecycle.undo_skip(deps, occ_ids[-1])
    with deps.uow() as uow:
        assert uow.pairs.get(seeded.pair_id).status == "booked"


def test_a_pause_undone_within_the_window_sends_no_email_at_all(deps, clock, booked):
    seeded, _, _ = booked
    lifecycle.pause_pair(deps, seeded.pair_id)
    clock.advance(seconds=20)
    assert lifecycle.resume_pair(deps, seeded.pair_id) == 3
    assert {n.status for n in notifications(deps, "paused")} == {"cancelled"}
    assert notifications(deps, "resumed") == []


def test_ending_a_pair_cancels_its_series_at_the_provider_once(deps, calendars, booked):
    seeded, series_id, occ_ids = booked
    lifecycle.end_pair(deps, seeded.pair_id)
    lifecycle.end_pair(deps, seeded.pair_id)  # ending twice is a no-op
    with deps.uow() as uow:
        assert uow.pairs.get(seeded.pair_id).status == "ended"
        assert uow.series.get(series_id).status == "cancelled"
        assert {o.status for o in uow.occurrences.get_many(occ_ids)} == {"cancelled"}
        event_id = uow.series.get(series_id).provider_event_id
    assert [m.idempotency_key for m in outbox(deps, "cancel_series")] == [f"cancel_series:{series_id}"]
    assert len(notifications(deps, "ended")) == 2
    run_outbox(deps, "cancel_series")
    assert calendars.get_series(mentor_account(deps, seeded), event_id, FIRST, FIRST + timedelta(days=30)).cancelled
    with pytest.raises(InvalidInput):
        lifecycle.pause_pair(deps, seeded.pair_id)


def test_change_cadence_checks_its_input_and_replans(deps, booked):
    seeded, series_id, _ = booked
    with pytest.raises(InvalidInput, match="cadence"):
        lifecycle.change_cadence(deps, seeded.pair_id, "daily", None)
    with pytest.raises(InvalidInput, match="duration"):
        lifecycle.change_cadence(deps, seeded.pair_id, None, 5)
    lifecycle.change_cadence(deps, seeded.pair_id, "biweekly", 60)
    with deps.uow() as uow:
        pair = uow.pairs.get(seeded.pair_id)
        assert (pair.status, pair.cadence, pair.duration_min) == ("ready", "biweekly", 60)
        assert uow.series.get(series_id).status == "cancelled"
    assert len(outbox(deps, "plan_pair")) == 1 and len(outbox(deps, "cancel_series")) == 1


def test_a_series_booked_by_invitation_gets_a_new_version_by_email(deps, seed):
    seeded = seed(status="booked", connected=True)
    series_id, occ_ids = book_series(deps, seeded, at_provider=False)
    lifecycle.skip_occurrence(deps, occ_ids[0], by_person_id=seeded.mentor_id)
    run_outbox(deps, "push_occurrence")
    with deps.uow() as uow:
        assert uow.series.get(series_id).itip_sequence == 1
    invites = notifications(deps, "series_invite")
    assert len(invites) == 2 and {n.payload["sequence"] for n in invites} == {1}
