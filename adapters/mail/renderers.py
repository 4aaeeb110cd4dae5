"""One renderer per notification kind: a plain context from ``scheduler.ports`` in, an
:class:`~scheduler.ports.OutgoingEmail` out (implements the ``EmailRenderer`` port).

The use case (``scheduler.services.delivery``) loads the rows and builds the context; everything
about wording, local times, templates and iTIP attachments happens here. A kind without a
renderer of its own becomes a short notice pointing at the pair page.
"""
from __future__ import annotations

from typing import Callable

from adapters.mail import templates as t
from adapters.mail.itip import MovedOccurrence, build_cancel, build_request
from adapters.mail.localtime import when
from scheduler.ports import (DigestContext, EmailContext, FeedbackRequestContext, InvitationContext, MagicLinkContext, MovedContext,
                             NoticeContext, OutgoingEmail, PairAttentionContext, PartnerLeftContext, ReconnectContext,
                             ReminderContext,
                             SeriesBookedContext, SeriesCancellation, SeriesInvitation)

PROVIDER_LABELS = {"google": "Google Calendar", "microsoft": "Outlook calendar", "caldav": "CalDAV calendar",
                   "ics": "calendar feed", "memory": "sandbox calendar"}


def _email(ctx: EmailContext, rendered: t.RenderedEmail, ics: str | None = None,
           method: str = "REQUEST") -> OutgoingEmail:
    return OutgoingEmail(to=(ctx.to,), subject=rendered.subject, text=rendered.text, html=rendered.html,
                         idempotency_key=ctx.idempotency_key, ics=ics, ics_method=method if ics else None)


def _first(name: str) -> str:
    return name.split()[0]


# --- iTIP attachments ---------------------------------------------------------------------------
def itip_request(invitation: SeriesInvitation) -> str:
    return build_request(invitation.spec, now=invitation.now, sequence=invitation.sequence,
                         video_url=invitation.video_url, skipped=list(invitation.skipped),
                         moved=[MovedOccurrence(m.original_start, m.start, m.end) for m in invitation.moved])


def itip_cancel(cancellation: SeriesCancellation) -> str:
    return build_cancel(cancellation.spec, now=cancellation.now, sequence=cancellation.sequence)


# --- one renderer per kind ------------------------------------------------------------------------
def reminder(kind: str, ctx: ReminderContext) -> OutgoingEmail:
    return _email(ctx, t.render_session_reminder(
        recipient_name=ctx.recipient_name, other_name=ctx.other_name, start=ctx.start,
        duration_min=ctx.duration_min, recipient_tz=ctx.recipient_tz, other_tz=ctx.other_tz,
        agenda=list(ctx.agenda), goals=list(ctx.goals), video_url=ctx.video_url,
        reschedule_url=ctx.reschedule_url))


def feedback_request(kind: str, ctx: FeedbackRequestContext) -> OutgoingEmail:
    return _email(ctx, t.render_feedback_request(
        recipient_name=ctx.recipient_name, other_name=ctx.other_name, start=ctx.start,
        recipient_tz=ctx.recipient_tz, met_url=ctx.met_url, not_met_url=ctx.not_met_url,
        moved_url=ctx.moved_url, form_url=ctx.form_url))


def series_booked(kind: str, ctx: SeriesBookedContext) -> OutgoingEmail:
    """``series_booked`` and ``series_invite`` (the latter with the iTIP REQUEST attached)."""
    ics = itip_request(ctx.invitation) if ctx.invitation is not None else None
    rendered = t.render_series_booked(
        recipient_name=ctx.recipient_name, other_name=ctx.other_name, recipient_tz=ctx.recipient_tz,
        other_tz=ctx.other_tz, sessions=[t.Session(s.start, s.original_start) for s in ctx.sessions],
        duration_min=ctx.duration_min, video_url=ctx.video_url, manage_url=ctx.manage_url,
        invite_attached=ics is not None)
    return _email(ctx, rendered, ics)


def series_cancelled(kind: str, ctx: NoticeContext) -> OutgoingEmail:
    """The "ended" notice with the iTIP CANCEL for the whole series attached."""
    if ctx.cancellation is None:
        raise ValueError("a series_cancel_ics email needs the series to cancel")
    return _email(ctx, notice_text("ended", ctx), itip_cancel(ctx.cancellation), "CANCEL")


# How a "moved" email says why (never what the other meeting is).
MOVE_CAUSE_TEXT = {
    "outside_working_hours": "the usual time no longer falls within both of your working hours that day",
    "calendar_conflict": "one of your calendars now shows a conflict at the usual time",
    "moved_by_person": "{who} moved this session{with_other} on the pair page",
}


def move_reason(ctx: MovedContext) -> str:
    """The "why" line of a moved email: Tandem's reason, or who moved it ("Lin moved this session
    on the pair page"; "You moved this session with Lin ..." to the person who did)."""
    if ctx.cause == "moved_by_person":
        if ctx.moved_by_you:
            return MOVE_CAUSE_TEXT["moved_by_person"].format(who="You", with_other=f" with {ctx.other_name.split()[0]}")
        return MOVE_CAUSE_TEXT["moved_by_person"].format(who=(ctx.moved_by_name or ctx.other_name).split()[0],
                                                         with_other="")
    return MOVE_CAUSE_TEXT.get(ctx.cause, MOVE_CAUSE_TEXT["calendar_conflict"])


def occurrence_moved(kind: str, ctx: MovedContext) -> OutgoingEmail:
    return _email(ctx, t.render_occurrence_moved(
        recipient_name=ctx.recipient_name, other_name=ctx.other_name, original_start=ctx.original_start,
        new_start=ctx.new_start, duration_min=ctx.duration_min, recipient_tz=ctx.recipient_tz,
        other_tz=ctx.other_tz, reason=move_reason(ctx), by_person=ctx.cause == "moved_by_person",
        video_url=ctx.video_url))


def reconnect_needed(kind: str, ctx: ReconnectContext) -> OutgoingEmail:
    return _email(ctx, t.render_reconnect_needed(
        recipient_name=ctx.recipient_name, calendar_label=PROVIDER_LABELS.get(ctx.provider, "calendar"),
        reconnect_url=ctx.reconnect_url))


def pair_attention(kind: str, ctx: PairAttentionContext) -> OutgoingEmail:
    return _email(ctx, t.render_pair_needs_attention(
        coordinator_name=ctx.recipient_name, program_name=ctx.program_name, mentor_name=ctx.mentor_name,
        mentee_name=ctx.mentee_name, signals=list(ctx.signals) or ["needs a look"], pair_url=ctx.pair_url))


def coordinator_digest(kind: str, ctx: DigestContext) -> OutgoingEmail:
    return _email(ctx, t.render_coordinator_digest(
        coordinator_name=ctx.recipient_name, program_name=ctx.program_name, week_label=ctx.week_label,
        held=ctx.held, missed=ctx.missed, missed_rate=ctx.missed_rate, at_risk=ctx.at_risk,
        more_at_risk=ctx.more_at_risk, broken=ctx.broken, more_broken=ctx.more_broken,
        broken_connections=ctx.broken_connections, dashboard_url=ctx.dashboard_url,
        unsubscribe_url=ctx.unsubscribe_url, settings_url=ctx.settings_url))


def program_invitation(kind: str, ctx: InvitationContext) -> OutgoingEmail:
    return _email(ctx, t.render_program_invitation(
        recipient_name=ctx.recipient_name, program_name=ctx.program_name or "a mentoring program",
        coordinator_name=ctx.coordinator_name or "Your coordinator", role=ctx.role or "mentee",
        join_url=ctx.join_url, pairs=[(p.role, p.other_name) for p in ctx.pairs]))


def magic_link(kind: str, ctx: MagicLinkContext) -> OutgoingEmail:
    text = (f"Hi {_first(ctx.recipient_name)},\n\nHere is your link to sign in to Tandem. It works once, for 30 minutes:"
            f"\n\n{ctx.url}\n\nIf you did not ask for it, ignore this email: nobody can sign in without it.\n\n— Tandem\n")
    return _email(ctx, t.RenderedEmail(subject="Your sign-in link for Tandem", text=text, html=None))


def partner_left(kind: str, ctx: PartnerLeftContext) -> OutgoingEmail:
    """The pair ended because the other person's data was erased: worded for the one who stays."""
    role = ctx.left_role if ctx.left_role in ("mentor", "mentee") else "partner"
    if ctx.cancelled:
        listed = "\n".join(f"  - {when(start, ctx.recipient_tz)}" for start in ctx.cancelled)
        sessions = (f"Your upcoming sessions were cancelled and Tandem has asked the calendars to remove them:"
                    f"\n\n{listed}\n\nIf one still shows in your calendar, you can delete it.")
    else:
        sessions = "You had no upcoming sessions, so nothing changes in your calendar."
    text = (f"Hi {_first(ctx.recipient_name)},\n\nYour {role} in {ctx.program_name} is no longer taking part and "
            f"their account has been removed from Tandem, so your mentoring pair has ended.\n\n{sessions}\n\n"
            f"Your program coordinator can pair you with someone new. Your own history stays on your page: "
            f"{ctx.url}\n\n— Tandem\n")
    subject = f"Your {role} has left {ctx.program_name}: your sessions are cancelled"
    return _email(ctx, t.RenderedEmail(subject=subject, text=text, html=None))


def notice(kind: str, ctx: NoticeContext) -> OutgoingEmail:
    return _email(ctx, notice_text(kind, ctx))


def notice_text(kind: str, ctx: NoticeContext) -> t.RenderedEmail:
    """Short plain notices that need no template of their own."""
    tz, url, start, other_name = ctx.recipient_tz, ctx.url, ctx.start, ctx.other_name
    lines = {
        "conflict": (f"A session with {other_name} needs a new time",
                     f"Your session on {when(start, tz) if start else 'the planned date'} no longer fits both "
                     f"calendars, and no other mutual free time was found in that period. "
                     f"Pick another time or skip it on your pair page: {url}"),
        "move_proposed": (f"New time proposed for your session with {other_name}",
                          f"Your session on {when(start, tz) if start else ''} no longer fits both calendars. "
                          f"Proposed: {when(ctx.new_start, tz) if ctx.new_start else '—'}. "
                          f"Accept or choose another time on your pair page: {url}"),
        "skipped": (f"Session with {other_name} skipped",
                    f"The session on {when(start, tz) if start else ''} was skipped. The rest of the series stays as it is: {url}"),
        "paused": (f"Sessions with {other_name} are paused",
                   f"Upcoming sessions were taken off your calendars. Resume any time from your pair page: {url}"),
        "resumed": (f"Sessions with {other_name} are back on",
                    f"Your sessions are back on your calendars, the next on {when(start, tz) if start else 'the planned date'}. "
                    f"Anything you skipped or moved before the pause stays as you decided: {url}"),
        "ended": (f"Your mentoring sessions with {other_name} have ended",
                  f"The remaining sessions were removed from your calendars. Thank you for taking part: {url}"),
    }
    lines.update(_coordinator_lines(kind, ctx))
    subject, body = lines.get(kind, ("Update from Tandem", f"There is an update on your pair page: {url}"))
    text = f"Hi {_first(ctx.recipient_name)},\n\n{body}\n\n— Tandem\n"
    return t.RenderedEmail(subject=subject, text=text, html=None)


def _coordinator_lines(kind: str, ctx: NoticeContext) -> dict[str, tuple[str, str]]:
    """Notices of a change a coordinator made, worded for the person who reads them."""
    other, url, detail = ctx.other_name, ctx.url, ctx.detail or ""
    if ctx.by_name is None and kind in ("paused", "ended", "resumed"):
        return {}  # one of the pair did it: the plain notice
    by = ctx.by_name or "Your program's coordinator"
    return {
        "paused": (f"{by} paused your sessions with {other}",
                   f"{by}, your program's coordinator, paused your mentoring sessions with {other}: the upcoming "
                   f"sessions were taken off your calendars. They will resume them; ask them if you have "
                   f"questions. Your pair page: {url}"),
        "ended": (f"Your mentoring sessions with {other} have ended",
                  f"{by}, your program's coordinator, ended your mentoring sessions with {other}. The remaining "
                  f"sessions were removed from your calendars. Thank you for taking part: {url}"),
        "resumed": (f"Your sessions with {other} start again",
                    f"{by} resumed your mentoring sessions with {other}. "
                    + (f"They are back on your calendars as they were, the next on {when(ctx.start, ctx.recipient_tz)}: {url}"
                       if ctx.start else
                       f"Tandem is finding a regular time for the remaining sessions and will email you when they "
                       f"are on your calendar: {url}")),
        "replanning": (f"New times are coming for your sessions with {other}",
                       f"{by} asked Tandem to plan your sessions with {other} again. The upcoming sessions were "
                       f"taken off your calendars; Tandem will email you the new regular time shortly: {url}"),
        "mentor_released": (f"Your mentoring of {other} has ended",
                            f"{by}, your program's coordinator, paired {other} with another mentor, {detail}. "
                            f"Your upcoming sessions with {other} were removed from your calendars. Thank you "
                            f"for your time with them."),
        "mentor_changed": (f"Your new mentor is {other}",
                           f"{by}, your program's coordinator, paired you with a new mentor: {other}. Your "
                           f"upcoming sessions with {detail} were removed from your calendars, and Tandem will "
                           f"email you the sessions with {other} once it has found a regular time: {url}"),
        "mentor_assigned": (f"You are now mentoring {other}",
                            f"{by}, your program's coordinator, paired you with {other} as their mentor. Tandem is "
                            f"finding a regular time for you both and will email you the sessions: {url}"),
        "pair_removed": (f"Your mentoring pair with {other} was removed from {detail}",
                         f"{by} removed your mentoring pair with {other} from the program {detail}. The remaining "
                         f"sessions were removed from your calendars. If this is a surprise, ask them why."),
    }


RENDERERS: dict[str, Callable[[str, EmailContext], OutgoingEmail]] = {
    "reminder": reminder,
    "feedback": feedback_request,
    "series_booked": series_booked,
    "series_invite": series_booked,
    "series_cancel_ics": series_cancelled,
    "moved": occurrence_moved,
    "reconnect": reconnect_needed,
    "pair_attention": pair_attention,
    "at_risk_alert": pair_attention,
    "coordinator_digest": coordinator_digest,
    "invitation": program_invitation,
    "magic_link": magic_link,
    "partner_left": partner_left,
}


class MailRenderer:
    """The ``EmailRenderer`` port: the renderer for ``kind``, or a short notice."""

    def render(self, kind: str, context: EmailContext) -> OutgoingEmail:
        return RENDERERS.get(kind, notice)(kind, context)  # type: ignore[arg-type]
