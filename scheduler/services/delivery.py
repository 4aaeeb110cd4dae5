"""Deliver one notification row as an email, exactly once in effect.

The row's ``idempotency_key`` becomes the email's Message-ID and the mailer's dedupe key; the
row is marked sent in the same transaction that checks it is still pending, so a duplicate
delivery after a crash sends nothing new.

This use case loads what the email needs and hands a plain context to the ``EmailRenderer``
port (``adapters.mail.renderers``: one renderer per kind); wording, local times and iTIP
attachments are the renderer's business.

Many at once (:func:`deliver_many`, run by the ``deliver_notifications`` actor on a batch of
outbox rows the tick handed over together): one read loads every row's notification and what it
needs, each email is rendered, then sent one after another on the mailer's kept connection, and
right after each server's ``250`` one small transaction marks that notification sent — so the
window in which a crash could resend an email is the same single email as with one row per
message. The caller finishes the batch's outbox rows together afterwards: a row a crash left
unfinished is re-driven, finds its notification sent, and is done without a send.
"""
from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator, Sequence

from scheduler.core.entities import Notification, Pair, Series
from scheduler.core.pair_state import ACTIVE_OCCURRENCE
from scheduler.errors import MailUnavailable, TandemError
from scheduler.ports import (Dependencies, EmailContext, EmailRenderer, FeedbackRequestContext, InvitationContext,
                             InvitedPair, MagicLinkContext, MOVE_CAUSES, MovedContext, MovedSession, NoticeContext, OutgoingEmail,
                             PairAttentionContext, PartnerLeftContext, ReconnectContext, ReminderContext, SeriesBookedContext,
                             SeriesCancellation, SeriesInvitation, SeriesSpec, SessionTime, UnitOfWork)
from scheduler.services import digest
from scheduler.services.booking import organizer_and_attendee, series_spec
from scheduler.services.links import feedback_url


def deliver_notification(deps: Dependencies, notification_id: str) -> bool:
    """Render and send; False when the row is not pending (sent, cancelled) — a no-op."""
    with deps.uow() as uow:
        n = uow.notifications.get(notification_id)
        if n is None or n.status != "pending":
            return False
        if n.kind == digest.KIND:  # built from the dashboard's use cases, each with its own unit of work
            person_id, payload, key = n.person_id, dict(n.payload or {}), n.idempotency_key
            email = None
        else:
            email = render(deps, uow, n)
    if email is None:
        context = digest.digest_context(deps, person_id, payload.get("program_id", ""), key)
        if context is None:  # opted out meanwhile, no longer a coordinator, nothing to report
            with deps.uow() as uow:
                n = uow.notifications.get(notification_id)
                if n.status == "pending":
                    n.status = "cancelled"
                uow.commit()
            return False
        email = _renderer(deps).render(digest.KIND, context)
    deps.mailer.send(email)
    _mark_sent(deps, notification_id)
    return True


@dataclass(frozen=True)
class DeliveryJob:
    """One outbox row of kind ``deliver_notification``, taken (leased) by the caller."""

    outbox_id: str
    notification_id: str


@dataclass(frozen=True)
class DeliveryOutcome:
    """What became of one job: ``error`` None means done (sent, or nothing left to send: the
    caller finishes the outbox row), else the caller records ``error`` on the row. ``sent``: the
    server took the email (with an error: its mark could not be written)."""

    job: DeliveryJob
    error: Exception | None = None
    sent: bool = False


class NotTried(TandemError):
    """An email of a batch that was not sent, because the batch stopped before it (the mail
    server is away, the database could not record a send, or the lease is running out): the
    outbox row is retried like any failed row."""


MAX_UNAVAILABLE_IN_A_ROW = 2  # then the mail server is taken to be away and the batch stops


def deliver_many(deps: Dependencies, jobs: Sequence[DeliveryJob], *, time_left: Callable[[], bool] = lambda: True,
                 scope: Callable[[str], AbstractContextManager] = lambda _outbox_id: nullcontext()
                 ) -> Iterator[DeliveryOutcome]:
    """Deliver the notifications of ``jobs``, yielding one outcome per job as soon as it is known.

    Rendering reads every notification and what it needs in one read-only unit of work; then
    each email is sent and, right after the server accepted it, its notification marked sent in
    a transaction of its own (the caller finishes the outbox rows). A job whose notification is not pending any more (sent or
    cancelled meanwhile) is done without a send; digests are delivered one by one
    (:func:`deliver_notification`). No new send starts once ``time_left()`` is False (the
    caller's lease is running out) or after the mail server was unavailable twice in a row;
    the jobs left then fail with the reason (:class:`NotTried`, retried by the outbox).
    ``scope(outbox_id)`` wraps each job's work (the worker puts the row id on its log lines)."""
    prepared, failed = _render_many(deps, jobs, scope)
    yield from failed
    unavailable, stop, rest = 0, None, []
    for index, (job, email, is_digest) in enumerate(prepared):
        with scope(job.outbox_id):
            if is_digest:
                yield _deliver_digest(deps, job)
                continue
            if email is None:  # sent or cancelled meanwhile: nothing to send
                yield DeliveryOutcome(job)
                continue
            if not time_left():
                stop, rest = NotTried("not sent: the batch ran out of time; it is sent again soon"), prepared[index:]
                break
            outcome = _send(deps, job, email)
            yield outcome
            if isinstance(outcome.error, MailUnavailable):
                unavailable += 1
                if unavailable < MAX_UNAVAILABLE_IN_A_ROW:
                    continue
                stop = NotTried(f"not sent: the mail server is unavailable ({outcome.error})")
            elif outcome.sent and outcome.error is not None:
                stop = NotTried("not sent: the database could not record the email sent before it "
                                f"({type(outcome.error).__name__}); it is sent again soon")
            else:  # sent, or refused for this email alone
                unavailable = 0
                continue
            rest = prepared[index + 1:]
            break
    for job, email, is_digest in rest:
        with scope(job.outbox_id):
            yield DeliveryOutcome(job, stop) if email is not None or is_digest else DeliveryOutcome(job)


def _render_many(deps: Dependencies, jobs: Sequence[DeliveryJob], scope: Callable[[str], AbstractContextManager]
                 ) -> tuple[list[tuple[DeliveryJob, OutgoingEmail | None, bool]], list[DeliveryOutcome]]:
    """Each job with its rendered email (None: nothing to send) and whether it is a digest
    (rendered later, from the dashboard's use cases), and the jobs whose rendering failed. The
    unit of work only reads, and ends before anything is sent or written."""
    prepared, failed = [], []
    with deps.reading() as uow:
        notes = {n.id: n for n in uow.notifications.load_for_delivery([job.notification_id for job in jobs])}
        for job in jobs:
            n = notes.get(job.notification_id)
            if n is None or n.status != "pending":
                prepared.append((job, None, False))
            elif n.kind == digest.KIND:
                prepared.append((job, None, True))
            else:
                with scope(job.outbox_id):
                    try:
                        prepared.append((job, render(deps, uow, n), False))
                    except Exception as exc:  # this row only: the outbox retries or gives up on it
                        failed.append(DeliveryOutcome(job, exc))
    return prepared, failed


def _send(deps: Dependencies, job: DeliveryJob, email: OutgoingEmail) -> DeliveryOutcome:
    """Send, then mark the notification sent at once."""
    try:
        deps.mailer.send(email)
    except Exception as exc:  # unavailable, rejected, invalid: the caller and the outbox decide
        return DeliveryOutcome(job, exc)
    try:
        _mark_sent(deps, job.notification_id)
    except Exception as exc:  # the database stayed away longer than the mark's budget
        return DeliveryOutcome(job, exc, sent=True)
    return DeliveryOutcome(job, sent=True)


def _deliver_digest(deps: Dependencies, job: DeliveryJob) -> DeliveryOutcome:
    try:
        return DeliveryOutcome(job, sent=deliver_notification(deps, job.notification_id))
    except Exception as exc:
        return DeliveryOutcome(job, exc)


MARK_SENT_WAITS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)  # seconds between tries


_sleep = time.sleep


def _mark_sent(deps: Dependencies, notification_id: str, sleep=None, *, outbox_id: str | None = None) -> None:
    """Record that the server accepted the email (and, given ``outbox_id``, finish that outbox
    row in the same transaction). The database may be away for a moment (a restart, a failover)
    right then; the email is out, so the mark is tried again for up to half the row's lease
    (``claim_timeout``) before the error goes to the outbox, whose retry would send the email a
    second time (the residual window, docs/pipeline.md)."""
    budget, waited, sleep = deps.config.claim_timeout.total_seconds() / 2, 0.0, sleep or _sleep
    for wait in (*MARK_SENT_WAITS, None):
        try:
            with deps.uow() as uow:
                now = deps.clock.now()
                uow.notifications.mark_sent(notification_id, now)
                if outbox_id is not None:
                    uow.outbox.mark_done(outbox_id, now)
                uow.commit()
            return
        except Exception:  # whatever the storage raises when it is unreachable
            if wait is None or waited + wait > budget:
                raise
            sleep(wait)
            waited += wait


def _renderer(deps: Dependencies) -> EmailRenderer:
    if deps.renderer is None:
        raise LookupError("no email renderer is configured in this process")
    return deps.renderer


def render(deps: Dependencies, uow: UnitOfWork, n: Notification) -> OutgoingEmail:
    """The email for notification ``n`` (read inside ``uow``; nothing is written)."""
    return _renderer(deps).render(n.kind, email_context(deps, uow, n))


def _pair_url(deps: Dependencies, pair_id: str) -> str:
    return deps.config.url(f"pairs/{pair_id}")


def _coordinator_pair_url(deps: Dependencies, program_id: str, pair_id: str) -> str:
    """The coordinator's pair page (the pair's own page is its two people's alone)."""
    return deps.config.url(f"programs/{program_id}/pairs/{pair_id}")


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def email_context(deps: Dependencies, uow: UnitOfWork, n: Notification) -> EmailContext:
    """Everything the renderer of ``n.kind`` needs, as plain values."""
    person = uow.people.get(n.person_id)
    pair = uow.pairs.get(n.pair_id) if n.pair_id else None
    occ = uow.occurrences.get(n.occurrence_id) if n.occurrence_id else None
    other = None
    if pair is not None:
        other = pair.mentee if person.id == pair.mentor_id else pair.mentor
    me_tz, other_tz = person.tz or "UTC", (other.tz or "UTC") if other else "UTC"
    name, other_name = person.name or person.email, (other.name or other.email) if other else ""
    p = n.payload or {}
    base = dict(to=person.email, idempotency_key=n.idempotency_key, recipient_name=name)
    now = deps.clock.now()
    if n.kind == "reminder":
        return ReminderContext(
            **base, other_name=other_name, start=occ.start, duration_min=_minutes(occ.start, occ.end),
            recipient_tz=me_tz, other_tz=other_tz,
            agenda=tuple(line for line in (occ.agenda or "").splitlines() if line.strip()),
            goals=tuple(g.text for g in pair.goals if g.status == "open"),
            video_url=occ.series.video_url, reschedule_url=_pair_url(deps, pair.id))
    if n.kind == "feedback":
        return FeedbackRequestContext(
            **base, other_name=other_name, start=occ.start, recipient_tz=me_tz,
            met_url=feedback_url(deps, n.id, "met"), not_met_url=feedback_url(deps, n.id, "not_met"),
            moved_url=feedback_url(deps, n.id, "moved"), form_url=feedback_url(deps, n.id))
    if n.kind == "series_cancel_ics":
        series = uow.series.get(p["series_id"])
        return NoticeContext(**base, other_name=other_name, recipient_tz=me_tz, url=_notice_url(deps, pair),
                             cancellation=SeriesCancellation(_itip_spec(series, pair), now, p.get("sequence", 1)))
    if n.kind in ("series_booked", "series_invite"):
        series = uow.series.get(p["series_id"])
        sessions = tuple(SessionTime(o.start, o.original_start if o.status == "moved" else None)
                         for o in series.occurrences if o.status in ACTIVE_OCCURRENCE)
        invitation = _invitation(series, pair, now, p.get("sequence", 0)) if n.kind == "series_invite" else None
        return SeriesBookedContext(
            **base, other_name=other_name, recipient_tz=me_tz, other_tz=other_tz, sessions=sessions,
            duration_min=series.duration_min, video_url=series.video_url, manage_url=_pair_url(deps, pair.id),
            invitation=invitation)
    if n.kind == "moved":
        cause = move_cause(p.get("why", ""), p.get("cause"))
        mover = uow.people.get(p["by"]) if cause == "moved_by_person" and p.get("by") else None
        return MovedContext(
            **base, other_name=other_name, original_start=datetime.fromisoformat(p["old_start"]),
            new_start=datetime.fromisoformat(p["new_start"]), duration_min=_minutes(occ.start, occ.end),
            recipient_tz=me_tz, other_tz=other_tz, cause=cause,
            video_url=occ.series.video_url, moved_by_name=(mover.name or mover.email) if mover else None,
            moved_by_you=mover is not None and mover.id == person.id)
    if n.kind == "reconnect":
        return ReconnectContext(**base, provider=p.get("provider"), reconnect_url=deps.config.url("calendars/"))
    if n.kind in ("pair_attention", "at_risk_alert"):
        program = uow.programs.get(pair.program_id)
        signals = tuple(p.get("reasons") or ((p["reason"],) if p.get("reason") else ()))
        return PairAttentionContext(
            **base, program_name=program.name, mentor_name=pair.mentor.name or pair.mentor.email,
            mentee_name=pair.mentee.name or pair.mentee.email, signals=signals,
            pair_url=_coordinator_pair_url(deps, pair.program_id, pair.id))
    if n.kind == "invitation":
        return InvitationContext(
            **base, program_name=p.get("program_name"), coordinator_name=p.get("coordinator_name"),
            role=p.get("role"),
            join_url=p["join_url"],
            pairs=tuple(InvitedPair(item["role"], item["other_name"]) for item in p.get("pairs", ())))
    if n.kind == "partner_left":
        return PartnerLeftContext(**base, left_role=p.get("role", ""), program_name=p.get("program_name", ""),
                                  recipient_tz=me_tz, url=deps.config.url("/"),
                                  cancelled=tuple(datetime.fromisoformat(s) for s in p.get("sessions", ())))
    if n.kind == "magic_link":
        return MagicLinkContext(**base, url=p["url"])
    by = uow.people.get(p["by"]) if p.get("by") and (pair is None or p["by"] not in (pair.mentor_id, pair.mentee_id)) \
        else None  # a coordinator made the change: the notice says who
    return NoticeContext(**base, other_name=other_name or p.get("other_name", ""), recipient_tz=me_tz,
                         url=_notice_url(deps, pair), start=occ.start if occ else None,
                         new_start=_new_start(p) if n.kind == "move_proposed" else None,
                         by_name=(by.name or by.email) if by else None, detail=p.get("detail"))


def move_cause(why: str, cause: str | None = None) -> str:
    """Why a session moved, as one of ``MOVE_CAUSES``: a ``cause`` stored with the notice wins
    (a person's move says ``moved_by_person``); else the planner's diagnosis, which may name
    details of someone's calendar, is reduced to which kind of reason it was."""
    if cause in MOVE_CAUSES:
        return cause
    if why == "moved by one of you":  # notices queued before the cause was stored
        return "moved_by_person"
    return "outside_working_hours" if "outside working hours" in why else "calendar_conflict"


def _notice_url(deps: Dependencies, pair: Pair | None) -> str:
    return _pair_url(deps, pair.id) if pair else deps.config.base_url


def _new_start(payload: dict) -> datetime | None:
    return datetime.fromisoformat(payload["new_start"]) if payload.get("new_start") else None


def _itip_spec(series: Series, pair: Pair) -> SeriesSpec:
    return series_spec(series, pair, *organizer_and_attendee(pair))


def _invitation(series: Series, pair: Pair, now: datetime, sequence: int) -> SeriesInvitation:
    return SeriesInvitation(
        _itip_spec(series, pair), now=now, sequence=sequence, video_url=series.video_url,
        skipped=tuple(o.original_start for o in series.occurrences if o.status in ("cancelled", "skipped")),
        moved=tuple(MovedSession(o.original_start, o.start, o.end) for o in series.occurrences
                    if o.status == "moved"))
