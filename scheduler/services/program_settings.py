"""Editing a program's settings after it started, and what each change sets going.

Booked series keep their rhythm, length and times: people planned their lives around them, and a
change of policy is not a reason to move anyone's sessions. What changes at once:

- reminders: the upcoming sessions' pending reminders (and their follow-up requests, whose keys
  go with them) are set again with the new offsets;
- anything that can open time for a pair still waiting for one — the mentor's weekly cap, the
  cadence, the session length, the number of sessions or the horizon — plans the program's waiting
  pairs again (through the outbox, debounced like every re-plan);
- agenda templates apply to sessions booked from now on (agendas already written stay).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from scheduler.core.entities import AgendaTemplate
from scheduler.core.pair_state import ACTIVE_OCCURRENCE, ACTIVE_SERIES
from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies, UnitOfWork
from scheduler.services.notifications import cancel_occurrence_notifications, schedule_occurrence_followups
from scheduler.services.programs import ProgramSpec, UnknownProgram, validate_program_spec
from scheduler.services.replanning import WAITING, replan_pair

# What each setting is called on the page, in the order the page lists them.
LABELS = {"name": "name", "cadence": "how often pairs meet", "duration_min": "session length",
          "session_count": "number of sessions", "horizon_weeks": "planning horizon",
          "reminder_offsets_min": "reminders", "repair_policy": "what happens on a clash",
          "allow_pair_cadence": "pairs choosing their own rhythm", "mentor_max_sessions_per_week": "mentor's weekly cap",
          "templates": "agenda templates", "attendance_window_days": "days to wait for answers"}
# A change to these can open time for a pair that found none.
OPENS_TIME = ("cadence", "duration_min", "session_count", "horizon_weeks", "mentor_max_sessions_per_week")


@dataclass(frozen=True)
class SettingsSaved:
    """What saving changed: the settings (page labels), the waiting pairs planned again, the
    upcoming sessions whose reminders were set again."""

    changed: tuple[str, ...]
    replanned: int = 0
    reminders_reset: int = 0


def program_spec(deps: Dependencies, program_id: str) -> ProgramSpec:
    """The program's settings as the form edits them."""
    with deps.uow() as uow:
        program = uow.programs.get(program_id)
        if program is None:
            raise UnknownProgram("That program does not exist; pick one from your programs list.")
        return _spec_of(program)


def _spec_of(program) -> ProgramSpec:
    return ProgramSpec(
        name=program.name, cadence=program.cadence, duration_min=program.duration_min,
        session_count=program.session_count, horizon_weeks=program.horizon_weeks,
        reminder_offsets_min=tuple(sorted(set(program.reminder_offsets_min or ()), reverse=True)),
        repair_policy=program.repair_policy, allow_pair_cadence=bool(program.allow_pair_cadence),
        mentor_max_sessions_per_week=program.mentor_max_sessions_per_week,
        templates=tuple((t.name, t.body) for t in program.agenda_templates),
        attendance_window_days=program.attendance_window_days or 3)


def update_program(deps: Dependencies, program_id: str, spec: ProgramSpec) -> SettingsSaved:
    """Save ``spec`` (validated like a new program) and set going what the changes call for
    (see the module). The caller checked the viewer coordinates the program."""
    problems = validate_program_spec(spec)
    if problems:
        raise InvalidInput(" ".join(problems))
    now = deps.clock.now()
    with deps.uow() as uow:
        program = uow.programs.get(program_id, lock=True)
        if program is None:
            raise UnknownProgram("That program does not exist; pick one from your programs list.")
        before = _spec_of(program)
        changed = [name for name in (f.name for f in fields(ProgramSpec))
                   if getattr(before, name) != getattr(spec, name)]
        if not changed:
            return SettingsSaved(())
        program.name, program.cadence, program.duration_min = spec.name.strip(), spec.cadence, spec.duration_min
        program.session_count, program.horizon_weeks = spec.session_count, spec.horizon_weeks
        program.reminder_offsets_min = list(spec.reminder_offsets_min)
        program.repair_policy, program.allow_pair_cadence = spec.repair_policy, spec.allow_pair_cadence
        program.mentor_max_sessions_per_week = spec.mentor_max_sessions_per_week
        program.attendance_window_days = spec.attendance_window_days
        if "templates" in changed:
            for template in list(program.agenda_templates):
                uow.agenda_templates.delete(template)
            uow.flush()
            for position, (name, body) in enumerate(spec.templates):
                uow.agenda_templates.add(AgendaTemplate(program_id=program.id, name=name, body=body, position=position))
        uow.flush()
        reset = _reset_reminders(uow, program, now) if "reminder_offsets_min" in changed else 0
        replanned = 0
        if any(name in OPENS_TIME for name in changed):
            why = f"the program's {', '.join(LABELS[n] for n in changed if n in OPENS_TIME)} changed"
            replanned = sum(replan_pair(uow, pair, now, why) for pair in uow.pairs.of_program(program.id,
                                                                                             states=list(WAITING)))
        uow.commit()
    return SettingsSaved(tuple(LABELS[name] for name in changed), replanned, reset)


def _reset_reminders(uow: UnitOfWork, program, now) -> int:
    """Set the reminders of every upcoming session of the program again with its new offsets."""
    reset = 0
    for pair in uow.pairs.of_program(program.id):
        for series in pair.series:
            if series.status not in ACTIVE_SERIES:
                continue
            for occ in series.occurrences:
                if occ.status in ACTIVE_OCCURRENCE and occ.start > now:
                    cancel_occurrence_notifications(uow, occ.id)
                    uow.flush()
                    schedule_occurrence_followups(uow, occ, pair, program, now)
                    reset += 1
    return reset
