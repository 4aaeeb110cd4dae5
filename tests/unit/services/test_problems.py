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


def _dead(uow, kind: str, subject: str, error: str, *, at=T0) -> None:
    uow.outbox.add(OutboxMessage(kind=kind, subject_id=subject, idempotency_key=f"{kind}:{subject}:{error[:10]}",
                                 status="dead", due_at=at, enqueued_at=at, attempts=8, last_error=error))


def test_failures_are_worded_for_people_without_exception_class_names(deps, seed):
    s = seed()
    errors = ["ReconnectNeeded: Google access was revoked", "KeyError: 'slot'",
              "MailRejected: 550 5.1.1 no such user", "scheduler.errors.ProviderUnavailable: timed out",
              "NoMutualTime: Mina and Ezra share no working time.", "no worker finished it (gave up after 8 attempts)"]
    with deps.uow() as uow:
        uow.connections.add(CalendarConnection(person_id=s.mentor_id, provider="google", account_email="m@x.org",
                                               status="reconnect_needed"))
        for error in errors:
            _dead(uow, "plan_pair", s.pair_id, error)
        uow.commit()
    messages = {f.error: f.message for f in failed_work(deps, s.program_id)}
    assert set(messages) == set(errors)  # the raw error is kept for operators
    for message in messages.values():
        assert not any(name in message for name in ("ReconnectNeeded", "KeyError", "MailRejected", "Provider",
                                                    "NoMutualTime", "scheduler.errors")), message
    assert messages[errors[0]].startswith("A calendar's access was withdrawn or has expired (Google access was revoked)")
    assert "reconnect it on their Calendars page" in messages[errors[0]]
    assert messages[errors[1]] == ("Something unexpected went wrong. "
                                   "Your administrator can find the details in the worker log.")
    assert "Check the person's email address" in messages[errors[2]]
    assert messages[errors[4]] == "Mina and Ezra share no working time."
    assert "never finished" in messages[errors[5]]


def test_a_reconnect_failure_disappears_once_the_calendar_is_reconnected(deps, seed, clock):
    from scheduler.services.connections import store_connection
    s = seed()
    with deps.uow() as uow:
        conn = uow.connections.add(CalendarConnection(person_id=s.mentor_id, provider="memory",
                                                      account_email="mentor@example.org", status="reconnect_needed",
                                                      last_checked_at=T0 - timedelta(days=1)))
        _dead(uow, "plan_pair", s.pair_id, "ReconnectNeeded: access revoked")
        _dead(uow, "handle_calendar_change", conn.id, "ReconnectNeeded: access revoked")
        _dead(uow, "book_series", "gone-series", "ProviderUnavailable: down")  # not this program's
        _dead(uow, "plan_pair", s.pair_id, "ProviderUnavailable: timed out")  # another cause: stays
        uow.commit()
    assert [f.what for f in failed_work(deps, s.program_id)] == [
        "planning the sessions", "reading calendar changes", "planning the sessions"]
    clock.advance(hours=1)
    store_connection(deps, s.mentor_id, "memory", "mentor@example.org", {"tz": "Europe/Berlin"})
    assert [(f.what, f.error) for f in failed_work(deps, s.program_id)] == [
        ("planning the sessions", "ProviderUnavailable: timed out")]


def test_a_reconnect_failure_stays_while_a_calendar_still_needs_reconnecting_or_was_not_reconnected_since(
        deps, seed, clock):
    s = seed()
    with deps.uow() as uow:  # the mentor's calendar is fine but was last read BEFORE the failure
        uow.connections.add(CalendarConnection(person_id=s.mentor_id, provider="memory", account_email="m@x.org",
                                               last_checked_at=T0 - timedelta(hours=1)))
        mentee = uow.connections.add(CalendarConnection(person_id=s.mentee_id, provider="memory",
                                                        account_email="e@x.org", status="reconnect_needed"))
        _dead(uow, "plan_pair", s.pair_id, "ReconnectNeeded: access revoked")
        uow.commit()
    assert len(failed_work(deps, s.program_id)) == 1  # the mentee's calendar still needs reconnecting
    with deps.uow() as uow:  # flagged ok by hand, but nothing was read since the failure: not proof
        uow.connections.get(mentee.id).status = "ok"
        uow.connections.get(mentee.id).last_checked_at = T0 - timedelta(minutes=5)
        uow.commit()
    assert len(failed_work(deps, s.program_id)) == 1
    with deps.uow() as uow:
        uow.connections.get(mentee.id).last_checked_at = T0 + timedelta(hours=1)
        uow.commit()
    assert failed_work(deps, s.program_id) == []  # all fine, and the mentee's was read after the failure
