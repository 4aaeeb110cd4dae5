"""Changes to booked sessions reach the calendar, reminders and emails exactly once: a session
moved back to an earlier time, and a series cancelled in the calendar (each was a defect found in
review, first committed as a strict xfail)."""
from datetime import timedelta

from sqlalchemy import select

from adapters.storage.models import Notification, Series
from scheduler.services import lifecycle
from scheduler.services.changes import handle_calendar_change
from tests.support.one_pair import ada_account, calendar_series, first_series, ready_pair
from tests.support.pipeline import NOW, drain


def test_moving_a_session_back_to_an_earlier_time_updates_calendar_reminders_and_emails(pipeline):
    container, broker, calendars, mailer, clock = pipeline
    pair_id = ready_pair(container)
    drain(container, broker)
    _, event_id, _, occs = first_series(container, pair_id)
    occ_id, original, a, _ = occs[1]
    b, c = a + timedelta(days=1), a + timedelta(days=2)
    for target in (b, c, b):  # a person changes their mind: Thursday, Friday, then Thursday again
        lifecycle.move_occurrence_to(container, occ_id, target, by_person_id="someone")
        drain(container, broker)
    state = {o.original_start: o for o in calendar_series(calendars, event_id).occurrences}
    with container.uow() as uow:
        pending = {n.due_at for n in uow.session.scalars(select(Notification).where(
            Notification.occurrence_id == occ_id, Notification.kind == "reminder",
            Notification.status == "pending"))}
    moved_emails = [e for e in mailer.sent if "moved" in e.subject.lower()]
    assert state[original].start == b, "the calendar still shows the session on Friday"
    assert pending == {b - timedelta(days=1), b - timedelta(hours=1)}, \
        "no reminders for the session at its final time"
    assert len(moved_emails) == 6, "the last move was never announced"


def test_series_cancelled_in_the_calendar_sends_no_more_reminders(pipeline):
    container, broker, calendars, mailer, clock = pipeline
    pair_id = ready_pair(container)
    drain(container, broker)
    _, event_id, connection_id, occs = first_series(container, pair_id)
    calendars.cancel_series(ada_account(), event_id)  # the mentor deletes the whole series in their calendar
    handle_calendar_change(container, connection_id)
    with container.uow() as uow:
        assert uow.session.scalars(select(Series.status).where(Series.pair_id == pair_id)).one() == "cancelled"
    before = len(mailer.sent)
    clock.advance(occs[0][2] - NOW + timedelta(hours=2))  # past the first session and its emails
    drain(container, broker)
    reminders = [e for e in mailer.sent[before:] if "feedback" not in e.subject.lower()
                 and "attention" not in e.subject.lower()]
    assert reminders == [], [e.subject for e in reminders]
