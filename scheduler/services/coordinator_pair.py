"""The coordinator's pair page: one pair's timeline as the program's coordinators may see it.

Each session with its attendance verdict and the signals beside it, what changed (moved,
skipped, cancelled, by whom when known), the ratings the two people gave — and never their
notes, the agenda text, or anything of anyone's calendar beyond "cancelled/declined/deleted".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.core import attendance as rules
from scheduler.core.attendance import Signal
from scheduler.core.pair_state import PAUSABLE, PairState
from scheduler.core.timeview import local_when
from scheduler.errors import NotFound
from scheduler.ports import Dependencies
from scheduler.services.attendance import role_in, window_of

PAIR_STATES = {"invited": "Setting up", "ready": "Finding a time", "planning": "Finding a time",
               "booked": "Booked", "paused": "Paused", "ended": "Ended", "needs_attention": "Needs attention",
               "unschedulable": "No common time found"}
VERDICT_LABELS = {"held": "Held", "missed": "Missed", "cancelled": "Cancelled", "moved": "Moved elsewhere",
                  "disputed": "They disagree", "unknown": "Not known yet"}
CORRECTION_CHOICES = tuple((v, VERDICT_LABELS[v]) for v in rules.CORRECTABLE)
SESSION_LABELS = {"scheduled": "As planned", "moved": "Moved in Tandem", "conflict": "Clashed", "cancelled": "Cancelled",
                  "skipped": "Skipped"}
ANSWER_WORDS = {"met": "we met", "not_met": "we didn't meet", "moved": "we moved it"}
CANCEL_WHY = {"paused": "the pair was paused", "ended": "the pair ended", "replanned": "the pair was planned again",
              "mentor_changed": "the mentor changed", "removed": "the pair was removed from the program"}


@dataclass(frozen=True)
class TimelineSession:
    occurrence_id: str
    when: str  # in the reader's zone
    moved_from: str | None  # the original time, when Tandem moved it
    status: str
    status_label: str
    verdict: str
    verdict_label: str
    signals: tuple[str, ...]  # each signal in plain words
    ratings: tuple[tuple[str, int], ...]  # (role, 1..5)
    note: str | None  # the coordinator's correction note
    corrected_by: str | None
    past: bool  # started: may be corrected


@dataclass(frozen=True)
class TimelineChange:
    """Something that happened to the pair (paused, ended, mentor changed…), in plain words."""

    at: datetime
    when: str  # in the reader's zone
    kind: str
    text: str
    other_pair_id: str | None  # the pair before or after a change of mentor


@dataclass(frozen=True)
class MentorChoice:
    person_id: str
    name: str
    email: str


@dataclass(frozen=True)
class CoordinatorPairPage:
    program_id: str
    program_name: str
    pair_id: str
    mentor_name: str
    mentor_email: str
    mentee_name: str
    mentee_email: str
    state: str
    state_label: str
    state_reason: str | None
    window_days: int
    tz: str
    sessions: tuple[TimelineSession, ...]  # newest first
    counts: dict  # verdict -> how many past sessions
    changes: tuple[TimelineChange, ...] = ()  # newest first
    actions: frozenset[str] = frozenset()  # what a coordinator can do now (see ``actions_for``)
    other_mentors: tuple[MentorChoice, ...] = ()  # the program's other mentors, for "change mentor"


CHANGE_WORDS = {"paused": "Paused", "resumed": "Resumed", "ended": "Ended", "replanned": "Planned again",
                "removed": "Removed from the program"}


def actions_for(status: str) -> frozenset[str]:
    """The coordinator's actions that make sense in this pair state (the use cases check again)."""
    actions = {"remove"}
    if status != PairState.ENDED:
        actions |= {"end", "change-mentor"}
    if status in (PairState.BOOKED, PairState.NEEDS_ATTENTION, PairState.UNSCHEDULABLE):
        actions.add("plan-again")
    if status in PAUSABLE:
        actions.add("pause")
    if status == PairState.PAUSED:
        actions.add("resume")
    return frozenset(actions)


def describe_change(entry: dict, names: dict[str, str]) -> str:
    """One history entry in plain words (``names``: person id -> name)."""
    kind, by = entry.get("kind", ""), entry.get("by")
    who = f" by {names.get(by, 'a former coordinator')}" if by else ""
    if kind == "mentor_changed":
        return f"Mentor changed to {entry.get('mentor_name', 'another mentor')}{who}; this pair ended"
    if kind == "mentor_took_over":
        return f"Took over from {entry.get('mentor_name', 'the previous mentor')} as mentor{who}"
    return f"{CHANGE_WORDS.get(kind, kind)}{who}"


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 0:
        return "after it started"
    if hours < 48:
        return f"{int(hours)} hour{'s' if int(hours) != 1 else ''} before"
    return f"{int(hours // 24)} days before"


def describe(signal: Signal, start: datetime, names: dict[str, str]) -> str:
    """One signal in plain words (``names``: role -> name)."""
    who = names.get(signal.by or "", None)
    notice = f", {_ago(start - signal.at)}" if signal.at is not None else ""
    if signal.kind == "answer":
        return f"{who or 'Someone'} answered “{ANSWER_WORDS.get(signal.detail or '', signal.detail)}”"
    if signal.kind == "no_answer":
        return f"No answer from {who or 'someone'} within {signal.detail} days"
    if signal.kind == "skipped":
        return f"Skipped in Tandem by {who or 'one of them'}{notice}"
    if signal.kind == "cancelled":
        return f"Cancelled by Tandem: {CANCEL_WHY.get(signal.detail or '', 'the series ended')}{notice}"
    if signal.kind == "calendar_cancelled":
        return f"Cancelled in a calendar{notice}"
    if signal.kind == "calendar_deleted":
        return f"Deleted from a calendar{notice}"
    if signal.kind == "calendar_declined":
        return f"Declined in a calendar by {who or 'one of them'}{notice}"
    if signal.kind == "corrected":
        return f"Corrected by a coordinator to “{VERDICT_LABELS.get(signal.detail or '', signal.detail)}”"
    if signal.kind == "status":
        return {"conflict": "Tandem could not keep this time (a clash)",
                "skipped": "Skipped (who skipped it was not recorded)",
                "cancelled": "Cancelled (who cancelled it was not recorded)"}.get(signal.detail or "", signal.detail or "")
    return signal.kind


def coordinator_pair_page(deps: Dependencies, program_id: str, pair_id: str, viewer_tz: str | None
                          ) -> CoordinatorPairPage:
    """The pair's timeline for a coordinator of ``program_id`` (the caller checked that role);
    NotFound when the pair is not in that program."""
    now = deps.clock.now()
    tz = viewer_tz or "UTC"
    with deps.uow() as uow:
        pair = uow.pairs.get(pair_id)
        if pair is None or pair.program_id != program_id:
            raise NotFound("This pair is not in this program (any more).")
        occurrences = uow.occurrences.of_pair(pair_id)
        feedback = uow.feedback.of_occurrences([o.id for o in occurrences])
        mentor, mentee = pair.mentor, pair.mentee
        names = {"mentor": f"{mentor.name or mentor.email} (mentor)", "mentee": f"{mentee.name or mentee.email} (mentee)",
                 "coordinator": "a coordinator"}
        correctors = {p.id: p.name or p.email for p in uow.people.get_many(
            {o.attendance_set_by for o in occurrences if o.attendance_set_by})}
        ratings: dict[str, list[tuple[str, int]]] = {}
        for row in feedback:
            role = role_in(pair, row.person_id)
            if row.rating is not None and role in rules.ROLES:
                ratings.setdefault(row.occurrence_id, []).append((role, row.rating))
        sessions = []
        for o in reversed(occurrences):
            verdict = rules.verdict_of(o.attendance_verdict)
            signals = [Signal.from_json(s) for s in (o.attendance_signals or [])]
            sessions.append(TimelineSession(
                o.id, local_when(o.start, tz),
                local_when(o.original_start, tz) if o.status == "moved" and o.original_start != o.start else None,
                o.status, SESSION_LABELS.get(o.status, o.status), verdict, VERDICT_LABELS[verdict],
                tuple(describe(s, o.start, names) for s in signals),
                tuple(sorted(ratings.get(o.id, []))), o.attendance_note,
                correctors.get(o.attendance_set_by, "a former coordinator") if o.attendance_set_by else None,
                o.start <= now))
        counts: dict[str, int] = {}
        for s in sessions:
            if s.past:
                counts[s.verdict] = counts.get(s.verdict, 0) + 1
        history = pair.history or []
        mentor_ids = [pid for pid, roles in uow.memberships.roles_in(program_id).items()
                      if "mentor" in roles and pid not in (pair.mentor_id, pair.mentee_id)]
        people = {p.id: p for p in uow.people.get_many({e["by"] for e in history if e.get("by")} | set(mentor_ids))}
        people_names = {pid: p.name or p.email for pid, p in people.items()}
        changes = tuple(TimelineChange(at, local_when(at, tz), e.get("kind", ""), describe_change(e, people_names),
                                       e.get("other_pair"))
                        for e in reversed(history) for at in (datetime.fromisoformat(e["at"]),))
        mentors = tuple(sorted((MentorChoice(pid, people_names[pid], people[pid].email) for pid in mentor_ids),
                               key=lambda c: (c.name.lower(), c.email)))
        return CoordinatorPairPage(
            program_id, pair.program.name, pair.id, mentor.name or mentor.email, mentor.email,
            mentee.name or mentee.email, mentee.email, pair.status, PAIR_STATES.get(pair.status, pair.status),
            pair.status_reason, window_of(pair).days, tz, tuple(sessions), counts, changes,
            actions_for(pair.status), mentors)
