"""Whether a session really took place: the attendance verdict of one occurrence, resolved from
every signal Tandem has about it (pure rules; ``now`` is a parameter).

Signals come from three places:

- **what happened in Tandem or in a calendar** (recorded when it happens, kept on the occurrence
  in ``attendance_signals``): skipped in Tandem (``skipped``, by whom), cancelled by Tandem when the
  pair was paused, ended or re-planned (``cancelled``), cancelled, deleted or declined in a
  calendar (``calendar_cancelled``, ``calendar_deleted``, ``calendar_declined``); the occurrence's
  status stands in for a cancellation recorded before these signals existed;
- **both people's follow-up answers** (``answer``: met / not_met / moved, by mentor or mentee);
- **time**: once the answer window (``Program.attendance_window_days``) has passed after a
  session that was not cancelled ended, each person who did not answer adds a ``no_answer``
  signal.

A coordinator's correction (``corrected``) overrides everything else. The rules, in order:

1. a correction decides;
2. the people's answers: "met" and "didn't meet" from the two of them is ``disputed``; any "met"
   is ``held``; else any "moved" is ``moved``; else "didn't meet" is ``cancelled`` when the
   session was cancelled (the cancellation is the reason) and ``missed`` otherwise;
3. no answer, but a cancellation (Tandem, calendar, or a decline by either person) is
   ``cancelled``, by the earliest canceller, with how much notice they gave;
4. otherwise ``unknown`` (upcoming, awaiting answers, or nobody answered within the window).

Only the fact that a session was cancelled, declined or deleted is ever used, never anything else
of anyone's calendar.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Mapping

VERDICTS = ("held", "missed", "cancelled", "moved", "disputed", "unknown")
CORRECTABLE = ("held", "missed", "cancelled", "moved", "unknown")  # what a coordinator may set
ANSWERS = ("met", "not_met", "moved")
ROLES = ("mentor", "mentee")

# Kinds of signals recorded when something happens (kept on the occurrence between resolutions).
CANCELLING = ("skipped", "cancelled", "calendar_cancelled", "calendar_deleted", "calendar_declined")
RECORDED = CANCELLING + ("corrected",)
# Kinds derived at each resolution (never stored as facts: recomputed from their sources).
DERIVED = ("answer", "no_answer", "status")
KINDS = RECORDED + DERIVED

DEFAULT_WINDOW_DAYS = 3
MAX_WINDOW_DAYS = 30
LATE_NOTICE = timedelta(hours=24)  # a cancellation with less notice than this is "late"

# Values the ``attendance`` column held before verdicts (migration 0004 rewrites them).
LEGACY = {"met": "held", "missed": "missed", "rescheduled": "moved", "unknown": "unknown"}


def verdict_of(stored: str | None) -> str:
    """A stored ``attendance`` value as a verdict (old values are mapped; anything else is unknown)."""
    if stored in VERDICTS:
        return stored
    return LEGACY.get(stored or "", "unknown")


@dataclass(frozen=True)
class Signal:
    """One piece of evidence. ``by`` is a role (mentor, mentee, coordinator) or None when nobody
    in particular (Tandem, a calendar) or not recorded; ``detail`` is the answer, the corrected
    verdict, the status, or the window in days."""

    kind: str
    at: datetime | None = None
    by: str | None = None
    detail: str | None = None

    def to_json(self) -> dict:
        return {"kind": self.kind, "at": self.at.isoformat() if self.at else None, "by": self.by,
                "detail": self.detail}

    @classmethod
    def from_json(cls, data: Mapping) -> "Signal":
        at = data.get("at")
        return cls(str(data.get("kind", "")), datetime.fromisoformat(at) if at else None, data.get("by"),
                   data.get("detail"))


@dataclass(frozen=True)
class Answer:
    answer: str  # one of ANSWERS
    at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """The verdict and the signals beside it (the deciding ones first)."""

    verdict: str
    signals: tuple[Signal, ...]
    cancelled_by: str | None = None  # for ``cancelled``: the role that cancelled (None: Tandem/unknown)
    notice: timedelta | None = None  # for ``cancelled``: how long before the start (negative: after)
    corrected: bool = False

    @property
    def late(self) -> bool:
        """A cancellation with less than :data:`LATE_NOTICE` (or of unknown timing: not late)."""
        return self.notice is not None and self.notice < LATE_NOTICE

    def to_json(self) -> list[dict]:
        return [s.to_json() for s in self.signals]


def recorded_signals(stored: Iterable[Mapping] | None) -> list[Signal]:
    """The facts among stored signals (derived ones are recomputed at each resolution)."""
    return [s for s in (Signal.from_json(d) for d in (stored or ())) if s.kind in RECORDED]


def resolve(*, status: str, start: datetime, end: datetime, now: datetime, window: timedelta,
            answers: Mapping[str, Answer] | None = None, recorded: Iterable[Signal] = ()) -> Verdict:
    """The verdict of one occurrence from every signal (see the module's rules).

    ``status`` is the occurrence's status (scheduled, moved, conflict, skipped, cancelled);
    ``answers`` maps a role (mentor, mentee) to its answer; ``recorded`` are the facts kept on
    the occurrence (cancellations, declines, a correction)."""
    answers = {role: a for role, a in (answers or {}).items() if role in ROLES and a.answer in ANSWERS}
    recorded = list(recorded)
    corrections = [s for s in recorded if s.kind == "corrected"]
    cancels = sorted((s for s in recorded if s.kind in CANCELLING),
                     key=lambda s: (s.at is None, s.at or start))
    if status in ("skipped", "cancelled") and not cancels:
        cancels.append(Signal("status", None, None, status))  # cancelled before signals were recorded
    answer_signals = [Signal("answer", answers[r].at, r, answers[r].answer) for r in ROLES if r in answers]
    silent = []
    if now >= end + window and not cancels:  # nobody is asked about a cancelled session
        days = str(round(window / timedelta(days=1)))
        silent = [Signal("no_answer", end + window, r, days) for r in ROLES if r not in answers]
    other = []
    if status == "conflict":
        other.append(Signal("status", None, None, "conflict"))

    given = {a.answer for a in answers.values()}
    cancelled_by = notice = None
    if "met" in given and "not_met" in given:
        verdict = "disputed"
    elif "met" in given:
        verdict = "held"
    elif "moved" in given:
        verdict = "moved"
    elif "not_met" in given:
        verdict = "cancelled" if cancels else "missed"
    elif cancels:
        verdict = "cancelled"
    else:
        verdict = "unknown"
    if verdict == "cancelled":
        first = cancels[0]
        cancelled_by = first.by
        notice = (start - first.at) if first.at is not None else None

    if verdict in ("held", "moved", "missed", "disputed"):
        signals = answer_signals + cancels + other + silent
    else:
        signals = cancels + answer_signals + other + silent
    if corrections:
        last = corrections[-1]
        return Verdict(last.detail if last.detail in VERDICTS else "unknown", (last, *signals), corrected=True)
    return Verdict(verdict, tuple(signals), cancelled_by, notice)


def check_correction(verdict: str) -> str:
    """The verdict a coordinator chose, or ValueError saying which ones there are."""
    if verdict not in CORRECTABLE:
        raise ValueError(f"choose one of: {', '.join(CORRECTABLE)}")
    return verdict
