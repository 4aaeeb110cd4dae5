"""Synthetic cohorts for the planning benchmark: people with realistic weeks, and ICS exports.

Deterministic for a given seed. Busy time is what a calendar export would show: weekly team
meetings, daily stand-ups, one-off meetings and the occasional all-day absence.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from scheduler.core.availability import WEEKDAYS, LocalRange, PersonAvailability, WeeklyHours
from scheduler.core.cadence import Cadence
from scheduler.core.intervals import Interval
from scheduler.core.plan_model import Horizon, PairRequest

UTC = timezone.utc
ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "America/Phoenix", "America/Sao_Paulo",
         "Europe/London", "Europe/Berlin", "Europe/Helsinki", "Africa/Lagos", "Asia/Kolkata", "Asia/Kathmandu",
         "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland"]
# Mentors and mentees come from nearby regions most of the time, like real programs.
REGIONS = [ZONES[:5], ZONES[5:9], ZONES[9:12], ZONES[11:]]
HORIZON = Horizon(date(2027, 3, 1), 12)


@dataclass(frozen=True)
class Meeting:
    """A busy block in someone's own wall-clock time: weekly (``weekday``) or one day (``day``)."""

    start: time
    minutes: int
    weekday: int | None = None
    day: date | None = None
    all_day: bool = False


def _working_hours(rng: random.Random) -> WeeklyHours:
    start = rng.choice([7 * 60, 8 * 60, 8 * 60 + 30, 9 * 60, 10 * 60])
    length = rng.choice([6 * 60, 7 * 60, 8 * 60, 8 * 60 + 30])
    days_off = set(rng.sample(range(5), rng.choice([0, 0, 0, 1, 2])))
    if rng.random() < 0.3:
        lunch = start + length // 2
        ranges = (LocalRange(start, lunch), LocalRange(lunch + 60, min(start + length + 60, 24 * 60)))
    else:
        ranges = (LocalRange(start, start + length),)
    return WeeklyHours(tuple(ranges if d < 5 and d not in days_off else () for d in range(7)))


def _meetings(rng: random.Random, hours: WeeklyHours, horizon: Horizon) -> list[Meeting]:
    meetings = []
    work_days = [d for d in range(7) if hours.days[d]]
    if not work_days:
        return meetings
    day_start = hours.days[work_days[0]][0].start_min
    if rng.random() < 0.3:
        standup = time(day_start // 60, day_start % 60)
        meetings += [Meeting(standup, 15, weekday=d) for d in work_days]
    for _ in range(rng.randint(2, 5)):
        weekday = rng.choice(work_days)
        r = rng.choice(hours.days[weekday])
        start = rng.randrange(r.start_min, max(r.start_min + 1, r.end_min - 30), 15)
        meetings.append(Meeting(time(start // 60, start % 60), rng.choice([30, 60, 60, 90]), weekday=weekday))
    for _ in range(rng.randint(5, 15)):
        day = horizon.start + timedelta(days=rng.randrange(horizon.weeks * 7))
        start = rng.randrange(7 * 60, 18 * 60, 15)
        meetings.append(Meeting(time(start // 60, start % 60), rng.choice([30, 45, 60, 120]), day=day))
    if rng.random() < 0.3:
        day = horizon.start + timedelta(days=rng.randrange(horizon.weeks * 7))
        meetings.append(Meeting(time(0), 24 * 60 * rng.randint(1, 5), day=day, all_day=True))
    return meetings


def _to_intervals(meetings: list[Meeting], tz: str, horizon: Horizon) -> tuple[Interval, ...]:
    zone = ZoneInfo(tz)
    out = []
    last_day = horizon.start + timedelta(weeks=horizon.weeks + 3)
    for m in meetings:
        if m.weekday is None:
            days = [m.day]
        else:
            first = horizon.start + timedelta(days=(m.weekday - horizon.start.weekday()) % 7)
            days = [first + timedelta(weeks=w) for w in range((last_day - first).days // 7)]
        for day in days:
            start = datetime.combine(day, m.start, tzinfo=zone)
            out.append(Interval(start.astimezone(UTC), (start + timedelta(minutes=m.minutes)).astimezone(UTC)))
    return tuple(out)


@dataclass(frozen=True)
class GeneratedPerson:
    availability: PersonAvailability
    meetings: tuple[Meeting, ...]


def generate_cohort(pairs: int, seed: int = 7, horizon: Horizon = HORIZON, mentees_per_mentor: int = 3,
                    weekly_only: bool = False):
    """``(people, meetings_by_person, pair_requests)`` for ``pairs`` pairs (``weekly_only``: every
    pair weekly x 12, the mentor-heavy case where a cap of 4 binds every week)."""
    rng = random.Random(seed)
    people: dict[str, PersonAvailability] = {}
    meetings: dict[str, list[Meeting]] = {}
    requests: list[PairRequest] = []

    def new_person(person_id: str, region: list[str]) -> None:
        tz = rng.choice(region) if rng.random() < 0.8 else rng.choice(ZONES)
        hours = _working_hours(rng)
        person_meetings = _meetings(rng, hours, horizon)
        people[person_id] = PersonAvailability(person_id, tz, hours, _to_intervals(person_meetings, tz, horizon))
        meetings[person_id] = person_meetings

    mentor_count = max(1, pairs // mentees_per_mentor)
    mentor_regions = []
    for index in range(mentor_count):
        region = rng.choice(REGIONS)
        mentor_regions.append(region)
        new_person(f"mentor{index}", region)
    for index in range(pairs):
        mentor_index = index % mentor_count
        new_person(f"mentee{index}", mentor_regions[mentor_index])
        cadence = rng.choices([Cadence.WEEKLY, Cadence.BIWEEKLY, Cadence.MONTHLY], [6, 3, 1])[0]
        if weekly_only:
            cadence = Cadence.WEEKLY
        count = {Cadence.WEEKLY: 12, Cadence.BIWEEKLY: 6, Cadence.MONTHLY: 3}[cadence]
        requests.append(PairRequest(f"pair{index}", f"mentor{mentor_index}", f"mentee{index}",
                                    rng.choice([30, 45, 60]), cadence, count))
    return people, meetings, requests


def write_ics(path: Path, person_id: str, tz: str, person_meetings: list[Meeting], windows_names: bool = False) -> None:
    """Write ``person_meetings`` as an export: RRULE + EXDATE, overrides, all-day, floating, TRANSP."""
    tzid = {"Europe/Berlin": "W. Europe Standard Time", "America/New_York": "Eastern Standard Time"}.get(tz, tz) \
        if windows_names else tz
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tandem bench//EN"]
    for n, m in enumerate(person_meetings):
        uid = f"{person_id}-{n}@bench"
        if m.all_day:
            end = m.day + timedelta(days=m.minutes // (24 * 60))
            lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20270101T000000Z", "SUMMARY:Away",
                      f"DTSTART;VALUE=DATE:{m.day:%Y%m%d}", f"DTEND;VALUE=DATE:{end:%Y%m%d}", "END:VEVENT"]
            continue
        if m.weekday is None:
            start = datetime.combine(m.day, m.start)
            end = start + timedelta(minutes=m.minutes)
            floating = n % 5 == 0
            stamp = "" if floating else f";TZID={tzid}"
            lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20270101T000000Z", "SUMMARY:Meeting",
                      f"DTSTART{stamp}:{start:%Y%m%dT%H%M%S}", f"DTEND{stamp}:{end:%Y%m%dT%H%M%S}", "END:VEVENT"]
            continue
        first = HORIZON.start + timedelta(days=(m.weekday - HORIZON.start.weekday()) % 7)
        start = datetime.combine(first, m.start)
        end = start + timedelta(minutes=m.minutes)
        lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20270101T000000Z", "SUMMARY:Recurring",
                  f"DTSTART;TZID={tzid}:{start:%Y%m%dT%H%M%S}", f"DTEND;TZID={tzid}:{end:%Y%m%dT%H%M%S}",
                  f"RRULE:FREQ=WEEKLY;BYDAY={('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')[m.weekday]}", "END:VEVENT"]
    # A focus block that shows as free, and a cancelled meeting: neither is busy.
    lines += ["BEGIN:VEVENT", f"UID:{person_id}-free@bench", "DTSTAMP:20270101T000000Z", "SUMMARY:Focus",
              f"DTSTART;TZID={tzid}:20270302T100000", f"DTEND;TZID={tzid}:20270302T120000", "TRANSP:TRANSPARENT",
              "END:VEVENT",
              "BEGIN:VEVENT", f"UID:{person_id}-cancel@bench", "DTSTAMP:20270101T000000Z", "SUMMARY:Cancelled",
              f"DTSTART;TZID={tzid}:20270303T100000", f"DTEND;TZID={tzid}:20270303T120000", "STATUS:CANCELLED",
              "END:VEVENT", "END:VCALENDAR"]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


def scenario_json(people: dict[str, PersonAvailability], requests: list[PairRequest], ics_names: dict[str, str],
                  cap: int | None) -> dict:
    """SCENARIO.json for a generated cohort (busy time only through the .ics files)."""
    def hours(p: PersonAvailability) -> dict:
        return {WEEKDAYS[d]: [[f"{r.start_min // 60:02d}:{r.start_min % 60:02d}", f"{r.end_min // 60:02d}:{r.end_min % 60:02d}"]
                              for r in ranges] for d, ranges in enumerate(p.working_hours.days) if ranges}

    return {
        "horizon": {"start": HORIZON.start.isoformat(), "weeks": HORIZON.weeks},
        **({"mentor_max_sessions_per_week": cap} if cap else {}),
        "people": [{"id": p.person_id, "email": f"{p.person_id}@example.org", "tz": p.tz, "working_hours": hours(p),
                    "busy_ics": ics_names[p.person_id]} for p in people.values()],
        "pairs": [{"id": r.pair_id, "mentor": r.mentor_id, "mentee": r.mentee_id, "duration_min": r.duration_min,
                   "cadence": r.cadence.value, "count": r.count} for r in requests],
    }
