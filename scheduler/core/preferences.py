"""A person's time zone and preferences as stored (plain JSON), checked and parsed once.

Onboarding validates with these; planning reads stored preferences with them.
"""
from __future__ import annotations

from datetime import date
from zoneinfo import available_timezones

from scheduler.core.availability import WEEKDAYS, LocalRange, Preferences, parse_clock
from scheduler.core.timegrid import zone
from scheduler.errors import InvalidInput, UnknownTimeZone


def validate_tz(name: str) -> str:
    """The IANA zone ``name`` (trimmed), or :class:`UnknownTimeZone` saying what to do.

    >>> validate_tz(" Europe/Berlin ")
    'Europe/Berlin'
    """
    name = (name or "").strip()
    if not name:
        raise UnknownTimeZone("Choose your time zone (for example Europe/Berlin); it could not be detected.")
    try:
        zone(name)  # the one check of zone names; the wording here is for a person at a form
    except UnknownTimeZone:
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise UnknownTimeZone(f"'{shown}' is not a time zone Tandem knows; pick one from the list, "
                              f"for example Europe/Berlin or America/New_York.") from None
    return name


def common_timezones() -> list[str]:
    """Zone names for a picker: IANA ``Area/City`` names plus UTC, sorted."""
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/",
                                                                                      "right/"))) + ["UTC"]


def parse_preferences(raw: dict | None) -> Preferences:
    """:class:`Preferences` from a person's ``preferences`` JSON (``preferred``, ``earliest``,
    ``latest``, ``avoid_days``; all optional). Raises :class:`InvalidInput` saying what to fix.

    >>> parse_preferences({"earliest": "10:00", "avoid_days": ["fri"]}).avoid_days
    frozenset({4})
    """
    raw = raw or {}
    if not isinstance(raw, dict):
        raise InvalidInput("Preferences must be an object with preferred, earliest, latest and avoid_days.")
    ranges = raw.get("preferred") or []
    if not isinstance(ranges, list) or not all(isinstance(r, (list, tuple)) and len(r) == 2 and
                                               all(isinstance(t, str) for t in r) for r in ranges):
        raise InvalidInput('Preferred times must be a list of ["HH:MM", "HH:MM"] pairs, for example '
                           '[["09:00", "12:00"]].')
    for key in ("earliest", "latest"):
        if raw.get(key) and not isinstance(raw[key], str):
            raise InvalidInput(f"{key.capitalize()} must be a time of day as HH:MM, for example 09:00.")
    preferred = tuple(LocalRange(parse_clock(a), parse_clock(b)) for a, b in ranges)
    avoid = raw.get("avoid_days") or []
    if not isinstance(avoid, list):
        raise InvalidInput("Days to avoid must be a list of weekdays mon..sun.")
    bad_days = [d for d in avoid if not isinstance(d, str) or d not in WEEKDAYS]
    if bad_days:
        raise InvalidInput(f"Days to avoid must be weekdays mon..sun (avoid_days has {bad_days}).")
    return Preferences(preferred=preferred,
                       earliest_min=parse_clock(raw["earliest"]) if raw.get("earliest") else None,
                       latest_min=parse_clock(raw["latest"]) if raw.get("latest") else None,
                       avoid_days=frozenset(WEEKDAYS.index(d) for d in avoid))


def parse_time_off(raw: dict | None) -> tuple[tuple[date, date], ...]:
    """The ``time_off`` date ranges of a person's ``preferences`` JSON (first and last day)."""
    return tuple((date.fromisoformat(a), date.fromisoformat(b)) for a, b in (raw or {}).get("time_off", []))
