"""Turn the hours form into :class:`OnboardingAnswers` and back (to pre-fill it)."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

from scheduler.core.availability import WEEKDAYS
from scheduler.services.onboarding import OnboardingAnswers

DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))
TIMES_OF_DAY = {"any": ("Any time in my hours", None), "morning": ("Mornings", ("08:00", "12:00")),
                "midday": ("Around midday", ("11:00", "14:00")), "afternoon": ("Afternoons", ("12:00", "17:00")),
                "evening": ("Evenings", ("17:00", "21:00"))}
DEFAULT_DAYS = {d: ("09:00", "17:00") for d in WEEKDAYS[:5]}


def answers_from_form(form: MultiDict, *, may_choose_rhythm: bool) -> OnboardingAnswers:
    hours = {}
    for day in WEEKDAYS:
        if form.get(f"day_{day}") == "on":
            hours[day] = [[form.get(f"start_{day}", "").strip(), form.get(f"end_{day}", "").strip()]]
    window = TIMES_OF_DAY.get(form.get("preferred", "any"), TIMES_OF_DAY["any"])[1]
    preferences = {"preferred": [list(window)]} if window else {}
    cadence = duration = None
    if may_choose_rhythm:
        cadence = form.get("cadence") or None
        raw = (form.get("duration_min") or "").strip()
        duration = int(raw) if raw.isdigit() else None
    return OnboardingAnswers(tz=form.get("tz", ""), working_hours=hours, preferences=preferences,
                             cadence=cadence, duration_min=duration)


def form_from_person(tz: str | None, working_hours: dict | None, preferences: dict | None) -> dict:
    """Values to pre-fill the form with (a person's saved answers, or weekday office hours)."""
    values: dict[str, str] = {"tz": tz or ""}
    days = {d: tuple(r[0]) for d, r in (working_hours or {}).items() if r} or DEFAULT_DAYS
    for day in WEEKDAYS:
        start, end = days.get(day, ("09:00", "17:00"))
        values[f"start_{day}"], values[f"end_{day}"] = start, end
        if day in days:
            values[f"day_{day}"] = "on"
    preferred = (preferences or {}).get("preferred") or []
    values["preferred"] = next((k for k, (_, w) in TIMES_OF_DAY.items() if w and preferred and list(w) == preferred[0]),
                               "any")
    return values
