"""Graph ``patternedRecurrence``: validation the way Graph rejects bad input, and expansion.

Expansion is delegated to ``dateutil.rrule`` in local wall-clock time of the recurrence zone,
then localised, so occurrences keep their wall-clock time across DST changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule

from .zones import to_zoneinfo

PATTERN_TYPES = ("daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly")
RANGE_TYPES = ("endDate", "noEnd", "numbered")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
INDEXES = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_RR_DAYS = (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU)


class RecurrenceError(ValueError):
    """A recurrence Graph would answer with 400."""


@dataclass(frozen=True)
class Recurrence:
    """A validated recurrence, ready to expand."""

    raw: dict
    rule: rrule.rrule
    zone: ZoneInfo

    def originals_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Original starts (aware) of occurrences whose start is in ``[start, end)``."""
        local_from = start.astimezone(self.zone).replace(tzinfo=None)
        local_to = end.astimezone(self.zone).replace(tzinfo=None)
        out = []
        for local in self.rule.between(local_from - timedelta(seconds=1), local_to, inc=True):
            aware = local.replace(tzinfo=self.zone)
            if start <= aware < end:
                out.append(aware)
        return out

    def is_original(self, when: datetime) -> bool:
        local = when.astimezone(self.zone).replace(tzinfo=None)
        return local in self.rule.between(local - timedelta(seconds=1), local + timedelta(seconds=1), inc=True)


def _days(pattern: dict, required: bool) -> list[int]:
    days = pattern.get("daysOfWeek") or []
    if required and not days:
        raise RecurrenceError(f"daysOfWeek is required for pattern type {pattern.get('type')}")
    out = []
    for d in days:
        if str(d).lower() not in DAYS:
            raise RecurrenceError(f"invalid daysOfWeek value {d!r}")
        out.append(DAYS.index(str(d).lower()))
    return out


def parse_recurrence(raw: object, event_start: datetime, start_zone_name: str) -> Recurrence:
    """Validate ``raw`` against the event start and build the rule.

    Rejects what Graph rejects: unknown pattern/range types, missing interval/daysOfWeek/index
    inputs, a ``range.startDate`` that is not the start's date, a numbered range without a
    positive count, an endDate range without (or before) its endDate.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("pattern"), dict) or not isinstance(raw.get("range"), dict):
        raise RecurrenceError("recurrence needs a pattern and a range")
    pattern, rng = raw["pattern"], raw["range"]
    ptype = pattern.get("type")
    if ptype not in PATTERN_TYPES:
        raise RecurrenceError(f"invalid recurrence pattern type {ptype!r}")
    interval = pattern.get("interval")
    if not isinstance(interval, int) or interval < 1 or interval > 99:
        raise RecurrenceError("recurrence pattern interval must be an integer between 1 and 99")
    rtype = rng.get("type")
    if rtype not in RANGE_TYPES:
        raise RecurrenceError(f"invalid recurrence range type {rtype!r}")
    zone_name = rng.get("recurrenceTimeZone") or start_zone_name
    zone = to_zoneinfo(zone_name)
    local_start = event_start.astimezone(zone)
    try:
        start_date = date.fromisoformat(str(rng.get("startDate")))
    except ValueError as exc:
        raise RecurrenceError("recurrence range startDate must be a date (yyyy-mm-dd)") from exc
    if start_date != local_start.date():
        raise RecurrenceError(
            f"The recurrence range startDate {start_date.isoformat()} must be the date of the "
            f"event start {local_start.date().isoformat()}.")

    kwargs: dict = {"dtstart": local_start.replace(tzinfo=None), "interval": interval}
    first_day = str(pattern.get("firstDayOfWeek") or "sunday").lower()
    if first_day not in DAYS:
        raise RecurrenceError(f"invalid firstDayOfWeek {first_day!r}")
    kwargs["wkst"] = DAYS.index(first_day)
    if ptype == "daily":
        freq = rrule.DAILY
    elif ptype == "weekly":
        freq = rrule.WEEKLY
        kwargs["byweekday"] = _days(pattern, required=True)
    elif ptype == "absoluteMonthly":
        freq = rrule.MONTHLY
        kwargs["bymonthday"] = _day_of_month(pattern)
    elif ptype == "relativeMonthly":
        freq = rrule.MONTHLY
        kwargs.update(_relative(pattern))
    elif ptype == "absoluteYearly":
        freq = rrule.YEARLY
        kwargs["bymonth"] = _month(pattern)
        kwargs["bymonthday"] = _day_of_month(pattern)
    else:
        freq = rrule.YEARLY
        kwargs["bymonth"] = _month(pattern)
        kwargs.update(_relative(pattern))

    if rtype == "numbered":
        count = rng.get("numberOfOccurrences")
        if not isinstance(count, int) or count < 1:
            raise RecurrenceError("numberOfOccurrences must be a positive integer for a numbered range")
        kwargs["count"] = count
    elif rtype == "endDate":
        try:
            end_date = date.fromisoformat(str(rng.get("endDate")))
        except ValueError as exc:
            raise RecurrenceError("recurrence range endDate must be a date (yyyy-mm-dd)") from exc
        if end_date < start_date:
            raise RecurrenceError("recurrence range endDate is before its startDate")
        kwargs["until"] = datetime.combine(end_date, time(23, 59, 59))
    rule = rrule.rrule(freq, **kwargs)
    normalised = {"pattern": dict(pattern), "range": dict(rng)}
    normalised["range"]["recurrenceTimeZone"] = zone_name
    normalised["pattern"].setdefault("firstDayOfWeek", first_day)
    return Recurrence(raw=normalised, rule=rule, zone=zone)


def _day_of_month(pattern: dict) -> int:
    value = pattern.get("dayOfMonth")
    if not isinstance(value, int) or not 1 <= value <= 31:
        raise RecurrenceError("dayOfMonth must be between 1 and 31")
    return value


def _month(pattern: dict) -> int:
    value = pattern.get("month")
    if not isinstance(value, int) or not 1 <= value <= 12:
        raise RecurrenceError("month must be between 1 and 12")
    return value


def _relative(pattern: dict) -> dict:
    days = _days(pattern, required=True)
    index = str(pattern.get("index") or "first")
    if index not in INDEXES:
        raise RecurrenceError(f"invalid recurrence index {index!r}")
    return {"byweekday": [_RR_DAYS[d] for d in days], "bysetpos": INDEXES[index]}
