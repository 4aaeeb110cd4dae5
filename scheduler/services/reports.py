"""The coordinator's reports (missed meetings, equal access, mentor recognition) for a date range.

One named query (``occurrences.of_program_between``) reads the program's sessions in the range;
the figures are computed by the pure functions of :mod:`scheduler.core.reports`. The web page and
the future JSON API call :func:`program_report` and serialise the :class:`Report` it returns
(``to_csv`` / ``to_json``). The caller checks that the reader coordinates the program.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone

from scheduler.core import reports as figures
from scheduler.core.attendance import Signal
from scheduler.core.reports import KINDS, TITLES, DateRange, Report
from scheduler.core.timegrid import zone
from scheduler.errors import InvalidInput, UnknownTimeZone
from scheduler.ports import Dependencies, ProgramSession
from scheduler.services.coordinator_pair import describe
from scheduler.services.programs import UnknownProgram

__all__ = ["KINDS", "TITLES", "UnknownProgram", "UnknownReport", "ReportsPage", "reports_page", "program_report"]


class UnknownReport(InvalidInput):
    """A report kind Tandem does not make."""


@dataclass(frozen=True)
class ReportsPage:
    program_id: str
    program_name: str
    range: DateRange
    kinds: tuple[tuple[str, str], ...]  # (kind, title)


def _program(uow, program_id: str):
    program = uow.programs.get(program_id)
    if program is None:
        raise UnknownProgram("That program does not exist; pick one from your programs list.")
    return program


def _range(deps: Dependencies, start: str | None, end: str | None) -> DateRange:
    return figures.parse_range(start, end, deps.clock.now().astimezone(timezone.utc).date())


def reports_page(deps: Dependencies, program_id: str, start: str | None = None, end: str | None = None
                 ) -> ReportsPage:
    """The program and the range the reports page offers (``InvalidInput`` for a bad range,
    ``UnknownProgram`` for a program that does not exist)."""
    date_range = _range(deps, start, end)
    with deps.uow() as uow:
        program = _program(uow, program_id)
        return ReportsPage(program.id, program.name, date_range, tuple((k, TITLES[k]) for k in KINDS))


def _zone_of(session: ProgramSession):
    """The local zone of a session: the mentor's, else the series' wall-clock zone, else UTC."""
    for name in (session.mentor_tz, session.series_tz):
        if name:
            try:
                return name, zone(name)
            except UnknownTimeZone:
                continue
    return "UTC", timezone.utc


def _reasons(session: ProgramSession) -> list[str]:
    names = {"mentor": f"{session.mentor_name or session.mentor_email} (mentor)",
             "mentee": f"{session.mentee_name or session.mentee_email} (mentee)", "coordinator": "a coordinator"}
    return [describe(Signal.from_json(s), session.start, names) for s in session.signals if isinstance(s, dict)]


def program_report(deps: Dependencies, program_id: str, kind: str, start: str | None = None,
                   end: str | None = None) -> Report:
    """The ``kind`` report (one of :data:`KINDS`) of the program over ``[start, end)`` (ISO dates;
    the defaults are the last 30 days up to and including today). ``UnknownReport``,
    ``InvalidInput`` (bad range) and ``UnknownProgram`` say what is wrong."""
    if kind not in KINDS:
        raise UnknownReport(f"There is no report called “{kind[:40]}”; the reports are: {', '.join(KINDS)}.")
    date_range = _range(deps, start, end)
    with deps.uow() as uow:
        program = _program(uow, program_id)
        sessions = uow.occurrences.of_program_between(
            program_id, start_from=date_range.start_at, start_before=date_range.end_at,
            verdicts=["missed"] if kind == "missed" else None)
        name = program.name
    if kind == "missed":
        rows = figures.missed_rows(sessions, zone=_zone_of, reasons=_reasons)
    elif kind == "equal-access":
        rows = figures.equal_access_rows(sessions)
    else:
        rows = figures.recognition_rows(sessions)
    return Report(kind, TITLES[kind], program_id, name, date_range, figures.COLUMNS[kind], tuple(rows))
