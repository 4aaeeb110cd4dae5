"""The booking pipeline end to end on the in-memory calendar service: plan → book → emails →
recheck → repair, through the real outbox, tick, broker and actors (SQLite and PostgreSQL)."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from adapters.storage.models import Notification, Occurrence, OutboxMessage, Pair, Series
from scheduler.ports import CalendarAccount
from tests.support.pipeline import NOW, drain, make_person, make_program, make_ready_pair


def _account(email, tz):
    return CalendarAccount(connection_id=email, provider="memory", email=email, credentials={"tz": tz})


def test_ready_pair_is_planned_booked_once_and_told(pipeline):
    container, broker, calendars, mailer, clock = pipeline
    with container.uow() as uow:
        program = make_program(uow.session, cadence="weekly", session_count=6, reminder_offsets_min=[1440, 60])
        mentor = make_person(container, uow.session, "ada@example.org", "America/New_York")
        mentee = make_person(container, uow.session, "lin@example.org", "Europe/Berlin")
        pair_id = make_ready_pair(container, uow.session, program, mentor, mentee, NOW).id
        uow.commit()
    calendars.add_event("ada@example.org", datetime(2027, 2, 23, 14, tzinfo=timezone.utc),
                        datetime(2027, 2, 23, 16, tzinfo=timezone.utc), "Secret board meeting", rrule="FREQ=WEEKLY;COUNT=10")
    drain(container, broker)
    with container.uow() as uow:
        pair = uow.session.get(Pair, pair_id)
        assert pair.status == "booked", pair.status_reason
        (series,) = pair.series
        assert series.status == "booked" and series.provider_event_id
        event_id = series.provider_event_id
        occs = [(o.start, o.end) for o in series.occurrences if o.status in ("scheduled", "moved")]
        assert len(occs) == 6
        booked_reminders = uow.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.kind == "reminder"))
        assert booked_reminders == 6 * 2 * 2  # six sessions, two people, two offsets
    assert calendars.count_events("ada@example.org") == 2  # the seeded meeting and our one series
    state = calendars.get_series(_account("ada@example.org", "America/New_York"), event_id,
                                 NOW, NOW + timedelta(days=120))
    assert [o.start for o in state.occurrences if not o.cancelled] == [start for start, _ in occs]
    for start, end in occs:  # never on top of the mentor's weekly meeting (Tue 14:00-16:00 UTC)
        assert not (start.weekday() == 1 and start < start.replace(hour=16) and end > start.replace(hour=14))
    subjects = sorted(e.subject for e in mailer.sent)
    assert sum("are booked" in s for s in subjects) == 2
    assert all("Secret board meeting" not in e.text for e in mailer.sent)
    # Nothing left to do, nothing doubled when ticking again.
    drain(container, broker)
    assert calendars.count_events("ada@example.org") == 2


def test_a_new_conflict_moves_one_session_alone_and_both_are_told(pipeline):
    container, broker, calendars, mailer, clock = pipeline
    with container.uow() as uow:
        program = make_program(uow.session, cadence="weekly", session_count=4, repair_policy="auto")
        mentor = make_person(container, uow.session, "ada@example.org", "America/New_York")
        mentee = make_person(container, uow.session, "lin@example.org", "America/New_York")
        pair_id = make_ready_pair(container, uow.session, program, mentor, mentee, NOW).id
        uow.commit()
    drain(container, broker)
    with container.uow() as uow:
        series = uow.session.scalars(select(Series).where(Series.pair_id == pair_id)).one()
        third = series.occurrences[2]
        third_start, third_end, series_id, event_id = third.start, third.end, series.id, series.provider_event_id
    # The mentee's calendar fills up at the third session's time.
    calendars.add_event("lin@example.org", third_start - timedelta(minutes=15), third_end, "Dentist")
    with container.uow() as uow:
        from adapters.storage.outbox import add_outbox
        add_outbox(uow.session, "recheck_series", series_id, "recheck:test", clock.now())
        uow.commit()
    drain(container, broker)
    with container.uow() as uow:
        occs = uow.session.scalars(select(Occurrence).where(Occurrence.series_id == series_id)
                                   .order_by(Occurrence.original_start)).all()
        moved = [o for o in occs if o.status == "moved"]
        assert len(moved) == 1 and moved[0].original_start == third_start
        assert moved[0].start != third_start
        assert all(o.status == "scheduled" for o in occs if o is not moved[0])
        new_start = moved[0].start
        starts = sorted(o.start for o in occs)
        before = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.startswith(f"recheck_series:{series_id}:before:{moved[0].id}:"
                                                     f"{new_start:%Y%m%dT%H%M%SZ}:"))).one()
        assert before.due_at == new_start - timedelta(hours=24)  # checked again the day before, at its new time
    state = calendars.get_series(_account("ada@example.org", "America/New_York"),
                                 event_id, NOW, NOW + timedelta(days=60))
    assert sorted(o.start for o in state.occurrences) == starts
    assert any(o.moved and o.start == new_start for o in state.occurrences)
    told = [e for e in mailer.sent if "moved to" in e.subject]
    assert sorted(e.to[0] for e in told) == ["ada@example.org", "lin@example.org"]
    assert all("Dentist" not in e.text for e in mailer.sent)


def test_reminders_go_out_when_due_and_never_twice(pipeline):
    container, broker, calendars, mailer, clock = pipeline
    with container.uow() as uow:
        program = make_program(uow.session, cadence="weekly", session_count=2, reminder_offsets_min=[60])
        mentor = make_person(container, uow.session, "ada@example.org", "America/New_York")
        mentee = make_person(container, uow.session, "lin@example.org", "America/Chicago")
        pair_id = make_ready_pair(container, uow.session, program, mentor, mentee, NOW).id
        uow.commit()
    drain(container, broker)
    with container.uow() as uow:
        first = uow.session.scalars(select(Occurrence).join(Series).where(Series.pair_id == pair_id)
                                    .order_by(Occurrence.start)).first()
        first_start = first.start
    before = len(mailer.sent)
    clock.current = first_start - timedelta(minutes=59)
    drain(container, broker)
    reminders = [e for e in mailer.sent[before:] if e.subject.startswith("Coming up")]
    assert sorted(e.to[0] for e in reminders) == ["ada@example.org", "lin@example.org"]
    # A duplicate delivery of the same outbox message changes nothing.
    with container.uow() as uow:
        row = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "deliver_notification",
                                                              OutboxMessage.status == "done")).first()
        row_id = row.id
    broker.get_actor("deliver_notification").send(row_id)  # bound to this test's broker by the fixture
    drain(container, broker)
    assert len([e for e in mailer.sent if e.subject.startswith("Coming up")]) == 2
    clock.current = first_start + timedelta(hours=1)
    drain(container, broker)
    assert sum(e.subject.startswith("Did you and") for e in mailer.sent) == 2


def test_pair_without_shared_time_gets_a_reason_for_coordinators(pipeline):
    container, broker, calendars, mailer, clock = pipeline
    with container.uow() as uow:
        program = make_program(uow.session)
        mentor = make_person(container, uow.session, "kenji@example.org", "Asia/Tokyo")
        mentee = make_person(container, uow.session, "sam@example.org", "America/Chicago",
                             hours={d: [["09:00", "15:00"]] for d in ("tue", "wed", "thu")})
        pair_id = make_ready_pair(container, uow.session, program, mentor, mentee, NOW).id
        uow.commit()
    drain(container, broker)
    with container.uow() as uow:
        pair = uow.session.get(Pair, pair_id)
        assert pair.status == "unschedulable"
        assert "share no working time" in pair.status_reason and "Asia/Tokyo" in pair.status_reason
    assert calendars.count_events("kenji@example.org") == 0
