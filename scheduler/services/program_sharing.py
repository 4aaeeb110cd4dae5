"""A program's choice of how a full mentor's weekly cap is shared (issue 12): ``fair`` rotates
the mentor's weeks among the mentees, ``first_come`` lets the pairs planned first keep every
session. The booking pipeline reads it when it plans a mentor's ready pairs
(:mod:`scheduler.services.planning`); series already booked keep their sessions."""
from __future__ import annotations

from scheduler.core.plan_model import Sharing
from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies
from scheduler.services.programs import _program

SHARING_CHOICES = (
    (Sharing.FAIR.value, "Take turns (fair)",
     "When a mentor's pairs want more sessions a week than the cap allows, the mentor's weeks rotate so "
     "every mentee gets about the same share of sessions."),
    (Sharing.FIRST_COME.value, "First come, first served",
     "The pairs planned first keep every session; pairs planned later get the weeks left over, possibly none."),
)


def parse_sharing(text: object) -> Sharing:
    """The :class:`Sharing` named by ``text``, or :class:`InvalidInput` naming the choices."""
    try:
        return Sharing(text)
    except ValueError:
        choices = " or ".join(f"'{value}'" for value, _, _ in SHARING_CHOICES)
        raise InvalidInput(f"sharing {text!r} is not a choice; pick {choices}.") from None


def set_sharing(deps: Dependencies, program_id: str, sharing: str) -> Sharing:
    """Change how the program shares a full mentor; applies to every planning from now on (series
    already booked keep their sessions). Raises :class:`InvalidInput` for an unknown choice and
    :class:`scheduler.services.programs.UnknownProgram` for an unknown program."""
    choice = parse_sharing(sharing)
    with deps.uow() as uow:
        _program(uow, program_id).sharing = choice.value
        uow.commit()
    return choice


def sharing_label(sharing: str) -> str:
    """The words the program page uses for a choice."""
    return next((label for value, label, _ in SHARING_CHOICES if value == sharing), sharing)
