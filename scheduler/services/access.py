"""Who may see what: the signed-in person's roles, and pair membership.

Roles: ``admin`` (``Person.is_admin``), ``coordinator`` of a program (a membership), and
``mentor``/``mentee`` of a pair. The web layer turns these answers into redirects and 403 pages.
"""
from __future__ import annotations

from dataclasses import dataclass

from scheduler.ports import Dependencies


@dataclass(frozen=True)
class SignedInPerson:
    """The signed-in person as pages need them (a plain value, not an entity)."""

    id: str
    email: str
    name: str
    tz: str | None
    is_admin: bool
    onboarded: bool
    coordinates: frozenset[str]  # program ids
    has_pairs: bool = False  # mentor or mentee of at least one pair (any state)
    digest_opt_out: bool = False  # asked for no weekly digest email

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def is_coordinator(self) -> bool:
        return self.is_admin or bool(self.coordinates)

    @property
    def is_participant(self) -> bool:
        """Whether the mentee/mentor pages (My sessions, Calendars, My hours) are for them: anyone
        with a pair, and anyone who coordinates nothing (someone invited, before their pair exists)."""
        return self.has_pairs or not self.is_coordinator


def signed_in_person(deps: Dependencies, person_id: str) -> SignedInPerson | None:
    """The person with their coordinator roles; None when the account no longer exists (or its
    data is being erased)."""
    with deps.uow() as uow:
        person = uow.people.get(person_id)
        if person is None or person.erasure_requested_at is not None:  # erased, or being erased: signed out
            return None
        programs = frozenset(uow.memberships.coordinated_by(person.id))
        has_pairs = bool(uow.pairs.of_person(person.id))
        return SignedInPerson(person.id, person.email, person.name, person.tz, person.is_admin,
                              person.onboarded_at is not None, programs, has_pairs, bool(person.digest_opt_out))


def is_pair_member(deps: Dependencies, person_id: str, pair_id: str | None) -> bool:
    """Whether the person is the mentor or the mentee of the pair (False for an unknown pair).
    Coordinators and admins are not members: a pair's agenda, goals and notes are theirs alone."""
    if not pair_id:
        return False
    with deps.uow() as uow:
        pair = uow.pairs.get(pair_id)
        return pair is not None and person_id in (pair.mentor_id, pair.mentee_id)
