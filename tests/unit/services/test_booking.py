"""Booking a planned series on the in-memory calendar: event created once, everything booked."""
from __future__ import annotations

from scheduler.core.entities import CalendarConnection
from scheduler.services.booking import book_series
from scheduler.services.planning import plan_mentor_group


def _planned(deps, seed, **kw):
    s = seed(status="ready", **kw)
    plan_mentor_group(deps, s.pair_id)
    with deps.uow() as uow:
        (series,) = uow.pairs.get(s.pair_id).series
        return s, series.id


def test_booking_creates_the_event_and_books_series_and_pair(deps, seed, calendars):
    s, series_id = _planned(deps, seed, connected=True)

    book_series(deps, series_id)

    with deps.uow() as uow:
        series, pair = uow.series.get(series_id), uow.pairs.get(s.pair_id)
        assert (series.status, pair.status) == ("booked", "booked")
        assert series.provider_event_id and series.organizer_connection_id
        assert uow.connections.get(series.organizer_connection_id).person_id == s.mentor_id  # the organizer
        told = uow.notifications.where(lambda n: n.kind == "series_booked")
        assert sorted(n.person_id for n in told) == sorted([s.mentor_id, s.mentee_id])
        assert {n.idempotency_key for n in told} == {f"booked:{series_id}:{s.mentor_id}",
                                                     f"booked:{series_id}:{s.mentee_id}"}
        assert uow.notifications.where(lambda n: n.kind == "reminder")  # follow-ups of each session
    assert calendars.count_events("mentor@example.org", "mentor@example.org") == 1

    book_series(deps, series_id)  # a repeated delivery changes nothing
    assert calendars.count_events("mentor@example.org", "mentor@example.org") == 1


def test_without_a_writable_calendar_both_are_invited_by_email(deps, seed):
    s, series_id = _planned(deps, seed, connected=True)
    with deps.uow() as uow:
        for connection in uow.connections.where(lambda c: True):
            connection.status = "reconnect_needed"
        uow.commit()

    book_series(deps, series_id)

    with deps.uow() as uow:
        series = uow.series.get(series_id)
        assert series.status == "booked" and series.provider_event_id is None
        assert len(uow.notifications.where(lambda n: n.kind == "series_invite")) == 2


def test_the_mentees_calendar_is_used_when_only_theirs_can_be_written(deps, seed, calendars):
    s, series_id = _planned(deps, seed, connected=True)
    with deps.uow() as uow:
        (mine,) = uow.connections.usable_of(s.mentor_id)
        mine.status = "reconnect_needed"
        uow.commit()

    book_series(deps, series_id)

    with deps.uow() as uow:
        organizer = uow.connections.get(uow.series.get(series_id).organizer_connection_id)
        assert isinstance(organizer, CalendarConnection) and organizer.person_id == s.mentee_id
    assert calendars.count_events("mentee@example.org", "mentee@example.org") == 1


def test_a_series_ended_while_booking_is_taken_off_the_calendar_again(deps, seed, calendars, monkeypatch):
    s, series_id = _planned(deps, seed, connected=True)
    real_create = calendars.create_series

    def create_then_end(account, spec):
        ref = real_create(account, spec)
        with deps.uow() as uow:  # the pair ends the series while the provider call runs
            uow.series.get(series_id).status = "cancelled"
            uow.commit()
        return ref

    monkeypatch.setattr(calendars, "create_series", create_then_end)
    book_series(deps, series_id)

    with deps.uow() as uow:
        assert uow.series.get(series_id).status == "cancelled"
        assert [m.idempotency_key for m in uow.outbox.where(lambda m: m.kind == "cancel_series")] == [
            f"cancel_series:{series_id}"]
        assert uow.pairs.get(s.pair_id).status == "planning"


def test_a_series_with_no_session_left_to_hold_is_never_shown_booked(deps, seed, calendars):
    s, series_id = _planned(deps, seed, connected=True)
    with deps.uow() as uow:  # every planned session clashed with a calendar in its period
        for occ in uow.series.get(series_id).occurrences:
            occ.status = "conflict"
        uow.commit()

    book_series(deps, series_id)

    with deps.uow() as uow:
        pair = uow.pairs.get(s.pair_id)
        assert pair.status == "needs_attention" and "no upcoming session" in pair.status_reason
        assert {o.status for o in uow.series.get(series_id).occurrences} == {"cancelled"}
        assert [n.person_id for n in uow.notifications.where(lambda n: n.kind == "pair_attention")] == [
            s.coordinator_id]
        assert uow.notifications.where(lambda n: n.kind == "series_booked") == []
