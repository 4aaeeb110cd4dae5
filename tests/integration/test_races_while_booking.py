"""A person's change made while a worker holds the same series (booking it, or repairing it)
reaches the calendar and is never undone (each test was first committed as a strict xfail that
proved a defect found in review)."""
from datetime import timedelta

from sqlalchemy import select

from adapters.storage.models import Notification, OutboxMessage, Series
from scheduler.services import lifecycle
from tests.support.one_pair import calendar_series, first_series, ready_pair
from tests.support.pipeline import drain


def test_skip_while_the_series_is_being_booked_reaches_the_calendar_and_sends_no_invitation(pipeline):
    container, broker, calendars, mailer, clock = pipeline
    pair_id = ready_pair(container)
    original_create = calendars.create_series
    skipped = {}

    def create_while_person_skips(account, spec):
        # While the worker is in create_series (series 'booking'), a person skips session 2 and
        # another worker runs the queued push_occurrence row.
        _, _, _, occs = first_series(container, pair_id)
        occ_id, original = occs[1][0], occs[1][1]
        skipped["original"] = original
        lifecycle.skip_occurrence(container, occ_id, by_person_id="someone")
        with container.uow() as uow:
            row = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "push_occurrence")).one()
            row.status, row.enqueued_at, row.attempts = "enqueued", clock.now(), 1
            row_id = row.id
            uow.commit()
        broker.get_actor("push_occurrence").fn(row_id)
        return original_create(account, spec)

    calendars.create_series = create_while_person_skips
    drain(container, broker)
    _, event_id, _, _ = first_series(container, pair_id)
    state = {o.original_start: o for o in calendar_series(calendars, event_id).occurrences}
    with container.uow() as uow:
        invites = uow.session.scalars(select(Notification).where(Notification.kind == "series_invite")).all()
    assert invites == [], "both people were emailed an iTIP invitation for a series that is on a calendar"
    assert state[skipped["original"]].cancelled, "the skipped session is still on the calendar"


def test_ending_a_pair_while_its_series_is_being_booked_leaves_no_event_on_the_calendar(pipeline):
    container, broker, calendars, mailer, clock = pipeline
    pair_id = ready_pair(container)
    original_create = calendars.create_series
    created = {}

    def create_while_pair_ends(account, spec):
        ref = original_create(account, spec)
        created["event_id"] = ref.event_id
        lifecycle.end_pair(container, pair_id)  # the coordinator / a person ends the pair meanwhile
        return ref

    calendars.create_series = create_while_pair_ends
    drain(container, broker)
    with container.uow() as uow:
        assert uow.session.scalars(select(Series.status).where(Series.pair_id == pair_id)).all() == ["cancelled"]
    state = calendar_series(calendars, created["event_id"])
    assert state.cancelled or all(o.cancelled for o in state.occurrences), \
        "an ended pair's sessions stay on the mentor's and mentee's calendars"


def test_a_session_skipped_while_repair_moves_it_stays_skipped(pipeline):
    from scheduler.services.repair import recheck_series
    from adapters.storage.models import Occurrence

    container, broker, calendars, mailer, clock = pipeline
    pair_id = ready_pair(container, repair_policy="auto")
    drain(container, broker)
    series_id, event_id, _, occs = first_series(container, pair_id)
    occ_id, original, start, _ = occs[2]
    calendars.add_event("lin@example.org", start - timedelta(minutes=15), start + timedelta(minutes=45), "Dentist")
    original_move = calendars.move_occurrence

    def move_while_person_skips(account, event, orig, new_start, new_end):
        lifecycle.skip_occurrence(container, occ_id, by_person_id="mentee")  # a click on the pair page
        return original_move(account, event, orig, new_start, new_end)

    calendars.move_occurrence = move_while_person_skips
    recheck_series(container, series_id)
    calendars.move_occurrence = original_move
    drain(container, broker)
    with container.uow() as uow:
        occ = uow.session.get(Occurrence, occ_id)
        pending = uow.session.scalars(select(Notification).where(
            Notification.occurrence_id == occ_id, Notification.kind == "reminder",
            Notification.status == "pending")).all()
        status = occ.status
    state = {o.original_start: o for o in calendar_series(calendars, event_id).occurrences}
    assert status == "skipped", f"the skipped session came back as {status!r}"
    assert pending == []
    assert state[original].cancelled, "the skipped session is back on the calendar"
