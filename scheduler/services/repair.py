"""Re-check a booked series against fresh calendars and repair what no longer fits.

Run on a webhook, daily, and a day before each session. For each upcoming occurrence that now
conflicts for either person, the program's repair policy decides: ``auto`` moves it alone to
the nearest mutual free time in its period, ``propose`` emails both the proposed time,
``notify`` only tells them. Both people are always told what changed and why.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.core.cadence import Cadence
from scheduler.core.intervals import interval
from scheduler.core.live_repair import BusyIndex, find_move, fits_person, without_own_sessions
from scheduler.core.pair_state import ACTIVE_OCCURRENCE, WITH_SESSIONS, PairState, SeriesState, move_pair
from scheduler.errors import NotFound
from scheduler.ports import Dependencies
from scheduler.services.accounts import account_for, provider_for
from scheduler.services.availability import availability, read_busy_by_connection, snapshot, tandem_sessions
from scheduler.services.notifications import (cancel_occurrence_notifications, notify_coordinators, notify_pair,
                                              occurrence_version, schedule_occurrence_followups)

log = logging.getLogger(__name__)
MIN_NOTICE = timedelta(hours=2)  # never move a session to less than this from now


@dataclass(frozen=True)
class Decision:
    occurrence_id: str
    original_start: datetime
    old_start: datetime
    new_start: datetime | None  # None: no mutual time left in its period
    why: str


def recheck_series(deps: Dependencies, series_id: str) -> list[Decision]:
    now = deps.clock.now()
    with deps.uow() as uow:
        series = uow.series.get(series_id)
        if series is None or series.status != SeriesState.BOOKED:
            return []
        pair = series.pair
        if pair.status not in (PairState.BOOKED, PairState.NEEDS_ATTENTION):
            return []
        policy = pair.program.repair_policy
        cadence = Cadence(pair.cadence or pair.program.cadence)
        upcoming = [o for o in series.occurrences if o.status in ACTIVE_OCCURRENCE and o.start > now]
        if not upcoming:
            return []
        mentor, mentee = snapshot(uow, pair.mentor), snapshot(uow, pair.mentee)
        own = [interval(o.start, o.end) for o in series.occurrences if o.status in ACTIVE_OCCURRENCE]
        taken = {mentor.person_id: tandem_sessions(uow, mentor.person_id, exclude_series_id=series_id),
                 mentee.person_id: tandem_sessions(uow, mentee.person_id, exclude_series_id=series_id)}
        organizer = (uow.connections.get(series.organizer_connection_id)
                     if series.organizer_connection_id else None)
        account = account_for(deps, organizer) if organizer is not None else None
        kind, event_id, tz = (organizer.provider if organizer else None), series.provider_event_id, series.tz
        organizers = uow.series.booked_organizer_connection_ids((mentor.person_id, mentee.person_id))
        snapshot_rows = [(o.id, o.original_start, o.start, o.end) for o in upcoming]
    window_start = min(s for _, _, s, _ in snapshot_rows) - timedelta(days=31)
    window_end = max(e for _, _, _, e in snapshot_rows) + timedelta(days=31)
    per_connection = read_busy_by_connection(deps, [mentor, mentee], max(window_start, now), window_end)

    def cleaned(person_id: str) -> tuple:
        # Tandem sessions show as busy on the calendars that hold them: take them out where
        # free/busy lets us tell them apart (see without_own_sessions); the person's other
        # sessions come back in as busy from the database.
        sessions = own + taken[person_id]
        busy = [iv for connection_id, blocks in per_connection[person_id]
                for iv in without_own_sessions(blocks, sessions, holds_sessions=connection_id in organizers)]
        return tuple(busy) + tuple(taken[person_id])

    mentor_av, mentee_av = availability(mentor, cleaned(mentor.person_id)), availability(mentee, cleaned(mentee.person_id))
    mentor_idx, mentee_idx = BusyIndex(mentor_av.busy), BusyIndex(mentee_av.busy)

    decisions: list[Decision] = []
    held = [interval(s, e) for _, _, s, e in snapshot_rows]
    for occ_id, original, start, end in snapshot_rows:
        fit_m, fit_e = fits_person(mentor_av, start, end, mentor_idx), fits_person(mentee_av, start, end, mentee_idx)
        if fit_m.ok and fit_e.ok:
            continue
        why = "; ".join(f"{who}: {fit.why}" for who, fit in (("mentor", fit_m), ("mentee", fit_e)) if not fit.ok)
        others = tuple(iv for iv in held if iv.start != start)
        new_start = find_move(mentor_av, mentee_av, start, end - start, cadence, tz,
                              not_before=now + MIN_NOTICE, taken=others)
        decisions.append(Decision(occ_id, original, start, new_start, why))
        log.info("series %s: session at %s no longer fits (%s); %s", series_id, start.isoformat(), why,
                 f"nearest mutual time {new_start.isoformat()}" if new_start else "no mutual time left in its period")
        if new_start is not None:
            held = [iv for iv in held if iv.start != start] + [interval(new_start, new_start + (end - start))]

    if policy == "auto" and account is not None:
        provider = provider_for(deps, kind)
        for d in decisions:
            if d.new_start is not None:
                duration = next(e - s for i, _, s, e in snapshot_rows if i == d.occurrence_id)
                try:
                    provider.move_occurrence(account, event_id, d.original_start, d.new_start, d.new_start + duration)
                except NotFound:
                    log.warning("series %s vanished from the calendar", series_id)
                    return _series_gone(deps, series_id, now)
    _record(deps, series_id, decisions, policy, now)
    return decisions


def _record(deps: Dependencies, series_id: str, decisions: list[Decision], policy: str, now: datetime) -> None:
    with deps.uow() as uow:
        series = uow.series.get(series_id)
        pair = series.pair
        for d in decisions:
            occ = uow.occurrences.get(d.occurrence_id)
            if occ.start != d.old_start or occ.status not in ACTIVE_OCCURRENCE:
                # Changed meanwhile: handled by another delivery, or skipped/moved by the people.
                # If we already moved it at the provider, make the calendar match the database again.
                if policy == "auto" and d.new_start is not None and series.provider_event_id:
                    uow.outbox.add_once("push_occurrence", occ.id, f"push:{occ.id}:{uuid.uuid4().hex}", now)
                continue
            payload = {"old_start": d.old_start.isoformat(), "why": d.why,
                       "new_start": d.new_start.isoformat() if d.new_start else None, "policy": policy}
            key = f"conflict:{occ.id}:{d.old_start:%Y%m%dT%H%M}:v{occurrence_version(uow, occ.id)}"
            if d.new_start is None:
                occ.status = "conflict"
                cancel_occurrence_notifications(uow, occ.id)
                notify_pair(uow, pair, "conflict", now, key=key, payload=payload, occurrence_id=occ.id)
                move_pair(pair, PairState.NEEDS_ATTENTION,
                          f"no mutual time left for the session of {d.old_start:%d %b}: {d.why}")
                notify_coordinators(uow, pair, "pair_attention", now, key=f"{key}:coord",
                                    payload={"reason": pair.status_reason})
            elif policy == "auto" and series.provider_event_id:
                duration = occ.end - occ.start
                occ.start, occ.end, occ.status = d.new_start, d.new_start + duration, "moved"
                cancel_occurrence_notifications(uow, occ.id)
                schedule_occurrence_followups(uow, occ, pair, pair.program, now)
                notify_pair(uow, pair, "moved", now, key=key, payload=payload, occurrence_id=occ.id)
            else:  # propose or notify: the people decide
                notify_pair(uow, pair, "move_proposed" if policy == "propose" else "conflict", now,
                            key=key, payload=payload, occurrence_id=occ.id)
        uow.commit()


def _series_gone(deps: Dependencies, series_id: str, now: datetime) -> list[Decision]:
    with deps.uow() as uow:
        series = uow.series.get(series_id)
        pair = series.pair
        if pair.status not in WITH_SESSIONS:
            return []  # paused or ended meanwhile: nothing left to attend to
        move_pair(pair, PairState.NEEDS_ATTENTION, "the booked series was deleted from the organizer's calendar")
        notify_coordinators(uow, pair, "pair_attention", now, key=f"gone:{series_id}",
                            payload={"reason": pair.status_reason})
        uow.commit()
    return []

