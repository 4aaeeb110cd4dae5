"""Book a planned series on the organizer's calendar, idempotently, and set up its emails."""
from __future__ import annotations

import logging
from datetime import datetime

from scheduler.core.agenda import series_description
from scheduler.core.entities import Pair, Series
from scheduler.core.pair_state import ACTIVE_OCCURRENCE, PairState, SeriesState, move_pair, move_series
from scheduler.ports import Dependencies, SeriesSpec
from scheduler.services.accounts import account_for, provider_for, writable_connection
from scheduler.services.notifications import notify_pair, schedule_occurrence_followups
from scheduler.services.pair_status import check_sessions_left
from scheduler.services import webhook_events

log = logging.getLogger(__name__)


def organizer_and_attendee(pair: Pair):
    if pair.organizer_role == "mentee":
        return pair.mentee, pair.mentor
    return pair.mentor, pair.mentee


def series_spec(series: Series, pair: Pair, organizer, attendee) -> SeriesSpec:
    """The series as calendars and emailed invitations show it: title, the first agenda, times."""
    first_agenda = next((o.agenda for o in series.occurrences if o.status in ACTIVE_OCCURRENCE), "") or ""
    return SeriesSpec(
        series_key=series.idempotency_key,
        title=f"Mentoring: {pair.mentor.name or pair.mentor.email} & {pair.mentee.name or pair.mentee.email}",
        description=series_description(first_agenda),
        organizer_email=organizer.email, attendee_emails=(attendee.email,),
        start_local=datetime.fromisoformat(series.dtstart_local), tz=series.tz,
        duration_min=series.duration_min, rrule=series.rrule, video=True)


def book_series(deps: Dependencies, series_id: str) -> None:
    """Create the series on a calendar (or invite by email when no calendar can be written),
    apply moved and cancelled occurrences, then mark everything booked and queue the emails.

    Every provider call is idempotent (the series key is the event's id / transactionId / UID;
    moving or cancelling an occurrence twice leaves it the same), so a crash anywhere in here
    followed by a retry repeats nothing visible.
    """
    now = deps.clock.now()
    with deps.uow() as uow:
        series = uow.series.get(series_id)
        if series is None or series.status not in (SeriesState.PLANNED, SeriesState.BOOKING):
            return
        pair = series.pair
        organizer, attendee = organizer_and_attendee(pair)
        connection = writable_connection(deps, uow, organizer.id)
        if connection is None:  # the other person's calendar, if theirs can be written
            connection = writable_connection(deps, uow, attendee.id)
            if connection is not None:
                organizer, attendee = attendee, organizer
        occurrences = [(o.original_start, o.start, o.end, o.status) for o in series.occurrences]
        spec = series_spec(series, pair, organizer, attendee)
        account = account_for(deps, connection) if connection is not None else None
        kind = connection.provider if connection is not None else None
        connection_id = connection.id if connection is not None else None
        move_series(series, SeriesState.BOOKING)
        uow.commit()

    event_id = video_url = None
    if account is not None:
        provider = provider_for(deps, kind)
        ref = provider.create_series(account, spec)
        event_id, video_url = ref.event_id, ref.video_url
        for original, start, end, status in occurrences:
            if status == "moved":
                provider.move_occurrence(account, event_id, original, start, end)
            elif status == "conflict":
                provider.cancel_occurrence(account, event_id, original)

    with deps.uow() as uow:
        series = uow.series.get(series_id)
        if series is None:
            return
        if event_id is not None:
            series.provider_event_id, series.video_url = event_id, video_url
            series.organizer_connection_id = connection_id
        if series.status != SeriesState.BOOKING:
            # Ended meanwhile (end, resume, change of cadence): take the new event off again.
            if event_id is not None:
                uow.outbox.add_once("cancel_series", series.id, f"cancel_series:{series.id}", now)
            uow.commit()
            return
        pair = series.pair
        move_series(series, SeriesState.BOOKED)
        if pair.status == PairState.PLANNING:
            move_pair(pair, PairState.BOOKED, pair.status_reason)
        before = {original: (start, status) for original, start, _, status in occurrences}
        for occ in series.occurrences:
            if occ.status == "conflict":
                occ.status = "cancelled"  # no mutual time in its period: not held, both told
            elif event_id is not None and (occ.start, occ.status) != before.get(occ.original_start):
                # skipped, moved or paused by the people while the event was being created
                uow.outbox.add_once("push_occurrence", occ.id, f"push:{occ.id}:booked", now)
            schedule_occurrence_followups(uow, occ, pair, pair.program, now)
        skipped = sum(o.status == "cancelled" for o in series.occurrences)
        uow.flush()
        if check_sessions_left(uow, pair, now, key=series.id):
            notify_pair(uow, pair, "series_booked" if event_id else "series_invite", now,
                        key=f"booked:{series.id}", payload={"series_id": series.id, "skipped": skipped,
                                                            "organizer_email": spec.organizer_email})
            webhook_events.pair_booked(uow, pair, series, now)
        uow.commit()
    log.info("series %s booked (%s)", series_id, f"event {event_id}" if event_id else "emailed invitations")

