"""Plan a ready pair: read both calendars, pick the recurring slot, store the series."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from adapters.storage.models import AgendaTemplate, Goal, Occurrence, Pair, Person, Program, Series
from adapters.storage.outbox import add_outbox
from config.agendas import DEFAULT_AGENDAS
from scheduler.core.agenda import agenda_for_session
from scheduler.core.cadence import Cadence, horizon_days_needed
from scheduler.core.cohort import plan_pair as plan_pair_core
from scheduler.core.intervals import Interval
from scheduler.core.plan_model import Horizon, PairPlan, PairRequest, PairStatus
from scheduler.errors import InvalidInput
from scheduler.services.availability import (availability, read_calendar_busy, snapshot, tandem_sessions)
from scheduler.services.notifications import notify_coordinators

log = logging.getLogger(__name__)
LEAD_TIME = timedelta(days=1)  # the first session is never sooner than this


def _locked_pair(session, pair_id: str) -> Pair | None:
    query = select(Pair).where(Pair.id == pair_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def plan_pair(container, pair_id: str) -> PairPlan | None:
    """Plan pair ``pair_id`` if it is ``ready``; store the series and queue its booking.

    Idempotent: a pair that is no longer ``ready`` (planned by an earlier delivery, paused,
    ended) is left alone and None is returned.
    """
    now = container.clock.now()
    with container.uow() as uow:
        pair = uow.session.get(Pair, pair_id)
        if pair is None or pair.status != "ready":
            return None
        program = pair.program
        mentor, mentee = snapshot(uow.session, pair.mentor), snapshot(uow.session, pair.mentee)
        cadence = Cadence(pair.cadence or program.cadence)
        duration = pair.duration_min or program.duration_min
        held = uow.session.scalar(select(func.count()).select_from(Occurrence).join(Series).where(
            Series.pair_id == pair_id, Occurrence.status.in_(("scheduled", "moved")), Occurrence.start <= now))
        count = max(1, program.session_count - held)  # after a pause: only the sessions still owed
        others = {mentor.person_id: tandem_sessions(uow.session, mentor.person_id),
                  mentee.person_id: tandem_sessions(uow.session, mentee.person_id)}
        cap = program.mentor_max_sessions_per_week
    try:
        request = PairRequest(pair_id, mentor.person_id, mentee.person_id, duration, cadence, count)
        first_day = (now + LEAD_TIME).astimezone(ZoneInfo(mentor.tz or "UTC")).date() + timedelta(days=1)
        horizon = Horizon(first_day, -(-horizon_days_needed(cadence, first_day, count) // 7))
    except InvalidInput as exc:
        return _store_unschedulable(container, pair_id, str(exc), now)
    window_start = datetime.combine(first_day - timedelta(days=2), datetime.min.time(), ZoneInfo("UTC"))
    window_end = window_start + timedelta(days=horizon.weeks * 7 + 4)
    busy = read_calendar_busy(container, [mentor, mentee], window_start, window_end)
    try:
        mentor_av = availability(mentor, tuple(busy[mentor.person_id]) + tuple(others[mentor.person_id]))
        mentee_av = availability(mentee, tuple(busy[mentee.person_id]) + tuple(others[mentee.person_id]))
        plan = plan_pair_core(mentor_av, mentee_av, request, horizon, now)
    except InvalidInput as exc:
        return _store_unschedulable(container, pair_id, str(exc), now)
    if plan.status is PairStatus.UNSCHEDULABLE:
        return _store_unschedulable(container, pair_id, plan.reason or "no mutual time found", now)
    plan = _apply_cap(plan, others[mentor.person_id], cap, mentor.tz or "UTC")
    _store_plan(container, pair_id, plan, duration, now)
    return plan


def _apply_cap(plan: PairPlan, existing: list[Interval], cap: int | None, tz: str) -> PairPlan:
    """Mark occurrences that would take the mentor over the weekly cap (counting their other
    booked sessions, ISO weeks in the mentor's zone) as conflicts."""
    if not cap:
        return plan
    zone = ZoneInfo(tz)
    week = lambda dt: dt.astimezone(zone).isocalendar()[:2]  # noqa: E731
    used: dict[tuple[int, int], int] = {}
    for iv in existing:
        used[week(iv.start)] = used.get(week(iv.start), 0) + 1
    occurrences = []
    for occ in plan.occurrences:
        if not occ.conflict:
            key = week(occ.start)
            if used.get(key, 0) >= cap:
                occ = type(occ)(occ.start, occ.end, True, occ.original_start)
            else:
                used[key] = used.get(key, 0) + 1
        occurrences.append(occ)
    return PairPlan(plan.pair_id, plan.status, plan.series, tuple(occurrences), plan.reason,
                    sum(not o.conflict for o in occurrences))


def _store_unschedulable(container, pair_id: str, reason: str, now: datetime) -> None:
    with container.uow() as uow:
        pair = _locked_pair(uow.session, pair_id)
        if pair is None or pair.status != "ready":
            return None
        pair.status, pair.status_reason = "unschedulable", reason
        notify_coordinators(uow.session, pair, "pair_attention", now, key=f"unschedulable:{pair.id}:{now.date()}",
                            payload={"reason": reason})
        uow.commit()
    log.info("pair %s is unschedulable: %s", pair_id, reason)
    return None


def _agendas(session, program: Program, pair: Pair) -> tuple[list[tuple[str, str]], list[str]]:
    templates = [(t.name, t.body) for t in session.scalars(
        select(AgendaTemplate).where(AgendaTemplate.program_id == program.id).order_by(AgendaTemplate.position))]
    goals = [g.text for g in session.scalars(select(Goal).where(Goal.pair_id == pair.id, Goal.status == "open"))]
    return templates or list(DEFAULT_AGENDAS), goals


def _store_plan(container, pair_id: str, plan: PairPlan, duration: int, now: datetime) -> None:
    rule = plan.series
    with container.uow() as uow:
        session = uow.session
        pair = _locked_pair(session, pair_id)
        if pair is None or pair.status != "ready":
            return
        generation = session.scalar(select(func.count()).select_from(Series).where(Series.pair_id == pair_id))
        templates, goals = _agendas(session, pair.program, pair)
        series = Series(pair_id=pair_id, rrule=rule.rrule, dtstart_local=rule.dtstart_local.isoformat(timespec="seconds"),
                        tz=rule.tz, duration_min=duration, status="planned",
                        idempotency_key=f"tandem{pair_id}{generation:02d}")
        session.add(series)
        for index, occ in enumerate(plan.occurrences):
            original = occ.original_start or occ.start
            session.add(Occurrence(series=series, original_start=original, start=occ.start, end=occ.end,
                                   status="conflict" if occ.conflict else ("moved" if occ.moved else "scheduled"),
                                   agenda=agenda_for_session(templates, index, len(plan.occurrences), goals)))
        pair.status, pair.status_reason = "planning", None
        session.flush()
        add_outbox(session, "book_series", series.id, f"book_series:{series.id}", now)
        uow.commit()
