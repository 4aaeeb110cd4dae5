"""Deliver one notification row as an email, exactly once in effect.

The row's ``idempotency_key`` becomes the email's Message-ID and the mailer's dedupe key; the
row is marked sent in the same transaction that checks it is still pending, so a duplicate
delivery after a crash sends nothing new.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from adapters.mail import templates as t
from adapters.storage.models import Goal, Notification, Occurrence, Pair, Person, Program, Series
from scheduler.ports import OutgoingEmail
from scheduler.services.links import feedback_url

PROVIDER_LABELS = {"google": "Google Calendar", "microsoft": "Outlook calendar", "caldav": "CalDAV calendar",
                   "ics": "calendar feed", "memory": "sandbox calendar"}


def _mailer(container):
    return container.mailer


def deliver_notification(container, notification_id: str) -> bool:
    """Render and send; False when the row is not pending (sent, cancelled) — a no-op."""
    with container.uow() as uow:
        n = uow.session.get(Notification, notification_id)
        if n is None or n.status != "pending":
            return False
        email = render(container, uow.session, n)
    _mailer(container).send(email)
    with container.uow() as uow:
        n = uow.session.get(Notification, notification_id)
        if n.status == "pending":
            n.status, n.sent_at = "sent", container.clock.now()
        uow.commit()
    return True


def _pair_url(settings, pair_id: str) -> str:
    return f"{settings.app.base_url.rstrip('/')}/pairs/{pair_id}"


def render(container, session, n: Notification) -> OutgoingEmail:
    settings = container.settings
    person = session.get(Person, n.person_id)
    pair = session.get(Pair, n.pair_id) if n.pair_id else None
    occ = session.get(Occurrence, n.occurrence_id) if n.occurrence_id else None
    other = None
    if pair is not None:
        other = pair.mentee if person.id == pair.mentor_id else pair.mentor
    me_tz, other_tz = person.tz or "UTC", (other.tz or "UTC") if other else "UTC"
    name, other_name = person.name or person.email, (other.name or other.email) if other else ""
    p = n.payload or {}
    ics, method = None, "REQUEST"
    if n.kind == "reminder":
        series = occ.series
        goals = [g.text for g in session.scalars(select(Goal).where(Goal.pair_id == pair.id, Goal.status == "open"))]
        rendered = t.render_session_reminder(
            recipient_name=name, other_name=other_name, start=occ.start,
            duration_min=int((occ.end - occ.start).total_seconds() // 60), recipient_tz=me_tz, other_tz=other_tz,
            agenda=[line for line in (occ.agenda or "").splitlines() if line.strip()], goals=goals,
            video_url=series.video_url, reschedule_url=_pair_url(settings, pair.id))
    elif n.kind == "feedback":
        rendered = t.render_feedback_request(
            recipient_name=name, other_name=other_name, start=occ.start, recipient_tz=me_tz,
            met_url=feedback_url(settings, n.id, "met"), not_met_url=feedback_url(settings, n.id, "not_met"),
            moved_url=feedback_url(settings, n.id, "moved"), form_url=feedback_url(settings, n.id))
    elif n.kind == "series_cancel_ics":
        series = session.get(Series, p["series_id"])
        ics, method = _itip_cancel(series, pair, container.clock.now(), p.get("sequence", 1)), "CANCEL"
        rendered = _notice("ended", name, other_name, None, me_tz, p, settings, pair)
    elif n.kind in ("series_booked", "series_invite"):
        series = session.get(Series, p["series_id"])
        sessions = [t.Session(o.start, o.original_start if o.status == "moved" else None)
                    for o in series.occurrences if o.status in ("scheduled", "moved")]
        if n.kind == "series_invite":
            ics = _itip_request(series, pair, container.clock.now(), p.get("sequence", 0))
        rendered = t.render_series_booked(
            recipient_name=name, other_name=other_name, recipient_tz=me_tz, other_tz=other_tz, sessions=sessions,
            duration_min=series.duration_min, video_url=series.video_url, manage_url=_pair_url(settings, pair.id),
            invite_attached=ics is not None)
    elif n.kind == "moved":
        rendered = t.render_occurrence_moved(
            recipient_name=name, other_name=other_name, original_start=datetime.fromisoformat(p["old_start"]),
            new_start=datetime.fromisoformat(p["new_start"]), duration_min=int((occ.end - occ.start).total_seconds() // 60),
            recipient_tz=me_tz, other_tz=other_tz, reason=_public_reason(p.get("why", "")),
            video_url=occ.series.video_url)
    elif n.kind == "reconnect":
        rendered = t.render_reconnect_needed(
            recipient_name=name, calendar_label=PROVIDER_LABELS.get(p.get("provider"), "calendar"),
            reconnect_url=f"{settings.app.base_url.rstrip('/')}/calendars/")
    elif n.kind == "pair_attention":
        program = session.get(Program, pair.program_id)
        rendered = t.render_pair_needs_attention(
            coordinator_name=name, program_name=program.name, mentor_name=pair.mentor.name or pair.mentor.email,
            mentee_name=pair.mentee.name or pair.mentee.email, signals=[p.get("reason") or "needs a look"],
            pair_url=_pair_url(settings, pair.id))
    elif n.kind == "invitation":
        rendered = t.render_program_invitation(
            recipient_name=name, program_name=p.get("program_name", "a mentoring program"),
            coordinator_name=p.get("coordinator_name", "Your coordinator"), role=p.get("role", "mentee"),
            join_url=p["join_url"])
    elif n.kind == "magic_link":
        first = name.split()[0]
        text = (f"Hi {first},\n\nHere is your link to sign in to Tandem. It works once, for 30 minutes:\n\n"
                f"{p['url']}\n\nIf you did not ask for it, ignore this email: nobody can sign in without it.\n\n— Tandem\n")
        rendered = t.RenderedEmail(subject="Your sign-in link for Tandem", text=text, html=None)
    else:
        rendered = _notice(n.kind, name, other_name, occ, me_tz, p, settings, pair)
    return OutgoingEmail(to=(person.email,), subject=rendered.subject, text=rendered.text, html=rendered.html,
                         idempotency_key=n.idempotency_key, ics=ics, ics_method=method if ics else None)


def _public_reason(why: str) -> str:
    """Why a session moved, without naming anything about anyone's other meetings."""
    if "outside working hours" in why:
        return "the usual time no longer falls within both of your working hours that day"
    return "one of your calendars now shows a conflict at the usual time"


def _notice(kind, name, other_name, occ, tz, payload, settings, pair) -> t.RenderedEmail:
    """Short plain notices that need no template of their own."""
    from adapters.mail.localtime import when

    first = name.split()[0]
    url = _pair_url(settings, pair.id) if pair else settings.app.base_url
    start = occ.start if occ else None
    lines = {
        "conflict": (f"A session with {other_name} needs a new time",
                     f"Your session on {when(start, tz) if start else 'the planned date'} no longer fits both "
                     f"calendars, and no other mutual free time was found in that period. "
                     f"Pick another time or skip it on your pair page: {url}"),
        "move_proposed": (f"New time proposed for your session with {other_name}",
                          f"Your session on {when(start, tz) if start else ''} no longer fits both calendars. "
                          f"Proposed: {when(datetime.fromisoformat(payload['new_start']), tz) if payload.get('new_start') else '—'}. "
                          f"Accept or choose another time on your pair page: {url}"),
        "skipped": (f"Session with {other_name} skipped",
                    f"The session on {when(start, tz) if start else ''} was skipped. The rest of the series stays as it is: {url}"),
        "paused": (f"Sessions with {other_name} are paused",
                   f"Upcoming sessions were taken off your calendars. Resume any time from your pair page: {url}"),
        "ended": (f"Your mentoring sessions with {other_name} have ended",
                  f"The remaining sessions were removed from your calendars. Thank you for taking part: {url}"),
    }
    subject, body = lines.get(kind, ("Update from Tandem", f"There is an update on your pair page: {url}"))
    text = f"Hi {first},\n\n{body}\n\n— Tandem\n"
    return t.RenderedEmail(subject=subject, text=text, html=None)


def _itip_spec(series: Series, pair: Pair):
    from scheduler.services.booking import organizer_and_attendee, series_spec

    return series_spec(series, pair, *organizer_and_attendee(pair))


def _itip_request(series: Series, pair: Pair, now: datetime, sequence: int) -> str:
    from adapters.mail.itip import MovedOccurrence, build_request

    return build_request(
        _itip_spec(series, pair), now=now, sequence=sequence, video_url=series.video_url,
        skipped=[o.original_start for o in series.occurrences if o.status in ("cancelled", "skipped")],
        moved=[MovedOccurrence(o.original_start, o.start, o.end) for o in series.occurrences if o.status == "moved"])


def _itip_cancel(series: Series, pair: Pair, now: datetime, sequence: int) -> str:
    from adapters.mail.itip import build_cancel

    return build_cancel(_itip_spec(series, pair), now=now, sequence=sequence)
