"""Read models for the pair pages: plain values built inside one transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.storage.models import Occurrence, Pair, Series
from web.pairs.timeview import SessionTime, session_times

STATE_LABELS = {"invited": "Setting up", "ready": "Finding a time", "planning": "Finding a time",
                "booked": "Booked", "paused": "Paused", "ended": "Ended", "needs_attention": "Needs attention",
                "unschedulable": "No common time found"}
UPCOMING = ("scheduled", "moved", "conflict")
SESSION_LABELS = {"scheduled": "As planned", "moved": "Moved", "conflict": "Clashed", "cancelled": "Cancelled",
                  "skipped": "Skipped"}
ATTENDANCE_LABELS = {"unknown": "Not known yet", "met": "Met", "missed": "Missed", "rescheduled": "Rescheduled"}
ACTIVE_SERIES = ("planned", "booking", "booked")


@dataclass(frozen=True)
class PairSummary:
    pair_id: str
    program_name: str
    role: str
    other_name: str
    state: str
    state_label: str


def pairs_of_person(session: Session, person_id: str) -> list[PairSummary]:
    pairs = session.scalars(select(Pair).where((Pair.mentor_id == person_id) | (Pair.mentee_id == person_id))
                            .order_by(Pair.created_at))
    result = []
    for pair in pairs:
        role = "mentor" if pair.mentor_id == person_id else "mentee"
        other = pair.mentee if role == "mentor" else pair.mentor
        state = "needs_attention" if pair.status == "unschedulable" else pair.status
        result.append(PairSummary(pair.id, pair.program.name, role, other.name or other.email, state,
                                  STATE_LABELS.get(pair.status, pair.status)))
    return result


@dataclass(frozen=True)
class UpcomingSession:
    occurrence_id: str
    time: SessionTime
    status: str
    agenda: str


@dataclass(frozen=True)
class PastSession:
    when: str
    status: str
    attendance: str


@dataclass(frozen=True)
class GoalView:
    goal_id: str
    text: str
    status: str


@dataclass(frozen=True)
class PairPage:
    pair_id: str
    program_name: str
    role: str
    status: str
    status_label: str
    status_reason: str | None
    other_name: str
    other_email: str
    my_tz: str
    other_tz: str
    cadence: str
    duration_min: int
    upcoming: list[UpcomingSession]
    history: list[PastSession]
    goals: list[GoalView]
    video_url: str | None
    needs_setup: bool
    more_upcoming: int = 0  # upcoming sessions beyond the ones listed


def pair_page(session: Session, pair_id: str, viewer_id: str, now: datetime, limit: int = 6) -> PairPage:
    """What the pair page shows to ``viewer_id`` (the mentor or the mentee)."""
    pair = session.get(Pair, pair_id)
    role = "mentor" if pair.mentor_id == viewer_id else "mentee"
    me, other = (pair.mentor, pair.mentee) if role == "mentor" else (pair.mentee, pair.mentor)
    my_tz, other_tz = me.tz or "UTC", other.tz or me.tz or "UTC"
    occurrences = list(session.scalars(
        select(Occurrence).join(Series, Occurrence.series_id == Series.id)
        .where(Series.pair_id == pair_id).order_by(Occurrence.start)))
    active_series = {o.series_id for o in occurrences if o.series.status in ACTIVE_SERIES}
    all_upcoming = [o for o in occurrences if o.status in UPCOMING and o.end > now and o.series_id in active_series]
    upcoming = all_upcoming[:limit]
    times = session_times([(o.start, o.end) for o in upcoming], my_tz, other_tz, other.name or other.email)
    past = [o for o in occurrences if o.end <= now or o.status in ("skipped", "cancelled")]
    history = [PastSession(session_times([(o.start, o.end)], my_tz, other_tz, "")[0].mine,
                           SESSION_LABELS.get(o.status, o.status),
                           "—" if o.status in ("skipped", "cancelled") else ATTENDANCE_LABELS.get(o.attendance, o.attendance))
               for o in reversed(past[-20:])]
    video = next((o.series.video_url for o in upcoming if o.series.video_url), None)
    return PairPage(
        pair.id, pair.program.name, role, pair.status, STATE_LABELS.get(pair.status, pair.status), pair.status_reason,
        other.name or other.email, other.email, my_tz, other_tz, pair.cadence or pair.program.cadence,
        pair.duration_min or pair.program.duration_min,
        [UpcomingSession(o.id, t, o.status, o.agenda or "") for o, t in zip(upcoming, times)],
        history, [GoalView(g.id, g.text, g.status) for g in pair.goals], video,
        needs_setup=me.onboarded_at is None, more_upcoming=len(all_upcoming) - len(upcoming))
