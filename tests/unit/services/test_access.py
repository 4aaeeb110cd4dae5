"""Who may see what, on the in-memory unit of work."""
from __future__ import annotations

from scheduler.core.entities import Membership, Program
from scheduler.services.access import is_pair_member, signed_in_person


def test_the_signed_in_person_carries_the_programs_they_coordinate(deps, seed):
    s = seed()
    with deps.uow() as uow:
        other = uow.programs.add(Program(name="Autumn"))
        uow.memberships.add(Membership(program_id=other.id, person_id=s.coordinator_id, role="coordinator"))
        uow.commit()
    cora = signed_in_person(deps, s.coordinator_id)
    assert cora.coordinates == frozenset({s.program_id, other.id}) and cora.is_coordinator
    assert cora.display_name == "Cora" and not cora.is_admin and not cora.onboarded
    mina = signed_in_person(deps, s.mentor_id)
    assert mina.coordinates == frozenset() and not mina.is_coordinator and mina.onboarded
    assert signed_in_person(deps, "deleted-person") is None


def test_only_the_mentor_and_the_mentee_are_members_of_their_pair(deps, seed):
    s = seed()
    assert is_pair_member(deps, s.mentor_id, s.pair_id) and is_pair_member(deps, s.mentee_id, s.pair_id)
    assert not is_pair_member(deps, s.coordinator_id, s.pair_id)  # coordinators see the program page instead
    assert not is_pair_member(deps, s.mentor_id, "no-such-pair") and not is_pair_member(deps, s.mentor_id, None)
