"""What the planner reads about people: snapshots, calendar busy time, other Tandem sessions."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.core.entities import Occurrence, Pair, Person, Series
from scheduler.errors import ReconnectNeeded
from scheduler.services.availability import read_calendar_busy, snapshot, tandem_sessions
from tests.unit.services.booked import T0


def _series(uow, pair_id: str, status: str, *starts_and_states) -> Series:
    series = uow.series.add(Series(pair_id=pair_id, rrule="FREQ=WEEKLY", dtstart_local="2026-03-03T10:00:00",
                                   tz="UTC", duration_min=60, status=status))
    for start, state in starts_and_states:
        uow.occurrences.add(Occurrence(series_id=series.id, original_start=start, start=start,
                                       end=start + timedelta(hours=1), status=state))
    return series


def test_other_sessions_count_only_held_ones_of_active_series(deps, seed):
    s = seed(status="booked")
    day = timedelta(days=1)
    with deps.uow() as uow:
        stranger = uow.people.add(Person(email="x@example.org"))
        elsewhere = uow.pairs.add(Pair(program_id=s.program_id, mentor_id=stranger.id, mentee_id=s.mentee_id))
        booked = _series(uow, s.pair_id, "booked", (T0 + day, "scheduled"), (T0 + 2 * day, "moved"),
                         (T0 + 3 * day, "skipped"), (T0 + 4 * day, "conflict"))
        _series(uow, s.pair_id, "cancelled", (T0 + 5 * day, "scheduled"))
        _series(uow, elsewhere.id, "planned", (T0 + 6 * day, "scheduled"))
        uow.commit()

    with deps.uow() as uow:
        mentor = tandem_sessions(uow, s.mentor_id)
        mentee = tandem_sessions(uow, s.mentee_id)
        without = tandem_sessions(uow, s.mentee_id, exclude_series_id=booked.id)
    assert sorted(iv.start for iv in mentor) == [T0 + day, T0 + 2 * day]
    assert sorted(iv.start for iv in mentee) == [T0 + day, T0 + 2 * day, T0 + 6 * day]
    assert [iv.start for iv in without] == [T0 + 6 * day]


def test_calendar_busy_time_is_read_per_person(deps, seed, calendars):
    s = seed(connected=True)
    calendars.add_event("mentee@example.org", T0 + timedelta(hours=2), T0 + timedelta(hours=3), "Dentist",
                        calendar_id="mentee@example.org")
    with deps.uow() as uow:
        people = [snapshot(uow, uow.people.get(s.mentor_id)), snapshot(uow, uow.people.get(s.mentee_id))]
    assert all(len(p.connection_ids) == 1 for p in people)

    busy = read_calendar_busy(deps, people, T0, T0 + timedelta(days=1))

    assert busy[s.mentor_id] == []
    assert [(iv.start, iv.end) for iv in busy[s.mentee_id]] == [(T0 + timedelta(hours=2), T0 + timedelta(hours=3))]


def test_a_withdrawn_consent_flags_the_connection_and_sends_ready_pairs_back(deps, seed, calendars):
    s = seed(status="ready", connected=True)
    with deps.uow() as uow:
        people = [snapshot(uow, uow.people.get(s.mentor_id)), snapshot(uow, uow.people.get(s.mentee_id))]
    calendars.inject_fault("revoked", times=10)

    with pytest.raises(ReconnectNeeded):
        read_calendar_busy(deps, people, T0, T0 + timedelta(days=1))

    with deps.uow() as uow:
        assert {c.status for c in uow.connections.all()} == {"reconnect_needed"}
        assert uow.pairs.get(s.pair_id).status == "invited"
        assert uow.notifications.where(lambda n: n.kind == "reconnect")
