"""The ``/api/v1`` routes of docs/contracts.md §3 (programs, pairs, sessions, reports, import)."""
from __future__ import annotations

from flask import Response as FlaskResponse
from flask import g
from spectree import Response

from scheduler.services import api as service
from scheduler.services import programs as programs_service
from scheduler.services import reports as reports_service
from web import deps
from web.api import bp
from web.api import schemas as s
from web.api.errors import ApiError
from web.api.spec import spec
from web.security import csrf

NOT_FOUND = "There is no program with this id that your token may see."
COMMON = dict(HTTP_400=s.ErrorBody, HTTP_401=s.ErrorBody, HTTP_429=s.ErrorBody)


def _program(summary) -> dict:
    return dict(id=summary.id, name=summary.name, cadence=summary.cadence, duration_min=summary.duration_min,
                session_count=summary.session_count, horizon_weeks=summary.horizon_weeks,
                reminder_offsets_min=list(summary.reminder_offsets_min), repair_policy=summary.repair_policy,
                allow_pair_cadence=summary.allow_pair_cadence, is_sandbox=summary.is_sandbox,
                attendance_window_days=summary.attendance_window_days)


def _in_scope(call, *args, **kwargs):
    """Run a service call, turning "no such program (for this token)" into 404."""
    try:
        return call(*args, **kwargs)
    except programs_service.UnknownProgram:
        raise ApiError(404, NOT_FOUND) from None


@bp.get("/programs")
@spec.validate(resp=Response(HTTP_200=s.ProgramList, **COMMON), tags=["programs"])
def programs():
    """The token's programs

    Every program for an administrator's token; the token's one program otherwise."""
    found = service.api_programs(deps.container(), g.api_caller)
    return s.ProgramList(items=[s.Program(**_program(p)) for p in found])


@bp.get("/programs/<program_id>")
@spec.validate(resp=Response(HTTP_200=s.ProgramDetail, HTTP_404=s.ErrorBody, **COMMON), tags=["programs"])
def program(program_id: str):
    """A program's settings and headline numbers

    Pairs by state, sessions held and missed this month (UTC), pairs at risk: the dashboard's figures."""
    detail = _in_scope(service.api_program, deps.container(), g.api_caller, program_id)
    h = detail.headline
    headline = s.Headline(pairs=h.pairs, pairs_by_state={state: n for state, _, n in h.pairs_by_state},
                          month=detail.month, sessions_held_this_month=h.held_this_month,
                          sessions_missed_this_month=h.missed_this_month, missed_rate=h.missed_rate,
                          at_risk=h.at_risk, at_risk_by_rule={rule: n for rule, _, n in h.risk_by_rule},
                          broken_connections=h.broken_connections)
    return s.ProgramDetail(**_program(detail.program), headline=headline)


@bp.get("/programs/<program_id>/pairs")
@spec.validate(query=s.PairsQuery, resp=Response(HTTP_200=s.PairPage, HTTP_404=s.ErrorBody, **COMMON),
               tags=["pairs"])
def pairs(program_id: str, query: s.PairsQuery):
    """The program's pairs, a page at a time

    Each pair with its state, mentor, mentee, next session, last held session, misses in a row,
    at-risk reasons and calendar connection health (as on the program page)."""
    page = _in_scope(service.api_pairs, deps.container(), g.api_caller, program_id, state=query.state,
                     at_risk_only=query.at_risk, cursor=query.cursor, limit=query.limit)
    return s.PairPage(items=[s.PairItem(
        id=line.pair_id, state=line.state, state_label=line.state_label,
        mentor=s.PersonRef(id=line.mentor_id, name=line.mentor_name, email=line.mentor_email),
        mentee=s.PersonRef(id=line.mentee_id, name=line.mentee_name, email=line.mentee_email),
        next_session=line.next_start, last_held=line.last_held, misses_in_a_row=line.misses_in_a_row,
        at_risk=bool(line.reasons), at_risk_reasons=[s.RiskReason(rule=r.rule, text=r.text) for r in line.reasons],
        connection_health=line.connection) for line in page.items], next_cursor=page.next_cursor)


@bp.post("/programs/<program_id>/pairs")
@csrf.exempt
@spec.validate(json=s.NewPairs, resp=Response(HTTP_201=s.ImportDone, HTTP_404=s.ErrorBody, HTTP_422=s.ErrorBody,
                                              **COMMON), tags=["pairs"])
def add_pairs(program_id: str, json: s.NewPairs):
    """Add pairs

    The same checks as the program page's CSV import, all or nothing: when any pair is wrong,
    nothing is added and every wrong pair is named (``details[].index``)."""
    if not g.api_caller.sees(program_id):
        raise ApiError(404, NOT_FOUND)
    result = _in_scope(programs_service.import_pairs_rows, deps.container(), program_id,
                       [p.model_dump() for p in json.pairs])
    if not result.ok:
        details = [s.ErrorDetail(index=e.line - 2 if e.line >= 2 else None, message=e.message) for e in result.errors]
        raise ApiError(422, f"{len(details)} pair(s) cannot be added, so none was: {details[0].message}", details)
    return s.ImportDone(pairs_created=result.pairs_created, people_created=result.people_created), 201


@bp.get("/programs/<program_id>/sessions")
@spec.validate(query=s.SessionsQuery, resp=Response(HTTP_200=s.SessionPage, HTTP_404=s.ErrorBody, **COMMON),
               tags=["sessions"])
def sessions(program_id: str, query: s.SessionsQuery):
    """The program's sessions, a page at a time

    Sessions starting in [from, to) (UTC days; by default the last 30 days), in time order, with
    start and end in UTC, status, attendance and the signals behind it."""
    page = _in_scope(service.api_sessions, deps.container(), g.api_caller, program_id,
                     start=query.from_.isoformat() if query.from_ else None,
                     end=query.to.isoformat() if query.to else None, cursor=query.cursor, limit=query.limit)
    return s.SessionPage(items=[s.SessionItem(
        id=x.occurrence_id, pair_id=x.pair_id, start=x.start, end=x.end, status=x.status, attendance=x.attendance,
        verdict=x.verdict, signals=[s.SignalItem(**signal) for signal in x.signals], coordinator_note=x.note)
        for x in page.items], next_cursor=page.next_cursor)


def _report(program_id: str, kind: str, query: s.ReportQuery):
    if not g.api_caller.sees(program_id):
        raise ApiError(404, NOT_FOUND)
    report = _in_scope(reports_service.program_report, deps.container(), program_id, kind,
                       query.from_.isoformat() if query.from_ else None, query.to.isoformat() if query.to else None)
    if query.format == "csv":
        return FlaskResponse(report.to_csv(), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{report.filename("csv")}"'})
    return report.to_json()


@bp.get("/programs/<program_id>/reports/missed")
@spec.validate(query=s.ReportQuery, resp=Response(HTTP_200=s.MissedReport, HTTP_404=s.ErrorBody, **COMMON),
               tags=["reports"])
def missed_report(program_id: str, query: s.ReportQuery):
    """Missed sessions with their reasons

    Each session nobody cancelled that did not take place, in [from, to). ``format=csv`` gives
    the same rows as CSV (the file the web page's report downloads)."""
    return _report(program_id, "missed", query)


@bp.get("/programs/<program_id>/reports/equal-access")
@spec.validate(query=s.ReportQuery, resp=Response(HTTP_200=s.EqualAccessReport, HTTP_404=s.ErrorBody, **COMMON),
               tags=["reports"])
def equal_access_report(program_id: str, query: s.ReportQuery):
    """Equal access: minutes per mentee, per mentor

    Per mentor, the minutes held with each mentee and the least-served share (1.0 is equal)."""
    return _report(program_id, "equal-access", query)


@bp.get("/programs/<program_id>/reports/recognition")
@spec.validate(query=s.ReportQuery, resp=Response(HTTP_200=s.RecognitionReport, HTTP_404=s.ErrorBody, **COMMON),
               tags=["reports"])
def recognition_report(program_id: str, query: s.ReportQuery):
    """Mentor recognition

    Per mentor: sessions held, hours mentored, and the mentees they met."""
    return _report(program_id, "recognition", query)
