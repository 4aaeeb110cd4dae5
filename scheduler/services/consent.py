"""A person already in Tandem accepts a new program before it may use anything about them.

When a coordinator imports someone who already uses Tandem (any person the import did not just
create), their membership in that program is ``pending``: their pairs there stay ``invited``
(nothing is read from their calendars, planned, booked or emailed beyond the invitation), and the
program's coordinators see only that they were asked (:func:`waiting_label`). The person answers
on the program's join page (:func:`program_invitation`, :func:`accept_program`,
:func:`decline_program`); accepting makes their pairs ready where the other person is ready too.
Someone new to Tandem is created with an accepted membership: nothing about them exists to read
until they follow the invitation and set up.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from scheduler.core.entities import Membership, Person
from scheduler.core.pair_state import PairState, move_pair
from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies, UnitOfWork
from scheduler.services.onboarding import Invitation, make_ready_if_set_up, read_invitation

__all__ = ["NotInvited", "OpenedElsewhere", "ProgramInvitation", "accept_program", "decline_program",
           "membership_for", "program_invitation", "use_invitation", "waiting_label"]


class NotInvited(InvalidInput):
    """The person has no membership in the program waiting for an answer."""


@dataclass(frozen=True)
class ProgramInvitation:
    """What the join page shows: the program, who asks, and the pairs waiting (their other person)."""

    program_id: str
    program_name: str
    coordinators: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]  # (role, the other person's name)
    consent: str


def membership_for(uow: UnitOfWork, program_id: str, person: Person, role: str, *, created: bool,
                   accepted_here: set[str]) -> Membership:
    """The membership an import adds for ``person``: accepted when the import just created them or
    they already accepted this program (``accepted_here``: ids with an accepted membership),
    pending otherwise."""
    accepted = created or person.id in accepted_here
    return uow.memberships.add(Membership(program_id=program_id, person_id=person.id, role=role,
                                          consent="accepted" if accepted else "pending"))


def waiting_label(name: str) -> str:
    return f"Waiting for {name} to accept the invitation to this program"


def _mine(uow: UnitOfWork, person_id: str, program_id: str) -> list[Membership]:
    found = [m for m in uow.memberships.of_program(program_id)
             if m.person_id == person_id and m.role in ("mentor", "mentee")]
    if not found:
        raise NotInvited("You have no invitation to this program. Ask its coordinator to add you.")
    return found


def program_invitation(deps: Dependencies, person_id: str, program_id: str) -> ProgramInvitation:
    """The join page of ``person_id`` for ``program_id``; :class:`NotInvited` when they have no
    role there (the page is then a 404: it does not say the program exists)."""
    with deps.uow() as uow:
        memberships = _mine(uow, person_id, program_id)
        program = uow.programs.get(program_id)
        coordinators = tuple(sorted((uow.people.get(pid).name or uow.people.get(pid).email)
                                    for pid in uow.memberships.coordinator_ids(program_id)))
        pairs = tuple(("mentor", p.mentee.name or p.mentee.email) if p.mentor_id == person_id
                      else ("mentee", p.mentor.name or p.mentor.email)
                      for p in uow.pairs.of_person(person_id) if p.program_id == program_id)
        consents = {m.consent for m in memberships}
        consent = "accepted" if "accepted" in consents else ("pending" if "pending" in consents else "declined")
        return ProgramInvitation(program_id, program.name, coordinators, pairs, consent)


def accept_program(deps: Dependencies, person_id: str, program_id: str) -> list[str]:
    """Accept every role of ``person_id`` in the program; their invited pairs there whose other
    person is set up and has accepted become ready (planning queued). Returns those pair ids."""
    now = deps.clock.now()
    with deps.uow() as uow:
        for membership in _mine(uow, person_id, program_id):
            if membership.consent != "accepted":
                membership.consent, membership.consent_at = "accepted", now
        uow.flush()
        ready = [pair.id for pair in uow.pairs.of_person(person_id, states=[PairState.INVITED])
                 if pair.program_id == program_id and make_ready_if_set_up(uow, pair, now)]
        uow.commit()
    return ready


def decline_program(deps: Dependencies, person_id: str, program_id: str) -> None:
    """Decline: the person's roles there are marked declined and their pairs there end (still
    invited ones only: nothing was ever planned for them)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        memberships = _mine(uow, person_id, program_id)
        if any(m.consent == "accepted" for m in memberships):
            raise NotInvited("You are already in this program; to stop, ask its coordinator to end your pairs.")
        for membership in memberships:
            membership.consent, membership.consent_at = "declined", now
        for pair in uow.pairs.of_person(person_id, states=[PairState.INVITED]):
            if pair.program_id == program_id:
                move_pair(pair, PairState.ENDED, "declined the invitation to this program")
        uow.commit()


class OpenedElsewhere(InvalidInput):
    """An invitation link first used in another browser."""


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def use_invitation(deps: Dependencies, token: str, browser: str) -> Invitation:
    """The confirmed use (a POST, never a GET: mail scanners open links) of an invitation link by
    ``browser`` (a random value the browser keeps in a cookie). The first use binds the link to
    that browser; a use from another browser is :class:`OpenedElsewhere` (sign in by email
    instead). Joining through one's invitation accepts its program. LinkError when the link is
    not valid."""
    invite = read_invitation(deps, token)
    if not browser:
        raise OpenedElsewhere("Your browser did not keep the invitation's cookie; allow cookies for this "
                              "site and open the link again.")
    with deps.uow() as uow:
        now = deps.clock.now()
        first = uow.used_links.use(_digest("invite", token), "invite", now)
        this_browser_before = not uow.used_links.use(_digest("invite", token, browser), "invite_browser", now)
        if not first and not this_browser_before:
            raise OpenedElsewhere("This invitation was already opened in another browser. Sign in with your "
                                  "email address on the sign-in page instead.")
        uow.commit()
    if invite.asked and not invite.onboarded:
        accept_program(deps, invite.person_id, invite.program_id)
    return invite
