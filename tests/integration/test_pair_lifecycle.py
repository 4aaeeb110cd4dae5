"""A pair's life after booking — skip, move, pause, resume, end, change cadence — and the
repair policies, on the in-memory calendar service (SQLite and PostgreSQL)."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from adapters.storage.models import Notification, Occurrence, Pair, Series
from adapters.storage.outbox import add_outbox
from scheduler.errors import InvalidInput
from scheduler.ports import CalendarAccount
from scheduler.services import lifecycle
from tests.support.pipeline import NOW, drain, make_person, make_program, make_ready_pair

NY = "America/New_York"


def _booked_pair(container, broker, **program):
    with container.uow() as uow:
        prog = make_program(uow.session, **({"cadence": "weekly", "session_count": 4} | program))
        mentor = make_person(container, uow.session, "ada@example.org", NY)
        mentee = make_person(container, uow.session, "lin@example.org", NY)
        pair_id = make_ready_pair(container, uow.session, prog, mentor, mentee, NOW).id
        uow.commit()
    drain(container, broker)
    return pair_id


def _series(container, pair_id, status="booked"):
    with container.uow() as uow:
        s = uow.session.scalars(select(Series).where(Series.pair_id == pair_id, Series.status == status)).one()
        return s.id, s.provider_event_id, [(o.id, o.original_start, o.start, o.status) for o in s.occurrences]


def _calendar(calendars, event_id):
    account = CalendarAccount(connection_id="x", provider="memory", email="ada@example.org", credentials={"tz": NY})
    return calendars.get_series(account, event_id, NOW, NOW + timedelta(days=200))


def test_skip_and_move_one_session_update_the_calendar_and_reminders(pipeline):
    container, broker, calendars, mailer, clock = pipeline
    pair_id = _booked_pair(container, broker)
    _, event_id, occs = _series(container, pair_id)
    (first_id, first_orig, _, _), (second_id, second_orig, second_start, _) = occs[0], occs[1]
    lifecycle.skip_occurrence(container, first_id, by_person_id="someone")
    new_start = second_start + timedelta(days=1)
    lifecycle.move_occurrence_to(container, second_id, new_start, by_person_id="someone")
    clock.current += lifecycle.UNDO_SETTLES  # the skip reaches calendars and inboxes after the undo window
    drain(container, broker)
    state = {o.original_start: o for o in _calendar(calendars, event_id).occurrences}
    assert state[first_orig].cancelled
    assert state[second_orig].start == new_start and not state[second_orig].cancelled
    with container.uow() as uow:
        pending = uow.session.scalars(select(Notification).where(Notification.occurrence_id == first_id,
                                                                 Notification.status == "pending")).all()
        assert pending == []  # no reminder for a skipped session
        moved_reminders = uow.session.scalars(select(Notification).where(
            Notification.occurrence_id == second_id, Notification.kind == "reminder",
            Notification.status == "pending")).all()
        assert sorted({n.due_at for n in moved_reminders}) == [new_start - timedelta(days=1),
                                                                new_start - timedelta(hours=1)]
    assert sum("skipped" in e.subject for e in mailer.sent) == 2
    with pytest.raises(InvalidInput):
        lifecycle.skip_occurrence(container, first_id, by_person_id="someone")


def test_pause_then_resume_puts_the_same_sessions_back_on_the_calendar(pipeline):
    container, broker, calendars, mailer, clock = pipeline
    pair_id = _booked_pair(container, broker, session_count=4)
    series_id, event_id, occs = _series(container, pair_id)
    clock.current = occs[0][2] + timedelta(hours=2)  # the first session has happened
    lifecycle.pause_pair(container, pair_id)
    clock.current += lifecycle.UNDO_SETTLES
    drain(container, broker)
    state = _calendar(calendars, event_id)
    assert sum(not o.cancelled for o in state.occurrences) == 1  # only the past one stays
    with container.uow() as uow:
        assert uow.session.get(Pair, pair_id).status == "paused"
    clock.current += timedelta(hours=1)
    assert lifecycle.resume_pair(container, pair_id) == 3
    drain(container, broker)
    with container.uow() as uow:
        pair = uow.session.get(Pair, pair_id)
        assert pair.status == "booked"
        assert [s.id for s in pair.series] == [series_id]  # the same series, the same event
    state = _calendar(calendars, event_id)
    assert not state.cancelled and sum(not o.cancelled for o in state.occurrences) == 4
    assert calendars.count_events("ada@example.org") == 1
    assert [sum(kind in e.subject for e in mailer.sent) for kind in ("paused", "back on")] == [2, 2]


def test_resume_after_the_series_ran_out_plans_the_sessions_still_owed(pipeline):
    container, broker, calendars, mailer, clock = pipeline
    pair_id = _booked_pair(container, broker, session_count=4)
    _, event_id, occs = _series(container, pair_id)
    clock.current = occs[0][2] + timedelta(hours=2)  # the first session has happened
    lifecycle.pause_pair(container, pair_id)
    clock.current = occs[-1][2] + timedelta(days=1)  # every paused session's time has passed
    drain(container, broker)
    assert lifecycle.resume_pair(container, pair_id) == 0
    drain(container, broker)
    with container.uow() as uow:
        pair = uow.session.get(Pair, pair_id)
        assert pair.status == "booked"
        new = [s for s in pair.series if s.status == "booked"]
        assert len(new) == 1 and len(new[0].occurrences) == 3  # four sessions, one already held
        assert all(o.start > clock.now() for o in new[0].occurrences)
    assert calendars.count_events("ada@example.org") == 2  # the first (cancelled) series and the new one
    assert _calendar(calendars, event_id).cancelled


def test_end_cancels_the_series_and_change_cadence_replans(pipeline):
    container, broker, calendars, mailer, clock = pipeline
    pair_id = _booked_pair(container, broker)
    _, event_id, _ = _series(container, pair_id)
    lifecycle.change_cadence(container, pair_id, "biweekly", 60)
    drain(container, broker)
    assert _calendar(calendars, event_id).cancelled
    new_id, new_event, occs = _series(container, pair_id)
    assert new_event != event_id
    starts = [start for _, _, start, _ in occs]
    assert all(b - a >= timedelta(days=13) for a, b in zip(starts, starts[1:]))
    with container.uow() as uow:
        assert uow.session.get(Series, new_id).duration_min == 60
    lifecycle.end_pair(container, pair_id)
    drain(container, broker)
    assert _calendar(calendars, new_event).cancelled
    with container.uow() as uow:
        assert uow.session.get(Pair, pair_id).status == "ended"
        assert not uow.session.scalars(select(Notification).where(
            Notification.pair_id == pair_id, Notification.kind == "reminder", Notification.status == "pending")).all()
    with pytest.raises(InvalidInput, match="not one of"):
        lifecycle.change_cadence(container, pair_id, "daily", None)


@pytest.mark.parametrize("policy, kind", [("notify", "needs a new time"), ("propose", "New time proposed")])
def test_repair_policies_other_than_auto_leave_the_calendar_alone(pipeline, policy, kind):
    container, broker, calendars, mailer, clock = pipeline
    pair_id = _booked_pair(container, broker, repair_policy=policy)
    series_id, event_id, occs = _series(container, pair_id)
    _, orig, start, _ = occs[1]
    calendars.add_event("lin@example.org", start - timedelta(minutes=15), start + timedelta(minutes=30), "Clash")
    with container.uow() as uow:
        add_outbox(uow.session, "recheck_series", series_id, "recheck:test", clock.now())
        uow.commit()
    drain(container, broker)
    state = {o.original_start: o for o in _calendar(calendars, event_id).occurrences}
    assert state[orig].start == start  # not moved
    told = [e for e in mailer.sent if kind in e.subject]
    assert sorted(e.to[0] for e in told) == ["ada@example.org", "lin@example.org"]


def test_pair_without_a_writable_calendar_is_invited_by_email_with_an_ics(pipeline):
    container, broker, calendars, mailer, clock = pipeline
    with container.uow() as uow:
        prog = make_program(uow.session, session_count=3)
        mentor = make_person(container, uow.session, "ada@example.org", NY, provider=None)
        mentee = make_person(container, uow.session, "lin@example.org", "Europe/Berlin", provider=None)
        pair_id = make_ready_pair(container, uow.session, prog, mentor, mentee, NOW).id
        uow.commit()
    drain(container, broker)
    with container.uow() as uow:
        assert uow.session.get(Pair, pair_id).status == "booked"
    invites = [e for e in mailer.sent if e.ics]
    assert sorted(e.to[0] for e in invites) == ["ada@example.org", "lin@example.org"]
    assert all("METHOD:REQUEST" in e.ics and "RRULE:FREQ=WEEKLY" in e.ics for e in invites)
    assert calendars.count_events("ada@example.org") == 0


def test_work_that_keeps_failing_is_shown_to_coordinators_with_its_error(pipeline):
    from scheduler.services.problems import failed_work

    container, broker, calendars, mailer, clock = pipeline
    calendars.inject_fault("revoked", times=100)
    with container.uow() as uow:
        prog = make_program(uow.session)
        mentor = make_person(container, uow.session, "ada@example.org", NY)
        mentee = make_person(container, uow.session, "lin@example.org", NY)
        pair_id = make_ready_pair(container, uow.session, prog, mentor, mentee, NOW).id
        program_id = prog.id
        uow.commit()
    drain(container, broker)
    with container.uow() as uow:
        problems = failed_work(container, program_id)
    assert [(p.pair_id, p.what) for p in problems] == [(pair_id, "planning the sessions")]
    assert "ReconnectNeeded" in problems[0].error


def test_changes_to_an_emailed_series_go_out_as_new_invitations(pipeline):
    import icalendar

    container, broker, calendars, mailer, clock = pipeline
    with container.uow() as uow:
        prog = make_program(uow.session, session_count=3)
        mentor = make_person(container, uow.session, "ada@example.org", NY, provider=None)
        mentee = make_person(container, uow.session, "lin@example.org", NY, provider=None)
        pair_id = make_ready_pair(container, uow.session, prog, mentor, mentee, NOW).id
        uow.commit()
    drain(container, broker)
    _, _, occs = _series(container, pair_id)
    lifecycle.skip_occurrence(container, occs[1][0], by_person_id="x")
    clock.current += lifecycle.UNDO_SETTLES  # the skip goes out once it can no longer be undone
    drain(container, broker)
    lifecycle.end_pair(container, pair_id)
    drain(container, broker)
    to_ada = [icalendar.Calendar.from_ical(e.ics) for e in mailer.sent if e.ics and e.to == ("ada@example.org",)]
    assert [(str(c["METHOD"]), int(next(iter(c.walk("VEVENT")))["SEQUENCE"])) for c in to_ada] == \
        [("REQUEST", 0), ("REQUEST", 1), ("CANCEL", 2)]
    skipped = next(iter(to_ada[1].walk("VEVENT")))["EXDATE"]
    skipped = skipped if isinstance(skipped, list) else [skipped]
    assert [d.dt for x in skipped for d in x.dts] == [occs[1][1].astimezone(ZoneInfo(NY))]


def test_lost_consent_flags_the_calendar_and_reconnecting_plans_the_pair(pipeline):
    from adapters.storage.models import CalendarConnection
    from scheduler.services.onboarding import refresh_readiness

    container, broker, calendars, mailer, clock = pipeline
    calendars.inject_fault("revoked", times=3)  # the batch, then each account alone
    with container.uow() as uow:
        prog = make_program(uow.session)
        mentor = make_person(container, uow.session, "ada@example.org", NY)
        mentee = make_person(container, uow.session, "lin@example.org", NY)
        pair_id = make_ready_pair(container, uow.session, prog, mentor, mentee, NOW).id
        uow.commit()
    drain(container, broker)
    with container.uow() as uow:
        pair = uow.session.get(Pair, pair_id)
        assert pair.status == "invited" and "reconnect" in pair.status_reason
        flagged = uow.session.scalars(select(CalendarConnection).where(
            CalendarConnection.status == "reconnect_needed")).all()
        assert len(flagged) >= 1
        person_id = flagged[0].person_id
    assert any("reconnect" in e.subject.lower() for e in mailer.sent)
    with container.uow() as uow:  # the person reconnects (what the web's connect flow stores)
        for connection in uow.session.scalars(select(CalendarConnection)):
            connection.status = "ok"
        refresh_readiness(uow, person_id, clock.now())
        uow.commit()
    drain(container, broker)
    with container.uow() as uow:
        assert uow.session.get(Pair, pair_id).status == "booked"
