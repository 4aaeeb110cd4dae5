"""Reasons a coordinator can act on, for pairs that cannot be planned."""
from __future__ import annotations

from scheduler.core.availability import LocalRange, PersonAvailability, WeeklyHours
from scheduler.core.bitsets import span_mask
from scheduler.core.timegrid import SLOT_MINUTES, SLOTS_PER_DAY, SlotGrid, ZoneSegments


def _who(role: str, person: PersonAvailability) -> str:
    return f"{role} ({person.describe()})"


def no_shared_working_time(mentor: PersonAvailability, mentee: PersonAvailability) -> str:
    return (f"{_who('mentor', mentor)} and {_who('mentee', mentee)} share no working time; "
            "widen one person's working hours or pair them with someone in a closer time zone")


def shared_time_too_short(mentor: PersonAvailability, mentee: PersonAvailability, shared: str, duration_min: int) -> str:
    return (f"{_who('mentor', mentor)} and {_who('mentee', mentee)} share only {shared}, never "
            f"{duration_min} minutes in a row; shorten the session or widen working hours")


def horizon_passed(horizon_text: str) -> str:
    return f"all shared working time in the horizon ({horizon_text}) is already in the past; move the horizon start"


def always_busy(whose: str, shared: str) -> str:
    return (f"shared working time ({shared}) is always busy in {whose} over the horizon; "
            "ask them to free a regular slot or widen working hours")


def cap_reached(cap: int) -> str:
    return (f"mentor's weekly cap of {cap} sessions is reached in every week with shared free time; "
            "raise mentor_max_sessions_per_week, lower the cadence (e.g. biweekly) or assign another mentor")


def cap_shared(cap: int, mentees: int, held: int, count: int) -> str:
    """A pair the cap leaves out even when the mentor's weeks are shared fairly."""
    return (f"mentor's weekly cap of {cap} sessions, shared fairly among {mentees} mentees, leaves this pair "
            f"only {held} of {count} sessions; raise mentor_max_sessions_per_week, lower the cadence "
            "(e.g. biweekly) or assign another mentor")


def taken_by_other_sessions(role: str, other_pairs: list[str]) -> str:
    names = ", ".join(other_pairs[:5]) + (" and others" if len(other_pairs) > 5 else "")
    return (f"the {role}'s other sessions ({names}) already take all shared free time; "
            "widen working hours, free calendar time or assign another mentor")


def no_pattern_fits(cadence: str) -> str:
    return (f"shared free time exists but never on a repeating {cadence} pattern within the horizon; "
            "try another cadence or free a regular slot")


def too_few_sessions(rule_text: str, held: int, count: int) -> str:
    return (f"the best slot ({rule_text}) can hold only {held} of {count} sessions even after moving single "
            "sessions; the other times are busy for one of them - free a regular slot or lower the count")


def describe_shared_week(grid: SlotGrid, anchor: ZoneSegments, shared_utc: int) -> str:
    """Wall-clock summary (in the anchor zone) of the first week of ``shared_utc``, e.g.
    ``Tue-Thu 09:00-13:30 Asia/Kolkata``."""
    local = anchor.utc_to_local(shared_utc)
    for week_start_day in range(0, grid.days, 7):
        base = grid.day_start_slot(week_start_day)
        if local & span_mask(base, base + 7 * SLOTS_PER_DAY):
            break
    else:
        return f"no time in {anchor.tz_name}"
    days: list[tuple[LocalRange, ...]] = [() for _ in range(7)]
    for offset in range(7):
        day_base = base + offset * SLOTS_PER_DAY
        bits = (local >> day_base) & ((1 << SLOTS_PER_DAY) - 1)
        weekday = (grid.first_day.weekday() + week_start_day + offset) % 7
        days[weekday] = tuple(_runs(bits))
    return f"{WeeklyHours(tuple(days)).describe()} {anchor.tz_name}"


def _runs(bits: int):
    slot = 0
    while bits >> slot:
        if (bits >> slot) & 1:
            end = slot
            while (bits >> end) & 1:
                end += 1
            yield LocalRange(slot * SLOT_MINUTES, end * SLOT_MINUTES)
            slot = end
        else:
            slot += 1
