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


def cap_leaves_too_few(cap: int, rule_text: str, held: int, count: int) -> str:
    """A pair planned first come, first served whose best slot falls in weeks the mentor's other
    pairs already fill up to the cap."""
    return (f"mentor's weekly cap of {cap} sessions is already taken by the mentor's other pairs in most weeks of "
            f"the best slot ({rule_text}), which keeps only {held} of {count} sessions; raise "
            "mentor_max_sessions_per_week, lower the cadence (e.g. biweekly), share the mentor's weeks fairly "
            "(sharing: fair) or assign another mentor")


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


# --- the same reasons, worded for the people of the pair ------------------------------------------
# A stored reason is the coordinator's diagnosis (it may name the other person's hours and zone,
# and it says what a coordinator can do). The mentor and the mentee get a sentence of their own,
# chosen by the reason's code, saying what *they* can do, with links ("hours": My hours,
# "calendars": Calendars) that the page turns into addresses.
# Each code is recognised by a phrase only its wording above (or the service that wrote it) uses;
# tests/unit/test_reasons_for_people.py checks every wording maps to its code.
REASON_PHRASES = (
    ("share no working time", "no_shared_working_time"),
    ("minutes in a row", "shared_time_too_short"),
    ("is already in the past", "horizon_passed"),
    ("is always busy in", "always_busy"),
    ("weekly cap of", "cap_reached"),
    ("other sessions (", "taken_by_other_sessions"),
    ("repeating", "no_pattern_fits"),
    ("can hold only", "too_few_sessions"),
    ("no mutual time left for the session", "session_lost"),
    ("no upcoming session is left", "no_sessions_left"),
    ("series was cancelled in a calendar", "series_removed"),
    ("series was deleted from the organizer's calendar", "series_removed"),
    ("to reconnect their calendar", "waiting_for_reconnect"),
)


def reason_code(reason: str | None) -> str | None:
    """The code of a stored reason (``"other"`` when it is none of Tandem's known wordings, e.g.
    impossible preferences; None without a reason).

    >>> reason_code("mentor (UTC, Mon 09:00-10:00) and mentee (UTC, Tue 09:00-10:00) share no working time; ...")
    'no_shared_working_time'
    """
    if not reason:
        return None
    return next((code for phrase, code in REASON_PHRASES if phrase in reason), "other")


_TOLD = "Your coordinator has been told."
_FOR_PERSON: dict[str, tuple[str, tuple[str, ...]]] = {
    "no_shared_working_time": ("Your working hours and {other}'s never overlap, so there is no time to meet yet. "
                               "If you can, widen your hours; Tandem tries again as soon as you save them. " + _TOLD,
                               ("hours",)),
    "shared_time_too_short": ("Your working hours overlap {other}'s only briefly, never long enough for a whole "
                              "session. Widening your hours would help; Tandem tries again as soon as you save "
                              "them. " + _TOLD, ("hours",)),
    "horizon_passed": ("The program's planning period has passed, so Tandem cannot book sessions now. " + _TOLD, ()),
    "always_busy": ("Your calendars are busy every time you could both meet. Free a regular slot in your calendar "
                    "or widen your hours; Tandem tries again when they change.", ("hours", "calendars")),
    "cap_reached": ("Every week you could meet already holds as many sessions as the mentor takes. " + _TOLD, ()),
    "taken_by_other_sessions": ("Other Tandem sessions already take every time you could both meet. Widening your "
                                "hours or freeing calendar time would help; Tandem tries again when they change.",
                                ("hours", "calendars")),
    "no_pattern_fits": ("You have free time in common, but never at the same time regularly. Freeing a regular slot "
                        "in your calendar would help; Tandem tries again when it changes.", ("calendars", "hours")),
    "too_few_sessions": ("The best regular time is busy too often for one of you. Freeing that slot in your calendar "
                         "would help; Tandem tries again when it changes.", ("calendars",)),
    "session_lost": ("One session no longer fits both of your calendars. Move it or skip it below. " + _TOLD, ()),
    "no_sessions_left": ("No upcoming session is left: every remaining one was skipped, cancelled or clashed. "
                         + _TOLD, ()),
    "series_removed": ("Your sessions were removed from a calendar. " + _TOLD, ()),
    "waiting_for_reconnect": ("A calendar has to be reconnected before Tandem can plan. If it is yours, reconnect it "
                              "on the Calendars page.", ("calendars",)),
    "other": ("Tandem could not find a time that suits you both yet. Check your hours and your calendars; Tandem "
              "tries again when they change. " + _TOLD, ("hours", "calendars")),
}
_FOR_MENTOR = {"cap_reached": ("Every week you could meet already holds your weekly number of sessions. " + _TOLD, ())}


def for_person(code: str | None, role: str, other_name: str) -> tuple[str, tuple[str, ...]] | None:
    """The sentence the mentor or mentee (``role``) reads for a reason code, and the pages it
    links to ("hours", "calendars"); None without a reason.

    >>> for_person("always_busy", "mentee", "Mina")[1]
    ('hours', 'calendars')
    """
    if code is None:
        return None
    text, links = (_FOR_MENTOR if role == "mentor" and code in _FOR_MENTOR else _FOR_PERSON).get(
        code, _FOR_PERSON["other"])
    return text.format(other=other_name), links
