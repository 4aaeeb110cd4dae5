"""A pair's life after booking: skip or move one session, pause, resume, end, change cadence.

Each use case changes the database and queues the calendar work in the same transaction
(``push_occurrence`` / ``cancel_series`` outbox rows); the actors make the calendar match.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from scheduler.core.cadence import Cadence
from scheduler.core.entities import Occurrence, Pair, Series
from scheduler.core.pair_state import (ACTIVE_OCCURRENCE, PAUSABLE, PAUSE_DETAIL, PairState, SeriesState, move_pair,
                                       move_series, taken_off_by_pause)
from scheduler.errors import InvalidInput, NotFound
from scheduler.ports import Dependencies, UnitOfWork
from scheduler.core.attendance import Signal
from scheduler.services.accounts import account_for, provider_for
from scheduler.services.attendance import record_signal, resolve_in, role_in
from scheduler.services.pair_history import note
from scheduler.services.notifications import (cancel_occurrence_notifications, cancel_pair_notifications, notify_pair,
                                              occurrence_version, schedule_occurrence_followups)
from scheduler.services.pair_status import check_sessions_left
from scheduler.services.replanning import replan_waiting



def _active_series(uow: UnitOfWork, pair_id: str) -> list[Series]:
    return uow.series.active_of_pair(pair_id)


def _push(uow: UnitOfWork, occ: Occurrence, now: datetime, due: datetime | None = None) -> None:
    """Queue making the calendar match this occurrence, at ``due`` (default now). Each change gets
    its own row (the actor reads the current state, so a repeat is harmless; a shared key would
    drop a change that returns to an earlier state)."""
    uow.outbox.add_once("push_occurrence", occ.id, f"push:{occ.id}:{uuid.uuid4().hex}", due or now)


UNDO_WINDOW = timedelta(seconds=60)  # a skip or a pause can be undone this long; its emails wait as long
# Calendars change once the window has passed (and a little more, so that an undo at its very end
# still comes first): undoing then needs nothing of a provider, even one that cannot bring a
# cancelled occurrence back (Graph).
UNDO_SETTLES = UNDO_WINDOW + timedelta(seconds=10)


def skip_occurrence(deps: Dependencies, occurrence_id: str, by_person_id: str) -> None:
    """Skip one upcoming session. The calendars change at once; the "skipped" emails wait for the
    undo window (:func:`undo_skip`)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        occ = uow.occurrences.get(occurrence_id)
        if occ is None or occ.status not in ACTIVE_OCCURRENCE or occ.start <= now:
            raise InvalidInput("only an upcoming session can be skipped")
        occ.status = "skipped"
        record_signal(uow, occ, Signal("skipped", now, role_in(occ.series.pair, by_person_id)), now)
        cancel_occurrence_notifications(uow, occ.id)
        _push(uow, occ, now, due=now + UNDO_SETTLES)
        notify_pair(uow, occ.series.pair, "skipped", now,
                    key=f"skipped:{occ.id}:v{occurrence_version(uow, occ.id)}",
                    payload={"start": occ.start.isoformat(), "by": by_person_id}, occurrence_id=occ.id,
                    due_at=now + UNDO_WINDOW)
        check_sessions_left(uow, occ.series.pair, now, key=f"skipped:{occ.id}")
        uow.commit()


def _restore(uow: UnitOfWork, occ: Occurrence, pair, now: datetime, drop) -> None:
    """Put a session taken off back as it was (moved ones at their new time), without the signal
    ``drop`` matches, with its reminders, and queue the calendar change."""
    occ.status = "moved" if occ.start != occ.original_start else "scheduled"
    occ.attendance_signals = [s for s in occ.attendance_signals or [] if not drop(s)]
    resolve_in(uow, occ, now)
    schedule_occurrence_followups(uow, occ, pair, pair.program, now)
    _push(uow, occ, now)


def _within_undo_window(occ: Occurrence, now: datetime, matches) -> bool:
    found = [Signal.from_json(s) for s in occ.attendance_signals or [] if matches(s)]
    return occ.start > now and bool(found) and found[-1].at is not None and now - found[-1].at <= UNDO_WINDOW


def recent_skip(occ: Occurrence, now: datetime) -> bool:
    """Whether ``occ`` was skipped within the undo window and is still to come."""
    return occ.status == "skipped" and _within_undo_window(occ, now, lambda s: s.get("kind") == "skipped")


def recent_pause(occ: Occurrence, now: datetime) -> bool:
    """Whether a pause took ``occ`` off within the undo window (undoing it is resuming)."""
    return taken_off_by_pause(occ.status, occ.attendance_signals) and _within_undo_window(
        occ, now, lambda s: s.get("detail") == PAUSE_DETAIL)


def undo_skip(deps: Dependencies, occurrence_id: str) -> None:
    """Undo a skip within :data:`UNDO_WINDOW`: the session is back as it was, its "skipped" emails
    are never sent, its reminders are set again."""
    now = deps.clock.now()
    with deps.uow() as uow:
        occ = uow.occurrences.get(occurrence_id)
        if occ is None or not recent_skip(occ, now):
            raise InvalidInput("It is too late to undo that skip; move another session or add one with "
                               "your pair instead.")
        pair = occ.series.pair
        uow.notifications.cancel_pending(occurrence_id=occ.id, kinds=("skipped",))
        _restore(uow, occ, pair, now, lambda s: s.get("kind") == "skipped")
        if pair.status == PairState.NEEDS_ATTENTION:
            move_pair(pair, PairState.BOOKED)
        uow.commit()


def move_occurrence_to(deps: Dependencies, occurrence_id: str, new_start: datetime, by_person_id: str) -> None:
    """Move one session to a time the people chose (the web offers only mutual free times)."""
    now = deps.clock.now()
    if new_start <= now:
        raise InvalidInput("the new time is in the past; choose an upcoming time")
    with deps.uow() as uow:
        occ = uow.occurrences.get(occurrence_id)
        if occ is None or occ.status not in ACTIVE_OCCURRENCE + ("conflict",) or occ.start <= now:
            raise InvalidInput("only an upcoming session can be moved")
        old = occ.start
        duration = occ.end - occ.start
        occ.start, occ.end, occ.status = new_start, new_start + duration, "moved"
        pair = occ.series.pair
        cancel_occurrence_notifications(uow, occ.id)
        schedule_occurrence_followups(uow, occ, pair, pair.program, now)
        _push(uow, occ, now)
        version = occurrence_version(uow, occ.id)
        notify_pair(uow, pair, "moved", now, key=f"moved:{occ.id}:{new_start:%Y%m%dT%H%M}:v{version}",
                    payload={"old_start": old.isoformat(), "new_start": new_start.isoformat(),
                             "why": "moved by one of you", "cause": "moved_by_person", "by": by_person_id},
                    occurrence_id=occ.id)
        uow.commit()


def pause_pair(deps: Dependencies, pair_id: str, by: str | None = None) -> None:
    """Take every upcoming session off the calendars (holidays, a busy stretch) and keep the
    series: :func:`resume_pair` puts back those still to come, with every earlier decision (a
    skip, a move, the video link) as it was. The sessions are cancelled, not "skipped": the pair
    did not skip them, and the pair's history does not list them. ``by``: who paused it (one of
    them, or a coordinator), kept in the pair's history."""
    now = deps.clock.now()
    with deps.uow() as uow:
        pair = uow.pairs.get(pair_id)
        if pair is None:
            raise NotFound("This pair no longer exists.")
        pause_in(uow, pair, now, by)
        uow.commit()


def pause_in(uow: UnitOfWork, pair: Pair, now: datetime, by: str | None) -> None:
    """:func:`pause_pair` in the caller's unit of work."""
    if pair.status not in PAUSABLE:
        raise InvalidInput("only a booked pair can be paused")
    for series in _active_series(uow, pair.id):
        for occ in series.occurrences:
            if occ.status in ACTIVE_OCCURRENCE and occ.start > now:
                occ.status = "cancelled"
                record_signal(uow, occ, Signal("cancelled", now, None, PAUSE_DETAIL), now)
                _push(uow, occ, now, due=now + UNDO_SETTLES)
    cancel_pair_notifications(uow, pair.id)
    move_pair(pair, PairState.PAUSED)
    note(pair, now, "paused", by)
    notify_pair(uow, pair, "paused", now, key=f"paused:{pair.id}:{now:%Y%m%dT%H%M}", payload=_by(by),
                due_at=now + UNDO_WINDOW)
    replan_waiting(uow, [pair.mentor_id, pair.mentee_id], now, "a slot was freed (pair paused)")


def _by(by: str | None) -> dict:
    return {"by": by} if by else {}


def resume_pair(deps: Dependencies, pair_id: str, by: str | None = None) -> int:
    """Bring the paused pair back (see :func:`resume_in`). Returns how many sessions came back
    (0: the pair is planned again)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        pair = uow.pairs.get(pair_id)
        if pair is None:
            raise NotFound("This pair no longer exists.")
        back = resume_in(deps, uow, pair, now, by)
        uow.commit()
        return back


def resume_in(deps: Dependencies, uow: UnitOfWork, pair: Pair, now: datetime, by: str | None, *,
              tell: bool = False) -> int:
    """:func:`resume_pair` in the caller's unit of work. Sessions the pause took off that are still
    to come return to the calendars as they were (moved ones at their new time; skipped ones stay
    skipped; same event, same video link), with their reminders, and both people get a "resumed"
    email naming the next session; the repair checks catch any new clash. When none is left to
    come back (the pause outlasted the series), or the organizer's calendar cannot bring a
    cancelled occurrence back (``CalendarProvider.can_restore``), the pair is planned again from
    now for the sessions still owed (``tell``: a coordinator resumed it, so email both people).
    A resume within the pause's undo window sends no email at all. Returns how many came back."""
    if pair.status != PairState.PAUSED:
        raise InvalidInput("only a paused pair can be resumed")
    series_list = _active_series(uow, pair.id)
    back = [occ for series in series_list for occ in series.occurrences
            if taken_off_by_pause(occ.status, occ.attendance_signals) and occ.start > now]
    undone = any(recent_pause(occ, now) for occ in back)  # within the undo window
    if not undone and not all(_can_restore(deps, uow, series) for series in series_list):
        back = []  # the calendar cannot put them back (Graph): plan the sessions still owed again
    # An undo within the window: the "paused" emails (waiting for the window) never go, nor a
    # "resumed" one. Later, a "paused" email still waiting for a late worker is dropped too.
    uow.notifications.cancel_pending(pair_id=pair.id, kinds=("paused",))
    note(pair, now, "resumed", by)
    if not back:
        for series in series_list:
            end_series_in(uow, series, now, "replanned")
        move_pair(pair, PairState.READY, pair.status_reason)
        uow.outbox.add_once("plan_pair", pair.id, f"plan_pair:{pair.id}:resume:{now:%Y%m%dT%H%M%S}", now)
        if tell:
            notify_pair(uow, pair, "resumed", now, key=f"resumed:{pair.id}:{now:%Y%m%dT%H%M}", payload=_by(by))
        return 0
    for occ in sorted(back, key=lambda o: o.start):
        _restore(uow, occ, pair, now, lambda s: s.get("kind") == "cancelled" and s.get("detail") == PAUSE_DETAIL)
    move_pair(pair, PairState.BOOKED)
    first = min(back, key=lambda o: o.start)
    if not undone:
        notify_pair(uow, pair, "resumed", now, key=f"resumed:{pair.id}:{now:%Y%m%dT%H%M}",
                    payload={"start": first.start.isoformat(), "count": len(back), **_by(by)},
                    occurrence_id=first.id)
    return len(back)


def _can_restore(deps: Dependencies, uow: UnitOfWork, series: Series) -> bool:
    """Whether the calendar holding ``series`` can bring a cancelled occurrence back. A series
    sent by email is re-sent as a new version of the invitation, which always can."""
    connection = uow.connections.get(series.organizer_connection_id) if series.organizer_connection_id else None
    if not series.provider_event_id or connection is None:
        return True
    return provider_for(deps, connection.provider).can_restore


def end_pair(deps: Dependencies, pair_id: str, by: str | None = None) -> None:
    now = deps.clock.now()
    with deps.uow() as uow:
        pair = uow.pairs.get(pair_id)
        if pair is None or pair.status == PairState.ENDED:
            return
        end_in(uow, pair, now, by)
        uow.commit()


def end_in(uow: UnitOfWork, pair: Pair, now: datetime, by: str | None, *, why: str = "ended",
           reason: str | None = None, tell: str | None = "ended", history: bool = True) -> None:
    """:func:`end_pair` in the caller's unit of work: the series cancelled (``why`` is kept
    on each cancelled session), the pair ended with ``reason``, both people told with a notice
    of kind ``tell`` (None: the caller tells them)."""
    for series in _active_series(uow, pair.id):
        end_series_in(uow, series, now, why)
    cancel_pair_notifications(uow, pair.id)
    move_pair(pair, PairState.ENDED, reason)
    if history:
        note(pair, now, why, by)
    if tell:
        notify_pair(uow, pair, tell, now, key=f"{tell}:{pair.id}", payload=_by(by))
    replan_waiting(uow, [pair.mentor_id, pair.mentee_id], now, "a slot was freed (pair ended)")


def change_cadence(deps: Dependencies, pair_id: str, cadence: str | None, duration_min: int | None) -> None:
    """New cadence or duration: the current series ends and the pair is planned again."""
    now = deps.clock.now()
    if cadence is not None:
        try:
            Cadence(cadence)
        except ValueError:
            raise InvalidInput(f"cadence '{cadence}' is not one of weekly, biweekly, monthly") from None
    if duration_min is not None and not 15 <= duration_min <= 240:
        raise InvalidInput("duration must be between 15 and 240 minutes")
    with deps.uow() as uow:
        pair = uow.pairs.get(pair_id)
        if pair is None or pair.status == PairState.ENDED:
            raise InvalidInput("this pair has ended")
        for series in _active_series(uow, pair_id):
            end_series_in(uow, series, now, "replanned")
        cancel_pair_notifications(uow, pair_id)
        pair.cadence = cadence or pair.cadence
        pair.duration_min = duration_min or pair.duration_min
        move_pair(pair, PairState.READY, pair.status_reason)
        uow.outbox.add_once("plan_pair", pair_id, f"plan_pair:{pair_id}:change:{now:%Y%m%dT%H%M%S}", now)
        uow.commit()


def end_series_in(uow: UnitOfWork, series: Series, now: datetime, why: str) -> None:
    """Cancel the series from ``now`` on (``why`` is kept on each cancelled session) and queue
    its cancellation in the calendar."""
    was_booked = series.status == SeriesState.BOOKED
    move_series(series, SeriesState.CANCELLED)
    for occ in series.occurrences:
        if occ.status in ACTIVE_OCCURRENCE + ("conflict",) and occ.start > now:
            occ.status = "cancelled"
            record_signal(uow, occ, Signal("cancelled", now, None, why), now)
    if was_booked:
        uow.outbox.add_once("cancel_series", series.id, f"cancel_series:{series.id}", now)


# --- the actors' side: make the calendar match the database ---------------------------------
def _send_updated_invitation(deps: Dependencies, series_id: str, cancel: bool) -> None:
    """A series booked by emailed invitation: send both people the new version (REQUEST with
    the skipped and moved sessions, or CANCEL), with a higher SEQUENCE so their calendar apps
    apply it."""
    now = deps.clock.now()
    with deps.uow() as uow:
        series = uow.series.get(series_id)
        series.itip_sequence += 1
        notify_pair(uow, series.pair, "series_cancel_ics" if cancel else "series_invite", now,
                    key=f"itip:{series.id}:{series.itip_sequence}",
                    payload={"series_id": series.id, "sequence": series.itip_sequence})
        uow.commit()


def push_occurrence(deps: Dependencies, occurrence_id: str) -> None:
    emailed_series_id = None
    with deps.uow() as uow:
        occ = uow.occurrences.get(occurrence_id)
        if occ is None:
            return
        series = occ.series
        if not series.provider_event_id:
            if series.status != SeriesState.BOOKED:
                return  # still being booked: book_series applies the change once the event exists
            emailed_series_id = series.id
        else:
            connection = (uow.connections.get(series.organizer_connection_id)
                          if series.organizer_connection_id else None)
            if connection is None:
                return  # the organizer's calendar was disconnected: nothing to change there
            account = account_for(deps, connection)
            kind, event_id = connection.provider, series.provider_event_id
            status, original, start, end = occ.status, occ.original_start, occ.start, occ.end
    if emailed_series_id is not None:  # booked by emailed invitation: send the new version
        _send_updated_invitation(deps, emailed_series_id, cancel=False)
        return
    provider = provider_for(deps, kind)
    try:
        if status in ("skipped", "cancelled"):
            provider.cancel_occurrence(account, event_id, original)
        elif status in ("moved", "scheduled"):  # "scheduled": back at its time (an undo, a resume)
            provider.move_occurrence(account, event_id, original, start, end)
    except NotFound:
        pass  # the series is gone at the provider: nothing left to change


def cancel_series_at_provider(deps: Dependencies, series_id: str) -> None:
    with deps.uow() as uow:
        series = uow.series.get(series_id)
        if series is None:
            return
        by_email = not series.provider_event_id
        if not by_email:
            connection = (uow.connections.get(series.organizer_connection_id)
                          if series.organizer_connection_id else None)
            if connection is None:
                return
            account = account_for(deps, connection)
            kind, event_id = connection.provider, series.provider_event_id
    if by_email:  # booked by emailed invitation: send the cancellation
        _send_updated_invitation(deps, series_id, cancel=True)
        return
    try:
        provider_for(deps, kind).cancel_series(account, event_id)
    except NotFound:
        pass
