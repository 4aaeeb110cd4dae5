"""SCENARIO.json (docs/contracts.md, section 1) as domain objects; reading the files is the caller's job.

Besides the contract's fields, these optional ones are accepted (extensions, never required):

* scenario ``buffer_min``: minutes kept free around every session (default 0);
* person ``busy``: ``[["2027-03-02T10:00:00Z", "2027-03-02T11:00:00Z"], ...]`` busy intervals
  from any source (offsets required);
* person ``time_off``: ``[["2027-03-10", "2027-03-12"], ...]`` inclusive local dates;
* person ``preferences``: ``{"preferred": [["10:00", "12:00"]], "earliest": "09:30",
  "latest": "16:00", "avoid_days": ["fri"]}``;
* pair ``tz``: the series zone instead of the mentor's;
* scenario ``sharing``: ``"fair"`` (default) or ``"first_come"``, how a mentor whose pairs want
  more sessions than ``mentor_max_sessions_per_week`` shares the cap (issue 12).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from scheduler.core.availability import PersonAvailability, Preferences, WeeklyHours
from scheduler.core.preferences import parse_preferences
from scheduler.core.cadence import Cadence
from scheduler.core.intervals import Interval, interval
from scheduler.core.plan_model import Horizon, PairRequest, Sharing
from scheduler.core.timegrid import zone
from scheduler.errors import InvalidInput


@dataclass(frozen=True)
class Scenario:
    horizon: Horizon
    people: dict[str, PersonAvailability]
    busy_ics: dict[str, str]  # person id -> path as written in the scenario
    pairs: tuple[PairRequest, ...]
    mentor_max_sessions_per_week: int | None = None
    buffer_min: int = 0
    sharing: Sharing = Sharing.FAIR


def parse_scenario(raw: object) -> Scenario:
    """Validate a decoded SCENARIO.json; every problem is an :class:`InvalidInput` naming the field."""
    if not isinstance(raw, dict):
        raise InvalidInput("the scenario must be a JSON object with horizon, people and pairs")
    horizon = _horizon(raw.get("horizon"))
    people: dict[str, PersonAvailability] = {}
    busy_ics: dict[str, str] = {}
    for entry in _list(raw, "people"):
        person = _person(entry)
        if person.person_id in people:
            raise InvalidInput(f"person id {person.person_id!r} appears twice in people")
        people[person.person_id] = person
        if entry.get("busy_ics") is not None:
            if not isinstance(entry["busy_ics"], str) or not entry["busy_ics"]:
                raise InvalidInput(f"person {person.person_id}: busy_ics must be a file path")
            busy_ics[person.person_id] = entry["busy_ics"]
    pairs = tuple(_pair(entry, people) for entry in _list(raw, "pairs"))
    cap = raw.get("mentor_max_sessions_per_week")
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
        raise InvalidInput("mentor_max_sessions_per_week must be a whole number of at least 1")
    buffer_min = raw.get("buffer_min", 0)
    if not isinstance(buffer_min, int) or isinstance(buffer_min, bool) or not 0 <= buffer_min <= 240:
        raise InvalidInput("buffer_min must be a whole number of minutes between 0 and 240")
    sharing = raw.get("sharing", "fair")
    if not isinstance(sharing, str) or sharing not in {s.value for s in Sharing}:
        raise InvalidInput(f'sharing {sharing!r} must be "fair" (the default) or "first_come"')
    return Scenario(horizon, people, busy_ics, pairs, cap, buffer_min, Sharing(sharing))


def _list(raw: dict, key: str) -> list:
    value = raw.get(key)
    if not isinstance(value, list):
        raise InvalidInput(f"the scenario needs a list '{key}'")
    for item in value:
        if not isinstance(item, dict):
            raise InvalidInput(f"every entry of '{key}' must be an object, got {item!r}")
    return value


def _horizon(raw: object) -> Horizon:
    if not isinstance(raw, dict):
        raise InvalidInput('the scenario needs "horizon": {"start": "YYYY-MM-DD", "weeks": N}')
    try:
        start = date.fromisoformat(raw.get("start"))
    except (TypeError, ValueError):
        raise InvalidInput(f"horizon.start {raw.get('start')!r} is not a date like 2027-03-01") from None
    return Horizon(start, raw.get("weeks"))


def _person(entry: dict) -> PersonAvailability:
    person_id = entry.get("id")
    if not isinstance(person_id, str) or not person_id:
        raise InvalidInput(f"a person has no id: {entry!r}")
    try:
        tz = entry.get("tz")
        zone(tz)
        hours = WeeklyHours.from_mapping(entry.get("working_hours", {}))
        busy = tuple(_busy_interval(item) for item in entry.get("busy", []))
        time_off = tuple(_date_range(item) for item in entry.get("time_off", []))
        preferences = _preferences(entry.get("preferences") or {})
    except InvalidInput as exc:
        raise type(exc)(f"person {person_id}: {exc}") from None
    return PersonAvailability(person_id, tz, hours, busy, time_off, preferences)


def _busy_interval(item: object) -> Interval:
    try:
        start, end = (datetime.fromisoformat(text) for text in item)
        return interval(start, end)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"busy entry {item!r} must be two ISO times with offsets, start before end") from exc


def _date_range(item: object) -> tuple[date, date]:
    try:
        first, last = (date.fromisoformat(text) for text in item)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"time_off entry {item!r} must be two dates like ['2027-03-10', '2027-03-12']") from exc
    if last < first:
        raise InvalidInput(f"time_off entry {item!r} ends before it starts")
    return first, last


def _preferences(raw: object) -> Preferences:
    if not isinstance(raw, dict):
        raise InvalidInput("preferences must be an object")
    unknown = sorted(set(raw) - {"preferred", "earliest", "latest", "avoid_days"})
    if unknown:
        raise InvalidInput(f"unknown preference(s) {', '.join(unknown)}; use preferred, earliest, latest, avoid_days")
    return parse_preferences(raw)


def _pair(entry: dict, people: dict[str, PersonAvailability]) -> PairRequest:
    pair_id = entry.get("id")
    if not isinstance(pair_id, str) or not pair_id:
        raise InvalidInput(f"a pair has no id: {entry!r}")
    for role in ("mentor", "mentee"):
        person_id = entry.get(role)
        if person_id not in people:
            raise InvalidInput(f"pair {pair_id}: {role} {person_id!r} is not one of the people in the scenario")
    if entry.get("tz") is not None:
        zone(entry["tz"])
    return PairRequest(
        pair_id=pair_id,
        mentor_id=entry["mentor"],
        mentee_id=entry["mentee"],
        duration_min=entry.get("duration_min"),
        cadence=Cadence.parse(entry.get("cadence")),
        count=entry.get("count"),
        tz=entry.get("tz"),
    )
