"""Durations as people type them (``tandem sandbox advance 36h``): a number and a unit, or
several run together (``1d12h``). Units: ``m`` minutes, ``h`` hours, ``d`` days, ``w`` weeks."""
from __future__ import annotations

import re
from datetime import timedelta

UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_DURATION = timedelta(weeks=52)
_PART = re.compile(r"(\d{1,6})\s*([mhdw])")


def parse_duration(text: str) -> timedelta:
    """``"1d"``, ``"36h"``, ``"2w"``, ``"90m"``, ``"1w2d"`` -> a positive timedelta of at most a
    year. Raises ValueError with a message saying what is wrong and what to type instead.

    >>> parse_duration("36h")
    datetime.timedelta(days=1, seconds=43200)
    >>> parse_duration("1w2d") == timedelta(days=9)
    True
    """
    cleaned = (text or "").strip().lower()
    example = "write a number and a unit (m minutes, h hours, d days, w weeks), e.g. 90m, 36h, 1d or 2w"
    if not cleaned:
        raise ValueError(f"no duration given: {example}")
    total, pos = timedelta(0), 0
    for match in _PART.finditer(cleaned):
        if cleaned[pos:match.start()].strip():
            break
        total += int(match.group(1)) * UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or cleaned[pos:].strip():
        raise ValueError(f"{text.strip()!r} is not a duration: {example}")
    if total <= timedelta(0):
        raise ValueError(f"{text.strip()!r} is no time at all: the sandbox clock only moves forward ({example})")
    if total > MAX_DURATION:
        raise ValueError(f"{text.strip()!r} is more than a year: skip ahead at most 52w at a time")
    return total
