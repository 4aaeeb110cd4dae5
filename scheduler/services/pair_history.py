"""What happened to a pair, kept on the pair (``Pair.history``) for the coordinator's timeline.

Each entry is ``{"at": ISO time, "kind": ..., "by": person id or None, ...detail}``: paused,
resumed, ended, planned again, mentor changed (with the other pair), removed. Sessions keep their
own signals (``Occurrence.attendance_signals``); this is the pair's side of the story.
"""
from __future__ import annotations

from datetime import datetime

from scheduler.core.entities import Pair

KINDS = ("paused", "resumed", "ended", "replanned", "mentor_changed", "mentor_took_over", "removed")


def note(pair: Pair, now: datetime, kind: str, by: str | None = None, **detail) -> None:
    """Append one entry (a new list, so the change is saved)."""
    entry = {"at": now.isoformat(), "kind": kind, "by": by}
    entry.update({key: value for key, value in detail.items() if value is not None})
    pair.history = [*(pair.history or []), entry]
