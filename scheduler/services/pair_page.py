"""Read models for the pair pages (and the home page's list of pairs): plain values built inside
one transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.core.entities import Occurrence, Pair
from scheduler.core.pair_state import ACTIVE_SERIES, PAUSABLE, PairState, taken_off_by_pause
from scheduler.core.reasons import for_person, reason_code
from scheduler.core.timeview import SessionTime, local_day, session_times
from scheduler.errors import InvalidInput, NotFound
from scheduler.ports import Dependencies
from scheduler.services.lifecycle import recent_pause, recent_skip
from scheduler.services.pair_sessions import move_options, upcoming_occurrence

STATE_LABELS = {"invited": "Setting up", "ready": "Finding a time", "planning": "Finding a time",
                "booked": "Booked", "paused": "Paused", "ended": "Ended", "needs_attention": "Needs attention",
                "unschedulable": "No common time found"}
UPCOMING = ("scheduled", "moved", "conflict")
SESSION_LABELS = {"scheduled": "As planned", "moved": "Moved", "conflict": "Clashed", "cancelled": "Cancelled",
                  "skipped": "Skipped"}
ATTENDANCE_LABELS = {"unknown": "Not known yet", "met": "Met", "missed": "Missed", "rescheduled": "Rescheduled"}


@dataclass(frozen=True)
class PairSummary:
    pair_id: str
    program_name: str
    role: str
    other_name: str
    state: str
    state_label: str


def pairs_of_person(deps: Dependencies, person_id: str) -> list[PairSummary]:
    """The person's pairs (as mentor or mentee), oldest first."""
    with deps.uow() as uow:
        return [summarise_pair(pair, person_id) for pair in uow.pairs.of_person(person_id)]


def summarise_pair(pair: Pair, person_id: str) -> PairSummary:
    """One of the person's pairs as their home page lists it."""
    role = "mentor" if pair.mentor_id == person_id else "mentee"
    other = pair.mentee if role == "mentor" else pair.mentor
    state = "needs_attention" if pair.status == "unschedulable" else pair.status
    return PairSummary(pair.id, pair.program.name, role, other.name or other.email, state,
                       STATE_LABELS.get(pair.status, pair.status))


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
    reviewed: str | None = None  # "Tue 2 Mar": when the pair last reviewed it or changed its status


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
    # The reason worded for this person (``status_reason`` is the coordinator's diagnosis, kept
    # for them): what they can do, and the pages to do it on ("hours", "calendars").
    reason_for_you: str | None = None
    reason_links: tuple[str, ...] = ()
    may_try_again: bool = False  # "Try again" (unschedulable pairs)
    on_hold: int = 0  # sessions a pause took off that resuming puts back
    on_hold_from: str | None = None  # the first of them, in the viewer's time
    undo_skips: tuple[tuple[str, str], ...] = ()  # (occurrence id, when) skipped within the undo window
    undo_pause: bool = False  # paused within the undo window: "Undo" resumes at once


def pair_page(deps: Dependencies, pair_id: str, viewer_id: str, limit: int = 6) -> PairPage:
    """What the pair page shows to ``viewer_id`` (the mentor or the mentee) now."""
    now = deps.clock.now()
    with deps.uow() as uow:
        pair = uow.pairs.get(pair_id)
        if pair is None:
            raise NotFound("This pair no longer exists.")
        occurrences = uow.occurrences.of_pair(pair_id)
        return _page(pair, occurrences, viewer_id, now, limit)


def _page(pair: Pair, occurrences: list[Occurrence], viewer_id: str, now: datetime, limit: int) -> PairPage:
    role = "mentor" if pair.mentor_id == viewer_id else "mentee"
    me, other = (pair.mentor, pair.mentee) if role == "mentor" else (pair.mentee, pair.mentor)
    my_tz, other_tz = me.tz or "UTC", other.tz or me.tz or "UTC"
    active_series = {o.series_id for o in occurrences if o.series.status in ACTIVE_SERIES}
    all_upcoming = [o for o in occurrences if o.status in UPCOMING and o.end > now and o.series_id in active_series]
    upcoming = all_upcoming[:limit]
    times = session_times([(o.start, o.end) for o in upcoming], my_tz, other_tz, other.name or other.email)
    on_hold = [o for o in occurrences if o.end > now and taken_off_by_pause(o.status, o.attendance_signals)]
    past = [o for o in occurrences if o.end <= now or (o.status in ("skipped", "cancelled") and o not in on_hold)]
    history = [PastSession(session_times([(o.start, o.end)], my_tz, other_tz, "")[0].mine,
                           "Paused" if taken_off_by_pause(o.status, o.attendance_signals)
                           else SESSION_LABELS.get(o.status, o.status),
                           "—" if o.status in ("skipped", "cancelled") else ATTENDANCE_LABELS.get(o.attendance, o.attendance))
               for o in reversed(past[-20:])]
    video = next((o.series.video_url for o in upcoming if o.series.video_url), None)
    worded = for_person(reason_code(pair.status_reason), role, other.name or other.email)
    return PairPage(
        pair.id, pair.program.name, role, pair.status, STATE_LABELS.get(pair.status, pair.status), pair.status_reason,
        other.name or other.email, other.email, my_tz, other_tz, pair.cadence or pair.program.cadence,
        pair.duration_min or pair.program.duration_min,
        [UpcomingSession(o.id, t, o.status, o.agenda or "") for o, t in zip(upcoming, times)],
        history, [GoalView(g.id, g.text, g.status, local_day(g.reviewed_at, my_tz) if g.reviewed_at else None)
                  for g in pair.goals], video,
        needs_setup=me.onboarded_at is None, more_upcoming=len(all_upcoming) - len(upcoming),
        reason_for_you=worded[0] if worded else None, reason_links=worded[1] if worded else (),
        may_try_again=pair.status == PairState.UNSCHEDULABLE,
        undo_skips=tuple((o.id, session_times([(o.start, o.end)], my_tz, other_tz, "")[0].mine)
                         for o in occurrences if recent_skip(o, now)),
        undo_pause=pair.status == PairState.PAUSED and any(recent_pause(o, now) for o in on_hold),
        on_hold=len(on_hold) if pair.status == PairState.PAUSED else 0,
        on_hold_from=session_times([(on_hold[0].start, on_hold[0].end)], my_tz, other_tz, "")[0].mine
        if on_hold and pair.status == PairState.PAUSED else None)


@dataclass(frozen=True)
class MoveChoices:
    """The page for moving one session: the pair page, and each free start with how it reads."""

    page: PairPage
    occurrence_id: str
    choices: list[tuple[datetime, SessionTime]]


def move_choices(deps: Dependencies, pair_id: str, occurrence_id: str, viewer_id: str) -> MoveChoices:
    """The mutual free times the session could move to, in both people's zones. Raises
    ``InvalidInput``/``NotFound`` for a session that cannot move, ``ProviderError`` subclasses
    when a calendar cannot be read."""
    options = move_options(deps, pair_id, occurrence_id)
    page = pair_page(deps, pair_id, viewer_id)
    times = session_times([(o, o + timedelta(minutes=page.duration_min)) for o in options], page.my_tz,
                          page.other_tz, page.other_name)
    return MoveChoices(page, occurrence_id, list(zip(options, times)))


@dataclass(frozen=True)
class Confirmation:
    """What a confirmation page says before a change that takes sessions off the calendars."""

    page: PairPage
    sessions: list[str]  # the sessions it affects, in the viewer's time


def confirm_skip(deps: Dependencies, pair_id: str, occurrence_id: str, viewer_id: str) -> Confirmation:
    """The session a skip would take off (``InvalidInput``/``NotFound`` when it cannot be skipped)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        occ = upcoming_occurrence(uow, occurrence_id, pair_id, now)
        start, end = occ.start, occ.end
    page = pair_page(deps, pair_id, viewer_id)
    return Confirmation(page, [session_times([(start, end)], page.my_tz, page.other_tz, page.other_name)[0].mine])


def confirm_pause(deps: Dependencies, pair_id: str, viewer_id: str) -> Confirmation:
    """The upcoming sessions a pause would take off (all of them; resuming puts back those still to come)."""
    page = pair_page(deps, pair_id, viewer_id, limit=1000)
    if page.status not in PAUSABLE:
        raise InvalidInput("Only a pair with booked sessions can be paused.")
    return Confirmation(page, [s.time.mine for s in page.upcoming])
