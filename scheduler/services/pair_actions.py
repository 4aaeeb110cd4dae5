"""What a coordinator can do to one pair from its page: plan again now, pause, resume, end,
change the mentor, remove it from the program.

Each use case checks the role itself (a coordinator of the pair's program, or an administrator:
:class:`NotAllowed` otherwise), changes the pair in one transaction, keeps the change in the
pair's history (its timeline) and emails both people, worded for them ("your coordinator Ada
paused…"). Calendar work goes through the outbox as for the people's own changes.

Changing the mentor ends this pair (its future sessions are cancelled, with a notice) and
creates a new pair of the mentee with the new mentor, planned as soon as both are set up: the
sessions already held stay with the mentor who held them (reports, recognition). Removing a pair
ends it at once and deletes it once its calendars and emails are done (the ``remove_pair``
outbox row; its sessions leave the program's reports).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from scheduler.core.entities import Pair
from scheduler.core.pair_state import PAUSABLE, PairState, move_pair
from scheduler.errors import InvalidInput, NotFound
from scheduler.ports import Dependencies, UnitOfWork
from scheduler.services import lifecycle
from scheduler.services.attendance import NotAllowed, may_coordinate
from scheduler.services.notifications import add_notification, cancel_pair_notifications, notify_pair
from scheduler.services.onboarding import make_ready_if_set_up, queue_planning
from scheduler.services.pair_history import note
from scheduler.services.replanning import replan_pair, replan_waiting

REMOVE_RETRY = timedelta(minutes=5)  # a removal waits this long for calendar work and emails in flight


@dataclass(frozen=True)
class ActionResult:
    message: str  # what happened, for the coordinator
    pair_id: str | None  # the page to show next (None: the pair is gone, show the program)


def _pair_for(uow: UnitOfWork, program_id: str, pair_id: str, by: str) -> Pair:
    if not may_coordinate(uow, by, program_id):
        raise NotAllowed("Only the program's coordinators (or an administrator) can change its pairs.")
    pair = uow.pairs.get(pair_id, lock=True)
    if pair is None or pair.program_id != program_id:
        raise NotFound("This pair is not in this program (any more).")
    return pair


def _names(pair: Pair) -> str:
    return f"{pair.mentor.name or pair.mentor.email} & {pair.mentee.name or pair.mentee.email}"


def _not_ended(pair: Pair) -> None:
    if pair.status == PairState.ENDED:
        raise InvalidInput("This pair has ended: there is nothing left to change. Import the two people again "
                           "to start a new pair.")


def plan_again(deps: Dependencies, program_id: str, pair_id: str, by: str) -> ActionResult:
    """Plan the pair again now: a booked pair's future sessions are cancelled and a new regular
    time is looked for; a pair with no common time is tried again."""
    now = deps.clock.now()
    with deps.uow() as uow:
        pair = _pair_for(uow, program_id, pair_id, by)
        _not_ended(pair)
        if pair.status == PairState.INVITED:
            raise InvalidInput("Tandem plans a pair once both people have set up: send them a reminder "
                               "from the program page.")
        if pair.status == PairState.PAUSED:
            raise InvalidInput("The pair is paused: resume it, and Tandem plans it again.")
        if pair.status in (PairState.READY, PairState.PLANNING):
            return ActionResult("Tandem is planning this pair already; the times come by email.", pair.id)
        if pair.status == PairState.UNSCHEDULABLE:
            if not replan_pair(uow, pair, now, "a coordinator asked"):
                raise InvalidInput("Tandem can plan again once both have set their hours and no calendar needs "
                                   "reconnecting.")
        else:  # booked or needs attention: a fresh series from now
            for series in uow.series.active_of_pair(pair.id):
                lifecycle.end_series_in(uow, series, now, "replanned")
            cancel_pair_notifications(uow, pair.id)
            move_pair(pair, PairState.READY)
            queue_planning(uow, pair.id, now)
        note(pair, now, "replanned", by)
        notify_pair(uow, pair, "replanning", now, key=f"replanning:{pair.id}:{now:%Y%m%dT%H%M%S}",
                    payload={"by": by})
        uow.commit()
    return ActionResult("Tandem is planning this pair again; both get the new times by email.", pair_id)


def pause(deps: Dependencies, program_id: str, pair_id: str, by: str) -> ActionResult:
    now = deps.clock.now()
    with deps.uow() as uow:
        pair = _pair_for(uow, program_id, pair_id, by)
        _not_ended(pair)
        if pair.status not in PAUSABLE:
            raise InvalidInput("Only a pair with sessions booked (or being booked) can be paused.")
        lifecycle.pause_in(uow, pair, now, by)
        uow.commit()
    return ActionResult("The pair is paused: its upcoming sessions come off both calendars, and both are told, "
                        "in a minute. Resume it here when they are ready: the sessions still to come come back "
                        "as they were.", pair_id)


def resume(deps: Dependencies, program_id: str, pair_id: str, by: str) -> ActionResult:
    now = deps.clock.now()
    with deps.uow() as uow:
        pair = _pair_for(uow, program_id, pair_id, by)
        if pair.status != PairState.PAUSED:
            raise InvalidInput("Only a paused pair can be resumed.")
        back = lifecycle.resume_in(deps, uow, pair, now, by, tell=True)
        uow.commit()
    if back:
        return ActionResult(f"The pair is resumed: its {back} paused session{'s' if back != 1 else ''} still to come "
                            "are back on both calendars as they were, and both are told.", pair_id)
    return ActionResult("The pair is resumed: Tandem is finding a regular time for its remaining sessions.", pair_id)


def end(deps: Dependencies, program_id: str, pair_id: str, by: str) -> ActionResult:
    now = deps.clock.now()
    with deps.uow() as uow:
        pair = _pair_for(uow, program_id, pair_id, by)
        _not_ended(pair)
        lifecycle.end_in(uow, pair, now, by)
        uow.commit()
    return ActionResult("The pair has ended: its remaining sessions are off both calendars, and both are told.",
                        pair_id)


def change_mentor(deps: Dependencies, program_id: str, pair_id: str, new_mentor_id: str, by: str) -> ActionResult:
    """End this pair (future sessions cancelled, with a notice) and pair the mentee with another
    mentor of the program, planned as soon as both are set up."""
    now = deps.clock.now()
    with deps.uow() as uow:
        pair = _pair_for(uow, program_id, pair_id, by)
        _not_ended(pair)
        if not new_mentor_id:
            raise InvalidInput("Choose the new mentor in the list.")
        if new_mentor_id in (pair.mentor_id, pair.mentee_id):
            raise InvalidInput("Choose another mentor than this pair's two people.")
        if "mentor" not in uow.memberships.roles_in(program_id).get(new_mentor_id, set()):
            raise InvalidInput("That person is not a mentor of this program: import them as a mentor first.")
        mentee = pair.mentee
        for other in uow.pairs.of_person(mentee.id):
            if other.program_id == program_id and other.mentor_id == new_mentor_id:
                raise InvalidInput("These two were a pair in this program already; the program keeps one pair per "
                                   "mentor and mentee.")
        new_mentor = uow.people.get(new_mentor_id)
        old_name, new_name = pair.mentor.name or pair.mentor.email, new_mentor.name or new_mentor.email
        successor = uow.pairs.add(Pair(program_id=program_id, mentor_id=new_mentor.id, mentee_id=mentee.id,
                                       status=PairState.INVITED.value, cadence=pair.cadence,
                                       duration_min=pair.duration_min, organizer_role=pair.organizer_role))
        uow.flush()
        lifecycle.end_in(uow, pair, now, by, why="mentor_changed", reason=f"the mentor changed to {new_name}",
                         tell=None, history=False)
        note(pair, now, "mentor_changed", by, other_pair=successor.id, mentor_name=new_name)
        note(successor, now, "mentor_took_over", by, other_pair=pair.id, mentor_name=old_name)
        ready = make_ready_if_set_up(uow, successor, now)
        add_notification(uow, kind="mentor_released", person_id=pair.mentor_id, due_at=now, pair_id=pair.id,
                         key=f"mentor_released:{pair.id}", payload={"by": by, "detail": new_name})
        add_notification(uow, kind="mentor_changed", person_id=mentee.id, due_at=now, pair_id=successor.id,
                         key=f"mentor_changed:{successor.id}", payload={"by": by, "detail": old_name})
        if ready:  # set up already: they hear from Tandem now (else the program's invitation tells them)
            add_notification(uow, kind="mentor_assigned", person_id=new_mentor.id, due_at=now,
                             pair_id=successor.id, key=f"mentor_assigned:{successor.id}", payload={"by": by})
        uow.commit()
        later = ("Tandem is finding a time for them." if ready else
                 f"{new_name} has not set up yet: send the invitations from the program page.")
        return ActionResult(f"{new_name} is {mentee.name or mentee.email}'s mentor now. The sessions with {old_name} "
                            f"are cancelled and all three are told. {later}", successor.id)


def remove(deps: Dependencies, program_id: str, pair_id: str, by: str) -> ActionResult:
    """Take the pair out of the program: it ends at once (sessions cancelled, both told) and is
    deleted, with its sessions and their attendance, once the calendars are cleaned up."""
    now = deps.clock.now()
    with deps.uow() as uow:
        pair = _pair_for(uow, program_id, pair_id, by)
        names, program_name = _names(pair), pair.program.name
        if pair.status != PairState.ENDED:
            lifecycle.end_in(uow, pair, now, by, why="removed", reason="removed from the program", tell=None)
        else:
            note(pair, now, "removed", by)
        for person, other in ((pair.mentor, pair.mentee), (pair.mentee, pair.mentor)):
            # No pair_id: the email outlives the pair it is about.
            add_notification(uow, kind="pair_removed", person_id=person.id, due_at=now,
                             key=f"pair_removed:{pair.id}:{person.id}",
                             payload={"by": by, "other_name": other.name or other.email,
                                      "detail": program_name})
        uow.outbox.add_once("remove_pair", pair.id, f"remove_pair:{pair.id}:1", now)
        uow.commit()
    return ActionResult(f"{names} are removed from the program: their remaining sessions are off both calendars, "
                        f"and both are told.", None)


def delete_removed_pair(deps: Dependencies, pair_id: str) -> bool:
    """The ``remove_pair`` actor: delete a removed pair once no calendar work or email about it
    is still to run (else look again in a few minutes). True when it was deleted."""
    now = deps.clock.now()
    with deps.uow() as uow:
        pair = uow.pairs.get(pair_id, lock=True)
        if pair is None:
            return False
        if not any(entry.get("kind") == "removed" for entry in pair.history or []):
            return False  # never removed: nothing to do
        series_ids = [s.id for s in pair.series]
        if uow.outbox.count_unfinished_for(series_ids) or uow.notifications.count_pending_of_pair(pair_id):
            prefix = f"remove_pair:{pair_id}:"
            uow.outbox.add_once("remove_pair", pair_id, f"{prefix}{uow.outbox.count_with_key_prefix(prefix) + 1}",
                                now + REMOVE_RETRY)
            uow.commit()
            return False
        people = [pair.mentor_id, pair.mentee_id]
        for series in list(pair.series):
            for occ in list(series.occurrences):
                uow.occurrences.delete(occ)
            uow.series.delete(series)
        for goal in list(pair.goals):
            uow.goals.delete(goal)
        uow.flush()
        uow.pairs.delete(pair)
        uow.flush()
        replan_waiting(uow, people, now, "a slot was freed (pair removed)")
        uow.commit()
    return True

