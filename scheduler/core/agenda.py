"""Choosing the agenda for each session of a series."""
from __future__ import annotations

from typing import Sequence


def agenda_for_session(templates: Sequence[tuple[str, str]], index: int, count: int,
                       goals: Sequence[str] = ()) -> str:
    """The agenda text of session ``index`` (0-based) of ``count``.

    The first template opens the series and the last closes it when there are at least three;
    the ones between rotate. Open goals are listed under every agenda.

    >>> t = [("Start", "a"), ("Middle", "b"), ("End", "c")]
    >>> [agenda_for_session(t, i, 4).splitlines()[0] for i in range(4)]
    ['Session 1 of 4: Start', 'Session 2 of 4: Middle', 'Session 3 of 4: Middle', 'Session 4 of 4: End']
    """
    if not templates:
        body_name, body = "Session", ""
    elif len(templates) >= 3 and index == 0:
        body_name, body = templates[0]
    elif len(templates) >= 3 and index == count - 1:
        body_name, body = templates[-1]
    elif len(templates) >= 3:
        middle = templates[1:-1]
        body_name, body = middle[(index - 1) % len(middle)]
    else:
        body_name, body = templates[index % len(templates)]
    text = f"Session {index + 1} of {count}: {body_name}\n{body}".rstrip()
    if goals:
        text += "\n\nGoals:\n" + "\n".join(f"- {g}" for g in goals)
    return text


def series_description(first_agenda: str, video_url: str | None = None) -> str:
    """The calendar event's description: the next agenda, and where the rest lives."""
    parts = ["Mentoring session booked by Tandem.", "", first_agenda]
    if video_url:
        parts += ["", f"Join: {video_url}"]
    parts += ["", "Each session's agenda, goals and notes are on your Tandem pair page."]
    return "\n".join(parts)
