"""A program's choice of how a full mentor is shared (issue 12): stored, shown, and honoured by
the booking pipeline's planning."""
from __future__ import annotations

import pytest

from scheduler.errors import InvalidInput
from scheduler.services import program_sharing, programs
from scheduler.services.planning import plan_mentor_group
from tests.unit.services.test_planning import _second_ready_pair, _set_cap


def _sharing_of(deps, program_id: str) -> str:
    with deps.uow() as uow:
        return uow.programs.get(program_id).sharing


def test_a_new_program_shares_a_full_mentor_fairly(deps):
    created = programs.create_program(deps, "coord-1", programs.ProgramSpec(name="Spring"))
    assert created.sharing == "fair" and _sharing_of(deps, created.id) == "fair"


def test_the_coordinator_switches_to_first_come_and_back(deps, seed):
    s = seed()
    assert program_sharing.set_sharing(deps, s.program_id, "first_come").value == "first_come"
    assert _sharing_of(deps, s.program_id) == "first_come"
    assert programs.program_page(deps, s.program_id).program.sharing == "first_come"
    program_sharing.set_sharing(deps, s.program_id, "fair")
    assert _sharing_of(deps, s.program_id) == "fair"


def test_an_unknown_choice_is_refused_with_the_choices_and_nothing_changes(deps, seed):
    s = seed()
    with pytest.raises(InvalidInput, match=r"'first' is not a choice; pick 'fair' or 'first_come'"):
        program_sharing.set_sharing(deps, s.program_id, "first")
    assert _sharing_of(deps, s.program_id) == "fair"


def test_an_unknown_program_is_refused(deps):
    with pytest.raises(programs.UnknownProgram):
        program_sharing.set_sharing(deps, "no-such-program", "fair")


def _mentor_with_two_ready_pairs(deps, seed, sharing: str):
    """One mentor, two ready mentees with the same free time, and a cap of one session a week."""
    s = seed(status="ready", connected=True)
    second = _second_ready_pair(deps, s)
    _set_cap(deps, s, 1)
    program_sharing.set_sharing(deps, s.program_id, sharing)
    return s, second


def _held(plans) -> dict[str, int]:
    return {p.pair_id: sum(not o.conflict for o in p.occurrences) for p in plans}


def test_the_pipeline_honours_first_come(deps, seed):
    s, second = _mentor_with_two_ready_pairs(deps, seed, "first_come")

    plans = {p.pair_id: p for p in plan_mentor_group(deps, s.pair_id)}

    # the pair planned first keeps every session; the cap leaves the other without any
    booked = [p for p in plans.values() if p.status.value == "booked"]
    left_out = [p for p in plans.values() if p.status.value == "unschedulable"]
    assert len(booked) == 1 and len(left_out) == 1
    assert _held(booked)[booked[0].pair_id] == len(booked[0].occurrences)
    assert "weekly cap of 1" in left_out[0].reason and "sharing: fair" in left_out[0].reason
    with deps.uow() as uow:
        assert uow.pairs.get(left_out[0].pair_id).status == "unschedulable"


def test_the_pipeline_takes_turns_when_the_program_is_fair(deps, seed):
    s, second = _mentor_with_two_ready_pairs(deps, seed, "fair")

    plans = plan_mentor_group(deps, s.pair_id)

    assert sorted(p.status.value for p in plans) == ["booked", "booked"]
    assert min(_held(plans).values()) >= 2
