"""Turn the program form into a :class:`ProgramSpec`, collecting every problem at once."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

from scheduler.errors import InvalidInput
from scheduler.services.programs import ProgramSpec, parse_reminder_offsets, parse_templates, validate_program_spec


def _int(form: MultiDict, name: str, label: str, problems: list[str], default: int | None = None) -> int | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        if default is None:
            return None
        return default
    try:
        return int(raw)
    except ValueError:
        problems.append(f"{label} must be a whole number.")
        return default


def program_spec_from_form(form: MultiDict) -> tuple[ProgramSpec | None, list[str]]:
    """(spec, []) when the form is complete and valid, else (None, problems)."""
    problems: list[str] = []
    try:
        offsets = parse_reminder_offsets(form.get("reminder_offsets", ""))
    except InvalidInput as exc:
        problems.append(str(exc))
        offsets = (1440,)
    spec = ProgramSpec(
        name=form.get("name", "").strip(),
        cadence=form.get("cadence", "biweekly"),
        duration_min=_int(form, "duration_min", "Session length", problems, 45),
        session_count=_int(form, "session_count", "Number of sessions", problems, 6),
        horizon_weeks=_int(form, "horizon_weeks", "Planning horizon", problems, 12),
        reminder_offsets_min=offsets,
        repair_policy=form.get("repair_policy", "auto"),
        allow_pair_cadence=form.get("allow_pair_cadence") == "on",
        mentor_max_sessions_per_week=_int(form, "mentor_max_sessions_per_week", "Mentor's weekly cap", problems),
        templates=parse_templates(form.get("templates", "")),
        attendance_window_days=_int(form, "attendance_window_days", "Days to wait for answers", problems, 3),
    )
    problems.extend(validate_program_spec(spec))
    return (None, problems) if problems else (spec, [])


def form_of_spec(spec: ProgramSpec) -> dict[str, str]:
    """The form's fields holding ``spec`` (the settings page opens with the program's values)."""
    return {"name": spec.name, "cadence": spec.cadence, "duration_min": str(spec.duration_min),
            "session_count": str(spec.session_count), "horizon_weeks": str(spec.horizon_weeks),
            "reminder_offsets": ", ".join(str(m) for m in spec.reminder_offsets_min),
            "repair_policy": spec.repair_policy, "allow_pair_cadence": "on" if spec.allow_pair_cadence else "",
            "mentor_max_sessions_per_week": "" if spec.mentor_max_sessions_per_week is None
            else str(spec.mentor_max_sessions_per_week),
            "templates": "\n\n".join(f"{name}\n{body}" for name, body in spec.templates),
            "attendance_window_days": str(spec.attendance_window_days)}
