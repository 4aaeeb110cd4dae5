"""VTIMEZONE blocks written as yearly rules, the way Google Calendar and Outlook export them.

``icalendar.Timezone.from_tzinfo`` lists every transition of a span as RDATEs. Parsers that read
the VTIMEZONE instead of the IANA name (vobject, dateutil's ``tzical``, several mail clients) do
not all read RDATE lists alike: vobject reads the sessions of a series in Europe/London one hour
late after the first March change when the block spans two years. A block of yearly RRULEs
("the last Sunday of March at 01:00") reads the same in every parser, so this module turns the
transitions ``zoneinfo`` knows into rules:

- the transitions of the zone are found between ``first`` (minus one year, so that the first
  days of the span are covered by the previous autumn's onset) and ``last`` (plus two years);
- each kind of transition (DAYLIGHT or STANDARD, its offsets and abbreviation) becomes one
  observance per run of years that follow the same rule (month, weekday, its ordinal, local
  time): ``RRULE:FREQ=YEARLY;BYMONTH=..;BYDAY=..``, with ``UNTIL`` (UTC, as RFC 5545 requires
  inside VTIMEZONE) when the rule later changes; a one-off change is a single onset;
- a zone without transitions (Asia/Kolkata, UTC) is one STANDARD observance.
"""
from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_EPOCH_ONSET = datetime(1970, 1, 1)


@dataclass(frozen=True)
class _Transition:
    at: datetime  # the UTC instant
    onset: datetime  # naive local wall time just before the change (RFC 5545 DTSTART)
    offset_from: timedelta
    offset_to: timedelta
    name: str
    daylight: bool

    @property
    def kind(self) -> tuple:
        return self.daylight, self.offset_from, self.offset_to, self.name

    def rule_keys(self) -> set[tuple[int, str, int, tuple[int, int]]]:
        """The yearly rules this onset satisfies: its weekday's ordinal in the month, and
        "the last" (-1) when it falls in the month's last seven days."""
        onset = self.onset
        weekday = _WEEKDAYS[onset.weekday()]
        clock = (onset.hour, onset.minute)
        keys = {(onset.month, weekday, (onset.day - 1) // 7 + 1, clock)}
        if onset.day > _calendar.monthrange(onset.year, onset.month)[1] - 7:
            keys.add((onset.month, weekday, -1, clock))
        return keys


def transitions(tz: ZoneInfo, start: datetime, end: datetime) -> list[_Transition]:
    """Every change of ``tz``'s UTC offset or abbreviation between two aware instants, in order."""
    found = []
    step = timedelta(days=1)
    before = start
    while before < end:
        after = min(before + step, end)
        if _state(tz, before) != _state(tz, after):
            low, high = before, after
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if _state(tz, middle) == _state(tz, low):
                    low = middle
                else:
                    high = middle
            high = high.replace(second=0, microsecond=0)
            old, new = high - timedelta(minutes=1), high
            offset_from, offset_to = old.astimezone(tz).utcoffset(), new.astimezone(tz).utcoffset()
            local_after = new.astimezone(tz)
            found.append(_Transition(
                at=new, onset=(new + offset_from).replace(tzinfo=None), offset_from=offset_from,
                offset_to=offset_to, name=local_after.tzname() or "", daylight=bool(local_after.dst())))
        before = after
    return found


def _state(tz: ZoneInfo, moment: datetime) -> tuple:
    local = moment.astimezone(tz)
    return local.utcoffset(), local.tzname()


def rule_vtimezone(tz_name: str, first: date, last: date) -> icalendar.Timezone:
    """A VTIMEZONE for the IANA zone ``tz_name`` that reads right from ``first`` to ``last``.

    >>> block = rule_vtimezone("Europe/London", date(2027, 1, 1), date(2029, 1, 1))
    >>> [(c.name, c["RRULE"].to_ical().decode()) for c in block.subcomponents]
    [('DAYLIGHT', 'FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3'), ('STANDARD', 'FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10')]
    >>> [c.name for c in rule_vtimezone("Asia/Kolkata", date(2027, 1, 1), date(2029, 1, 1)).subcomponents]
    ['STANDARD']
    """
    tz = ZoneInfo(tz_name)
    start = datetime(first.year - 1, 1, 1, tzinfo=timezone.utc)
    end = datetime(last.year + 2, 1, 1, tzinfo=timezone.utc)
    changes = transitions(tz, start, end)
    block = icalendar.Timezone()
    block.add("tzid", tz_name)
    if not changes or changes[0].at > datetime(first.year, 1, 1, tzinfo=timezone.utc):
        # the time before the first change in the span: the offset then, from the epoch on
        local = start.astimezone(tz)
        block.add_component(_observance(False, _EPOCH_ONSET, local.utcoffset(), local.utcoffset(),
                                        local.tzname() or tz_name, None))
    for kind, runs in _runs(changes).items():
        for index, run in enumerate(runs):
            rule = None
            if len(run.onsets) > 1:
                month, weekday, ordinal, _ = run.rule
                rule = {"freq": "yearly", "bymonth": month, "byday": f"{ordinal}{weekday}"}
                if index < len(runs) - 1 or _ends_early(run, changes):
                    rule["until"] = run.onsets[-1].at.astimezone(timezone.utc)
            head = run.onsets[0]
            onset = head.onset
            if rule is not None and index == 0:  # as Google and Outlook write it: the rule from 1970 on
                onset = _rule_day(_EPOCH_ONSET.year, *run.rule)
            block.add_component(_observance(head.daylight, onset, head.offset_from, head.offset_to, head.name, rule))
    return block


@dataclass
class _Run:
    onsets: list[_Transition]
    rule: tuple | None
    keys: set


def _runs(changes: list[_Transition]) -> dict[tuple, list[_Run]]:
    """Consecutive onsets of each kind grouped while one yearly rule describes them all."""
    runs: dict[tuple, list[_Run]] = {}
    for change in changes:
        of_kind = runs.setdefault(change.kind, [])
        current = of_kind[-1] if of_kind else None
        keys = change.rule_keys()
        if current is not None and current.keys & keys and _one_year_apart(current.onsets[-1], change):
            current.keys &= keys
            current.onsets.append(change)
        else:
            of_kind.append(_Run([change], None, keys))
    for of_kind in runs.values():
        for run in of_kind:
            # prefer "the last Sunday" (Europe) when both "the 4th" and "the last" describe the run
            run.rule = sorted(run.keys, key=lambda key: (key[2] != -1, key))[0]
    return runs


def _rule_day(year: int, month: int, weekday: str, ordinal: int, clock: tuple[int, int]) -> datetime:
    """The onset a yearly rule gives in ``year``.

    >>> _rule_day(1970, 3, "SU", -1, (1, 0)), _rule_day(1970, 3, "SU", 2, (2, 0))
    (datetime.datetime(1970, 3, 29, 1, 0), datetime.datetime(1970, 3, 8, 2, 0))
    """
    days = [d for d in range(1, _calendar.monthrange(year, month)[1] + 1)
            if date(year, month, d).weekday() == _WEEKDAYS.index(weekday)]
    return datetime(year, month, days[ordinal - 1 if ordinal > 0 else ordinal], *clock)


def _one_year_apart(previous: _Transition, change: _Transition) -> bool:
    return change.onset.year == previous.onset.year + 1


def _ends_early(run: _Run, changes: list[_Transition]) -> bool:
    """True when a run stops before the end of the span: its kind of change does not happen in
    the span's last year (the zone left that rule), so an open rule would invent changes."""
    return run.onsets[-1].onset.year < changes[-1].onset.year


def _observance(daylight: bool, onset: datetime, offset_from: timedelta, offset_to: timedelta, name: str,
                rule: dict | None) -> icalendar.cal.Component:
    part = icalendar.TimezoneDaylight() if daylight else icalendar.TimezoneStandard()
    part.add("dtstart", onset)
    part.add("tzoffsetfrom", offset_from)
    part.add("tzoffsetto", offset_to)
    part.add("tzname", name)
    if rule is not None:
        part.add("rrule", rule)
    return part
