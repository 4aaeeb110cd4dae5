"""The emails Tandem sends, as plain functions: plain values in, ``(subject, text, html)`` out.

Times arrive as aware datetimes with IANA zone names and are shown in the reader's own zone
(and, where two people meet, in the other person's too). Links arrive ready-made and signed;
nothing here signs or stores anything.

Confidentiality: these functions only ever receive the pair's own sessions. A ``reason`` text
(why a session moved) must say *that* someone is busy, never *what* their other meeting is;
feedback answers are never put into a coordinator email.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import jinja2

from adapters.mail.localtime import ClockShift, at, clock, clock_shifts, day, format_day, place, weekday_name, when
from scheduler.core.timegrid import zone
from scheduler.core.timeview import clock_change
from scheduler.ports import OutgoingEmail

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


class RenderedEmail(NamedTuple):
    """A rendered email; unpacks as ``subject, text, html``."""

    subject: str
    text: str
    html: str

    def to_email(self, to: Sequence[str], idempotency_key: str, *, ics: str | None = None,
                 ics_method: str | None = None) -> OutgoingEmail:
        """The :class:`~scheduler.ports.OutgoingEmail` carrying this content (and an iTIP .ics)."""
        return OutgoingEmail(to=tuple(to), subject=self.subject, text=self.text, idempotency_key=idempotency_key,
                             html=self.html, ics=ics, ics_method=ics_method)


@dataclass(frozen=True)
class Session:
    """One session of a series; ``original_start`` is set when it was moved alone."""

    start: datetime
    original_start: datetime | None = None


@functools.cache
def _environment() -> jinja2.Environment:
    """Built on first use (never at import): HTML autoescaped, text not; unknown names fail."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        auto_reload=False)  # templates ship with the code: no file check on every email


def _render(name: str, subject: str, **context: Any) -> RenderedEmail:
    env = _environment()
    context["subject"] = subject
    text = env.get_template(f"{name}.txt").render(**context)
    html = env.get_template(f"{name}.html").render(**context)
    return RenderedEmail(subject=subject, text=text, html=html)


def _first_name(name: str) -> str:
    return name.split()[0] if name.strip() else name


def _shift_note(shift: ClockShift, who: str, zones: Sequence[tuple[str, str]]) -> str:
    """The note for one clock shift, naming whose clocks change and when: ``zones`` are the
    reader's and the other person's ``(tz, "your" | "Sam's")``; a reader in a zone without DST is
    told that the other person's clocks change, not theirs."""
    causes, seen = [], set()
    for tz, whose in zones:
        changed = clock_change(zone(tz), shift.previous, shift.since) if shift.previous else None
        if changed and tz not in seen:
            causes.append(f"{whose} clocks change on {changed}")
        seen.add(tz)
    cause = " and ".join(causes) if causes else "because of a daylight saving change"
    return (f"From {day(shift.since, shift.tz)}, sessions start at {shift.new_clock} for {who} instead of "
            f"{shift.old_clock} ({place(shift.tz)} time): {cause}.")


def _elsewhere(moment: datetime, tz_name: str) -> str:
    """``Wed 24 Feb 2027, 00:00 in Tokyo``: the other person's local time, no nested brackets."""
    return f"{at(moment, tz_name)} in {place(tz_name)}"


# --- invitation to join a program ------------------------------------------------------------
def _and(names: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def invited_pairs_line(pairs: Sequence[tuple[str, str]]) -> str | None:
    """Who the reader will meet, from ``(role, other_name)`` pairs: ``You will mentor Lin Chen and
    Sam Okafor.``, ``Your mentor will be Ada Park.``, or both; None without pairs."""
    mentees = [other for role, other in pairs if role == "mentor"]
    mentors = [other for role, other in pairs if role == "mentee"]
    parts = []
    if mentees:
        parts.append(f"You will mentor {_and(mentees)}.")
    if mentors:
        parts.append(f"Your mentor{'s' if len(mentors) > 1 else ''} will be {_and(mentors)}.")
    return " ".join(parts) or None


def render_program_invitation(*, recipient_name: str, program_name: str, coordinator_name: str, role: str,
                              join_url: str, expires_on: date | None = None,
                              pairs: Sequence[tuple[str, str]] = ()) -> RenderedEmail:
    """Invite someone to a mentoring program; ``role`` is ``mentor``, ``mentee`` or ``mentor and
    mentee``; ``pairs`` are the ``(role, other_name)`` of every pair this email invites them to."""
    others = [other for _, other in pairs]
    return _render("program_invitation", f"You're invited to {program_name}",
                   first_name=_first_name(recipient_name), program_name=program_name,
                   coordinator_name=coordinator_name, role=role, join_url=join_url,
                   expires=format_day(expires_on) if expires_on else None,
                   pairs_line=invited_pairs_line(pairs), several=len(others) > 1,
                   others=_and(others) if others else None)


# --- series booked ---------------------------------------------------------------------------
def render_series_booked(*, recipient_name: str, other_name: str, recipient_tz: str, other_tz: str,
                         sessions: Sequence[Session], duration_min: int, video_url: str | None = None,
                         manage_url: str | None = None, invite_attached: bool = False) -> RenderedEmail:
    """The series is on the calendar: every session in the reader's zone and the other person's,
    with a note whenever a clock change shifts either person's local time during the series."""
    if not sessions:
        raise ValueError("a booked series has at least one session")
    ordered = sorted(sessions, key=lambda s: s.start)
    # Clock changes are read off the rule's own times: a session moved alone is not a shift.
    regular = sorted(s.original_start or s.start for s in ordered)
    rule_start, first = regular[0], ordered[0].start
    other_first = _first_name(other_name)
    zones = [(recipient_tz, "your"), (other_tz, f"{other_first}'s")]
    notes = [_shift_note(s, "you", zones) for s in clock_shifts(regular, recipient_tz)]
    notes += [_shift_note(s, other_first, zones) for s in clock_shifts(regular, other_tz)]
    rows = [dict(day=day(s.start, recipient_tz), clock=clock(s.start, recipient_tz),
                 other_day=day(s.start, other_tz), other_clock=clock(s.start, other_tz),
                 moved_from=at(s.original_start, recipient_tz) if s.original_start else None)
            for s in ordered]
    return _render("series_booked", f"Your sessions with {other_first} are booked",
                   first_name=_first_name(recipient_name), other_name=other_first,
                   count=len(ordered), duration_min=duration_min,
                   weekday=weekday_name(rule_start, recipient_tz), clock=clock(rule_start, recipient_tz),
                   place=place(recipient_tz), other_clock=clock(rule_start, other_tz), other_place=place(other_tz),
                   same_zone=recipient_tz == other_tz, first_when=when(first, recipient_tz), rows=rows,
                   notes=notes, video_url=video_url, manage_url=manage_url, invite_attached=invite_attached)


# --- reminder before a session ---------------------------------------------------------------
def render_session_reminder(*, recipient_name: str, other_name: str, start: datetime, duration_min: int,
                            recipient_tz: str, other_tz: str, agenda: Sequence[str] = (),
                            goals: Sequence[str] = (), video_url: str | None = None,
                            reschedule_url: str | None = None) -> RenderedEmail:
    """A reminder before one session: when, the agenda, the pair's goals and the video link."""
    other_first = _first_name(other_name)
    end = start + timedelta(minutes=duration_min)
    return _render("session_reminder", f"Coming up: your session with {other_first}, {day(start, recipient_tz)} "
                   f"at {clock(start, recipient_tz)}",
                   first_name=_first_name(recipient_name), other_name=other_first,
                   when=when(start, recipient_tz), end_clock=clock(end, recipient_tz),
                   other_when=_elsewhere(start, other_tz), same_zone=recipient_tz == other_tz,
                   duration_min=duration_min, agenda=list(agenda), goals=list(goals),
                   video_url=video_url, reschedule_url=reschedule_url)


# --- feedback after a session ----------------------------------------------------------------
def render_feedback_request(*, recipient_name: str, other_name: str, start: datetime, recipient_tz: str,
                            met_url: str, not_met_url: str, moved_url: str, form_url: str) -> RenderedEmail:
    """After a session: three one-click answers and a link to a short form."""
    other_first = _first_name(other_name)
    return _render("feedback_request", f"Did you and {other_first} meet?",
                   first_name=_first_name(recipient_name), other_name=other_first,
                   when=when(start, recipient_tz), met_url=met_url, not_met_url=not_met_url,
                   moved_url=moved_url, form_url=form_url)


# --- one session moved -----------------------------------------------------------------------
def render_occurrence_moved(*, recipient_name: str, other_name: str, original_start: datetime,
                            new_start: datetime, duration_min: int, recipient_tz: str, other_tz: str,
                            reason: str, video_url: str | None = None, by_person: bool = False) -> RenderedEmail:
    """One session moved alone: from when to when (both zones) and why.

    ``by_person``: one of the pair moved it, and ``reason`` says who ("Lin moved this session
    on the pair page"); else Tandem moved it and ``reason`` says why.

    ``reason`` is a short sentence such as "Sam's calendar now shows them busy then"; it must
    never name or describe anyone's other meeting.
    """
    other_first = _first_name(other_name)
    return _render("occurrence_moved", f"Your session with {other_first} moved to {day(new_start, recipient_tz)} "
                   f"at {clock(new_start, recipient_tz)}",
                   first_name=_first_name(recipient_name), other_name=other_first,
                   old_when=when(original_start, recipient_tz), new_when=when(new_start, recipient_tz),
                   end_clock=clock(new_start + timedelta(minutes=duration_min), recipient_tz),
                   other_new_when=_elsewhere(new_start, other_tz), same_zone=recipient_tz == other_tz,
                   reason=reason.strip().rstrip("."), video_url=video_url, by_person=by_person)


# --- calendar access lost --------------------------------------------------------------------
def render_reconnect_needed(*, recipient_name: str, calendar_label: str, reconnect_url: str) -> RenderedEmail:
    """Calendar access is gone (revoked or expired); one link to reconnect.

    ``calendar_label`` names the connection as the person knows it, e.g. "Google Calendar".
    """
    return _render("reconnect_needed", f"Please reconnect your {calendar_label}",
                   first_name=_first_name(recipient_name), calendar_label=calendar_label,
                   reconnect_url=reconnect_url)


# --- to coordinators -------------------------------------------------------------------------
def render_pair_needs_attention(*, coordinator_name: str, program_name: str, mentor_name: str, mentee_name: str,
                                signals: Sequence[str], pair_url: str, last_met: date | None = None) -> RenderedEmail:
    """Tell a coordinator a pair may need a hand. ``signals`` are facts about attendance (e.g.
    "2 sessions in a row did not happen"); what the pair wrote in feedback is never included."""
    if not signals:
        raise ValueError("say why the pair needs attention")
    return _render("pair_needs_attention", f"{mentor_name} and {mentee_name} may need a hand ({program_name})",
                   first_name=_first_name(coordinator_name), program_name=program_name,
                   mentor_name=mentor_name, mentee_name=mentee_name, signals=list(signals),
                   pair_url=pair_url, last_met=format_day(last_met) if last_met else None)


def render_coordinator_digest(*, coordinator_name: str, program_name: str, week_label: str, held: int, missed: int,
                              missed_rate: float | None, at_risk: Sequence[Any], more_at_risk: int,
                              broken: Sequence[Any], more_broken: int, broken_connections: int,
                              dashboard_url: str, unsubscribe_url: str, settings_url: str) -> RenderedEmail:
    """The weekly digest of one program to one coordinator. ``at_risk``/``broken`` items have
    ``mentor_name``, ``mentee_name``, ``reasons`` and ``pair_url``; only attendance facts and
    connection health are shown, never what anyone wrote or anyone's calendar."""
    rate = f"{round(missed_rate * 100)}%" if missed_rate is not None else "—"
    at_risk_count = len(at_risk) + more_at_risk
    subject = (f"{program_name}: weekly digest, {at_risk_count} pair{'s' if at_risk_count != 1 else ''} at risk"
               if at_risk_count else f"{program_name}: weekly digest, no pairs at risk")
    return _render("coordinator_digest", subject, first_name=_first_name(coordinator_name),
                   program_name=program_name, week_label=week_label, held=held, missed=missed, rate=rate,
                   at_risk=list(at_risk), more_at_risk=more_at_risk, broken=list(broken), more_broken=more_broken,
                   broken_connections=broken_connections, dashboard_url=dashboard_url,
                   unsubscribe_url=unsubscribe_url, settings_url=settings_url)
