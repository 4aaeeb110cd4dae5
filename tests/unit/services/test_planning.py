"""Planning a mentor's ready pairs on the in-memory unit of work: series stored, booking queued."""
from __future__ import annotations

from datetime import timedelta

from scheduler.core.entities import AgendaTemplate, Goal, Pair, Person, Series
from scheduler.services.planning import LEAD_TIME, plan_mentor_group
from tests.unit.services.booked import T0, WORKDAY


def _series_of(deps, pair_id: str) -> list[Series]:
    with deps.uow() as uow:
        return list(uow.pairs.get(pair_id).series)


def test_a_ready_pair_gets_a_series_and_its_booking_is_queued(deps, seed):
    s = seed(status="ready", connected=True)

    plans = plan_mentor_group(deps, s.pair_id)

    assert [p.pair_id for p in plans] == [s.pair_id]
    with deps.uow() as uow:
        pair = uow.pairs.get(s.pair_id)
        assert (pair.status, pair.status_reason) == ("planning", None)
        (series,) = pair.series
        assert series.status == "planned" and series.duration_min == 45
        assert series.idempotency_key == f"tandem{s.pair_id}00"
        occurrences = list(series.occurrences)
        assert len(occurrences) == 4  # the program's session count
        assert all(o.start >= T0 + LEAD_TIME and o.end - o.start == timedelta(minutes=45) for o in occurrences)
        assert occurrences[0].agenda.startswith("Session 1 of 4: Getting started")  # the default agendas
        queued = uow.outbox.where(lambda m: m.kind == "book_series")
        assert [(m.subject_id, m.idempotency_key) for m in queued] == [(series.id, f"book_series:{series.id}")]


def test_program_agendas_and_open_goals_go_into_each_session(deps, seed):
    s = seed(status="ready", connected=True)
    with deps.uow() as uow:
        for position, name in enumerate(("Kick-off", "Work", "Wrap-up")):
            uow.agenda_templates.add(AgendaTemplate(program_id=s.program_id, name=name, body=f"{name} body",
                                                    position=position))
        uow.goals.add(Goal(pair_id=s.pair_id, text="Lead a design review", status="open"))
        uow.goals.add(Goal(pair_id=s.pair_id, text="An old goal", status="dropped"))
        uow.commit()

    plan_mentor_group(deps, s.pair_id)

    (series,) = _series_of(deps, s.pair_id)
    with deps.uow() as uow:
        agendas = [o.agenda for o in uow.series.get(series.id).occurrences]
    assert [a.splitlines()[0] for a in agendas] == ["Session 1 of 4: Kick-off", "Session 2 of 4: Work",
                                                   "Session 3 of 4: Work", "Session 4 of 4: Wrap-up"]
    assert all("- Lead a design review" in a and "An old goal" not in a for a in agendas)


def test_a_pair_no_longer_ready_is_left_alone(deps, seed):
    s = seed(status="paused", connected=True)

    assert plan_mentor_group(deps, s.pair_id) == []
    assert _series_of(deps, s.pair_id) == []
    with deps.uow() as uow:
        assert uow.outbox.all() == []


def test_the_mentors_other_ready_pairs_are_planned_together_without_overlap(deps, seed):
    s = seed(status="ready", connected=True)
    with deps.uow() as uow:
        other = uow.people.add(Person(email="second@example.org", name="Sol", tz="Europe/Berlin",
                                      working_hours=WORKDAY, onboarded_at=T0))
        second = uow.pairs.add(Pair(program_id=s.program_id, mentor_id=s.mentor_id, mentee_id=other.id,
                                    status="ready", created_at=T0 + timedelta(seconds=1)))
        uow.commit()

    plans = plan_mentor_group(deps, s.pair_id)

    assert sorted(p.pair_id for p in plans) == sorted([s.pair_id, second.id])
    with deps.uow() as uow:
        assert {uow.pairs.get(i).status for i in (s.pair_id, second.id)} == {"planning"}
        held = uow.occurrences.busy_intervals_of(s.mentor_id)
    assert len(held) == 8
    held.sort()
    assert all(a[1] <= b[0] for a, b in zip(held, held[1:]))  # the mentor's sessions never overlap


def test_no_common_time_makes_the_pair_unschedulable_and_tells_the_coordinator(deps, seed):
    s = seed(status="ready", connected=True)
    with deps.uow() as uow:
        uow.people.get(s.mentee_id).working_hours = {"sat": [["09:00", "10:00"]]}  # the mentor works weekdays
        uow.commit()

    assert [p.status.value for p in plan_mentor_group(deps, s.pair_id)] == ["unschedulable"]

    with deps.uow() as uow:
        pair = uow.pairs.get(s.pair_id)
        assert pair.status == "unschedulable" and pair.status_reason
        told = uow.notifications.where(lambda n: n.kind == "pair_attention")
        assert [n.person_id for n in told] == [s.coordinator_id]
        assert told[0].idempotency_key == f"unschedulable:{s.pair_id}:{T0.date()}:{s.coordinator_id}"
        assert uow.series.all() == [] and not uow.outbox.where(lambda m: m.kind == "book_series")


def test_sessions_already_held_are_not_planned_again(deps, seed):
    s = seed(status="ready", connected=True)
    plan_mentor_group(deps, s.pair_id)
    (first,) = _series_of(deps, s.pair_id)
    with deps.uow() as uow:  # two sessions held, then the pair asks for a new time (as on resume)
        series = uow.series.get(first.id)
        series.status = "cancelled"
        for occ in list(series.occurrences)[:2]:
            occ.start, occ.end = T0 - timedelta(days=7), T0 - timedelta(days=7) + timedelta(minutes=45)
        uow.pairs.get(s.pair_id).status = "ready"
        uow.commit()

    plan_mentor_group(deps, s.pair_id)

    second = [x for x in _series_of(deps, s.pair_id) if x.id != first.id]
    with deps.uow() as uow:
        (series,) = [uow.series.get(x.id) for x in second]
        assert series.idempotency_key == f"tandem{s.pair_id}01"  # the pair's second series
        assert len(series.occurrences) == 2  # four sessions, two held already


def _second_ready_pair(deps, s, email="second@example.org"):
    with deps.uow() as uow:
        other = uow.people.add(Person(email=email, name="Sol", tz="Europe/Berlin",
                                      working_hours=WORKDAY, onboarded_at=T0))
        pair = uow.pairs.add(Pair(program_id=s.program_id, mentor_id=s.mentor_id, mentee_id=other.id,
                                  status="ready", created_at=T0 + timedelta(seconds=1)))
        uow.commit()
        return pair.id


def _set_cap(deps, s, cap):
    with deps.uow() as uow:
        uow.programs.get(s.program_id).mentor_max_sessions_per_week = cap
        uow.commit()


def test_a_full_mentor_is_shared_fairly_between_ready_pairs(deps, seed):
    s = seed(status="ready", connected=True)
    _set_cap(deps, s, 1)
    second = _second_ready_pair(deps, s)

    plans = plan_mentor_group(deps, s.pair_id)

    assert sorted(p.status.value for p in plans) == ["booked", "booked"]
    assert min(sum(not o.conflict for o in p.occurrences) for p in plans) >= 2  # turns, not first come
    with deps.uow() as uow:
        assert {uow.pairs.get(i).status for i in (s.pair_id, second)} == {"planning"}
        held = uow.occurrences.busy_intervals_of(s.mentor_id)
    weeks = [start.isocalendar()[:2] for start, _ in held]
    assert len(weeks) == len(set(weeks)) >= 4  # at most one session a week, the cap


def test_a_pair_the_cap_leaves_without_sessions_is_not_booked(deps, seed):
    s = seed(status="ready", connected=True)
    _set_cap(deps, s, 1)
    plan_mentor_group(deps, s.pair_id)  # the first pair takes the one session of every week
    second = _second_ready_pair(deps, s)

    (plan,) = plan_mentor_group(deps, second)

    assert plan.status.value == "unschedulable" and "weekly cap of 1" in plan.reason
    with deps.uow() as uow:
        pair = uow.pairs.get(second)
        assert pair.status == "unschedulable" and "another mentor" in pair.status_reason
        assert list(pair.series) == []


def test_sibling_deliveries_wait_for_the_run_that_took_the_group_first(deps, seed, calendars):
    import pytest

    from scheduler.services.planning import GroupBeingPlanned
    s = seed(status="ready", connected=True)
    second = _second_ready_pair(deps, s)
    now = deps.clock.now()
    with deps.uow() as uow:
        uow.outbox.add_once("plan_pair", s.pair_id, "plan_pair:first", now)
        uow.outbox.add_once("plan_pair", second, "plan_pair:second", now)
        uow.commit()
    with deps.uow() as uow:  # both deliveries are running; the first pair's took its row 20 s ago
        rows = {r.subject_id: r for r in uow.outbox.claim_due(now, limit=5, claim_timeout=timedelta(minutes=5),
                                                               max_attempts=5)}
        uow.outbox.acquire(rows[s.pair_id].id, now - timedelta(seconds=20), timedelta(minutes=5))
        uow.outbox.acquire(rows[second].id, now - timedelta(seconds=19), timedelta(minutes=5))
        uow.commit()
    served = calendars.requests_served

    with pytest.raises(GroupBeingPlanned) as waited:
        plan_mentor_group(deps, second)
    assert calendars.requests_served == served  # nobody's calendar was read twice
    assert 20 <= waited.value.retry_after <= 30  # as long again as the group's run has taken so far
    plans = plan_mentor_group(deps, s.pair_id)
    assert sorted(p.pair_id for p in plans) == sorted([s.pair_id, second])
    assert plan_mentor_group(deps, second) == []  # planned with its group: nothing left to do
