"""Plan ready pairs: read calendars, pick recurring slots, store the series, queue booking.

A mentor's ready pairs are planned together as one cohort (the planner shares good slots
fairly and never overlaps a mentor's sessions), so concurrent deliveries for sibling pairs do
not race for the same slot: the first run plans the whole group, the others find their pair no
longer ``ready``. What can still race (a mentee with two mentors, sessions stored meanwhile) is
caught under row locks when storing, and the run is retried with fresh data.
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from scheduler.core.agenda import agenda_for_session
from scheduler.core.cadence import Cadence, horizon_days_needed
from scheduler.core import reasons
from scheduler.core.cohort import MIN_HELD_SHARE, plan_cohort
from scheduler.core.default_agendas import DEFAULT_AGENDAS
from scheduler.core.entities import Occurrence, Pair, Program, Series
from scheduler.core.intervals import Interval
from scheduler.core.pair_state import PairState, move_pair
from scheduler.core.plan_model import Horizon, PairPlan, PairRequest, PairStatus, PlannedOccurrence, Sharing
from scheduler.errors import InvalidInput, ProviderUnavailable
from scheduler.ports import Dependencies, UnitOfWork
from scheduler.services.availability import (PersonSnapshot, availability, read_calendar_busy, snapshot,
                                             tandem_sessions)
from scheduler.services.notifications import notify_coordinators
from scheduler.services import webhook_events

log = logging.getLogger(__name__)
LEAD_TIME = timedelta(days=1)  # the first session is never sooner than this


class PlanRace(ProviderUnavailable):
    """Sessions of the same person were stored while this plan was being made, and the two
    would now overlap (or exceed the mentor's cap): plan again with fresh data, soon."""

    def __init__(self, message: str):
        super().__init__(message)
        self.retry_after = random.uniform(0.5, 2.0)


class GroupBeingPlanned(PlanRace):
    """Another run is planning this mentor's group right now (it took its work first) and plans
    this pair with it: look again shortly, by which time the pair is planned, so its calendars
    are not read twice."""

    routine = True

    def __init__(self, message: str, running_for: timedelta = timedelta(0)):
        super().__init__(message)
        # as long again as the group's run has taken so far (2 to 30 s, with jitter): a slow run
        # (waiting out a provider's Retry-After) is not polled often enough to use up the attempts
        self.retry_after = min(30.0, max(2.0, running_for.total_seconds())) * random.uniform(1.0, 1.5)


@dataclass(frozen=True)
class _Request:
    pair_id: str
    mentee: PersonSnapshot
    cadence: Cadence
    duration: int
    count: int


def plan_mentor_group(deps: Dependencies, pair_id: str) -> list[PairPlan]:
    """Plan ``pair_id`` together with its mentor's other ready pairs; returns the plans stored.

    Idempotent: when the pair is no longer ``ready`` (an earlier or a sibling's delivery planned
    it; it was paused or ended) nothing happens and ``[]`` is returned.
    """
    now = deps.clock.now()
    with deps.uow() as uow:
        pair = uow.pairs.get(pair_id)
        if pair is None or pair.status != PairState.READY:
            return []
        program = pair.program
        group = uow.pairs.ready_of_mentor(pair.program_id, pair.mentor_id)
        running = uow.outbox.running_of("plan_pair", [p.id for p in group], now)
        if running and running[0].subject_id != pair_id:
            # Sibling pairs' deliveries arrive together: the one that started first plans the
            # whole group (reading everyone's calendars once); the others wait for it.
            started = running[0].locked_until - deps.config.claim_timeout
            raise GroupBeingPlanned("This pair is being planned together with its mentor's other pairs; "
                                    "it is checked again in a few seconds.", now - started)
        mentor = snapshot(uow, pair.mentor)
        requests = [_Request(p.id, snapshot(uow, p.mentee), Cadence(p.cadence or program.cadence),
                             p.duration_min or program.duration_min, _sessions_owed(uow, p, program, now))
                    for p in group]
        people = [mentor] + [r.mentee for r in requests]
        others = {p.person_id: tandem_sessions(uow, p.person_id) for p in people}
        cap = program.mentor_max_sessions_per_week
        sharing = Sharing.parse(program.sharing or Sharing.FAIR.value)
    mentor_tz = mentor.tz or "UTC"
    first_day = (now + LEAD_TIME).astimezone(ZoneInfo(mentor_tz)).date() + timedelta(days=1)
    days = max(horizon_days_needed(r.cadence, first_day, r.count) for r in requests)
    horizon = Horizon(first_day, -(-days // 7))
    window_start = datetime.combine(first_day - timedelta(days=2), datetime.min.time(), ZoneInfo("UTC"))
    busy = read_calendar_busy(deps, people, window_start, window_start + timedelta(days=horizon.weeks * 7 + 4))
    plans, invalid = [], {}
    try:
        availabilities = {p.person_id: availability(p, tuple(busy[p.person_id]) + tuple(others[p.person_id]))
                          for p in people}
    except InvalidInput as exc:  # e.g. impossible preferences of one person: all of the group wait
        invalid = {r.pair_id: str(exc) for r in requests}
    else:
        core_requests = []
        for r in requests:
            try:
                core_requests.append(PairRequest(r.pair_id, mentor.person_id, r.mentee.person_id, r.duration,
                                                 r.cadence, r.count))
            except InvalidInput as exc:
                invalid[r.pair_id] = str(exc)
        if core_requests:
            # how a full mentor is shared is the program's choice (Program.sharing, issue 12)
            plans = plan_cohort(availabilities, core_requests, horizon, now, mentor_max_sessions_per_week=cap,
                                sharing=sharing)
    used = _week_counts(others[mentor.person_id], mentor_tz)
    plans = [_apply_cap(plan, used, cap, mentor_tz) for plan in plans]
    _store(deps, plans, invalid, {r.pair_id: r.duration for r in requests}, now, cap, mentor_tz)
    return plans


def _sessions_owed(uow: UnitOfWork, pair: Pair, program: Program, now: datetime) -> int:
    """The program's session count, less sessions already held (after a pause or a change)."""
    held = uow.occurrences.count_held(pair.id, now)
    return max(1, program.session_count - held)


def _week_counts(sessions: list[Interval], tz: str) -> dict[tuple[int, int], int]:
    zone = ZoneInfo(tz)
    used: dict[tuple[int, int], int] = {}
    for iv in sessions:
        key = iv.start.astimezone(zone).isocalendar()[:2]
        used[key] = used.get(key, 0) + 1
    return used


def _apply_cap(plan: PairPlan, used: dict, cap: int | None, tz: str) -> PairPlan:
    """Mark occurrences that would take the mentor over the weekly cap (ISO weeks in the mentor's
    zone, counting their sessions already stored and those of plans before this one) as
    conflicts; ``used`` is updated."""
    if not cap or plan.status is not PairStatus.BOOKED:
        return plan
    zone = ZoneInfo(tz)
    occurrences = []
    taken: list[tuple[int, int]] = []
    for occ in plan.occurrences:
        if not occ.conflict:
            key = occ.start.astimezone(zone).isocalendar()[:2]
            if used.get(key, 0) >= cap:
                occ = PlannedOccurrence(occ.start, occ.end, True, occ.original_start)
            else:
                used[key] = used.get(key, 0) + 1
                taken.append(key)
        occurrences.append(occ)
    held = len(taken)
    capped_now = sum(not o.conflict for o in plan.occurrences) - held
    if held == 0 or (capped_now and held < MIN_HELD_SHARE * len(occurrences)):
        # never a pair "booked" without (enough) sessions: the mentor's other sessions fill the cap
        for key in taken:
            used[key] -= 1
        return PairPlan.unschedulable(plan.pair_id, reasons.cap_reached(cap))
    return PairPlan(plan.pair_id, plan.status, plan.series, tuple(occurrences), plan.reason,
                    sum(not o.conflict for o in occurrences))


def _check_still_free(uow: UnitOfWork, pair: Pair, plan: PairPlan, planned_now: list[Interval]) -> None:
    """Under the people's locks: the plan must not overlap sessions stored since it was read."""
    for person_id in (pair.mentor_id, pair.mentee_id):
        taken = tandem_sessions(uow, person_id)
        if person_id == pair.mentor_id:
            taken = taken + planned_now
        for occ in plan.occurrences:
            if not occ.conflict and any(iv.start < occ.end and occ.start < iv.end for iv in taken):
                raise PlanRace(f"pair {pair.id}: another session of the same person was stored meanwhile; "
                               f"planning again")


def _store(deps: Dependencies, plans: list[PairPlan], invalid: dict[str, str], durations: dict[str, int],
           now: datetime, cap: int | None, mentor_tz: str) -> None:
    pair_ids = [p.pair_id for p in plans] + list(invalid)
    with deps.uow() as uow:
        # Rows locked in id order (FOR UPDATE on PostgreSQL; SQLite serialises writers anyway).
        pairs = {p.id: p for p in uow.pairs.get_many(pair_ids, lock=True)}
        people = {pid for p in pairs.values() for pid in (p.mentor_id, p.mentee_id)}
        uow.people.get_many(people, lock=True)
        for pair_id, reason in invalid.items():
            _mark_unschedulable(uow, pairs.get(pair_id), reason, now)
        fresh_used = None
        planned_now: list[Interval] = []
        for plan in plans:
            pair = pairs.get(plan.pair_id)
            if pair is None or pair.status != PairState.READY:
                continue  # planned by another delivery meanwhile, paused or ended
            if plan.status is PairStatus.UNSCHEDULABLE:
                _mark_unschedulable(uow, pair, plan.reason or "no mutual time found", now)
                continue
            _check_still_free(uow, pair, plan, planned_now)
            if cap:
                if fresh_used is None:
                    fresh_used = _week_counts(tandem_sessions(uow, pair.mentor_id), mentor_tz)
                if _apply_cap(plan, fresh_used, cap, mentor_tz).free_occurrences < plan.free_occurrences:
                    raise PlanRace(f"pair {pair.id}: the mentor's weekly cap filled up meanwhile; planning again")
            _store_series(uow, pair, plan, durations[pair.id], now)
            planned_now += [Interval(o.start, o.end) for o in plan.occurrences if not o.conflict]
        uow.commit()


def _mark_unschedulable(uow: UnitOfWork, pair: Pair | None, reason: str, now: datetime) -> None:
    if pair is None or pair.status != PairState.READY:
        return
    move_pair(pair, PairState.UNSCHEDULABLE, reason)
    webhook_events.pair_unschedulable(uow, pair, reason, now)
    notify_coordinators(uow, pair, "pair_attention", now, key=f"unschedulable:{pair.id}:{now.date()}",
                        payload={"reason": reason})
    log.info("pair %s is unschedulable: %s", pair.id, reason)


def _agendas(pair: Pair) -> tuple[list[tuple[str, str]], list[str]]:
    """The program's agenda templates in order (the defaults when it has none) and the pair's open goals."""
    templates = [(t.name, t.body) for t in pair.program.agenda_templates]
    goals = [g.text for g in pair.goals if g.status == "open"]
    return templates or list(DEFAULT_AGENDAS), goals


def _store_series(uow: UnitOfWork, pair: Pair, plan: PairPlan, duration: int, now: datetime) -> None:
    rule = plan.series
    generation = uow.series.count_of_pair(pair.id)
    templates, goals = _agendas(pair)
    series = uow.series.add(Series(
        pair_id=pair.id, rrule=rule.rrule, dtstart_local=rule.dtstart_local.isoformat(timespec="seconds"),
        tz=rule.tz, duration_min=duration, status="planned", idempotency_key=f"tandem{pair.id}{generation:02d}"))
    for index, occ in enumerate(plan.occurrences):
        uow.occurrences.add(Occurrence(
            series_id=series.id, original_start=occ.original_start or occ.start, start=occ.start, end=occ.end,
            status="conflict" if occ.conflict else ("moved" if occ.moved else "scheduled"),
            agenda=agenda_for_session(templates, index, len(plan.occurrences), goals)))
    move_pair(pair, PairState.PLANNING)
    uow.flush()
    uow.outbox.add_once("book_series", series.id, f"book_series:{series.id}", now)
