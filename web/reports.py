"""Coordinator reports: missed meetings, equal access, mentor recognition, as CSV or JSON.

Routes (a coordinator of the program, or an administrator):
``/programs/<id>/reports`` (the page with a date-range form) and
``/programs/<id>/reports/<kind>.csv|.json?from=YYYY-MM-DD&to=YYYY-MM-DD``. Each view parses the
query, makes one call to :mod:`scheduler.services.reports`, and renders; a bad range is a 400
that says what to send.
"""
from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, jsonify, render_template, request

from scheduler.errors import InvalidInput
from scheduler.services import reports as service
from web import deps
from web.security.auth import coordinator_required

bp = Blueprint("reports", __name__, url_prefix="/programs")
DESCRIPTIONS = {
    "missed": "Each session nobody cancelled that did not take place: the pair, when it was (UTC and the "
              "mentor's time), and why Tandem thinks so.",
    "equal-access": "Per mentor, the minutes held with each mentee, and the least-served share: the "
                    "least-served mentee's minutes divided by the best-served mentee's (1.0 is equal).",
    "recognition": "Per mentor: sessions held, hours mentored, and the mentees they met.",
}


def _args() -> tuple[str | None, str | None]:
    return request.args.get("from"), request.args.get("to")


@bp.get("/<program_id>/reports")
@coordinator_required
def index(program_id: str):
    start, end = _args()
    try:
        page = service.reports_page(deps.container(), program_id, start, end)
    except service.UnknownProgram:
        abort(404)
    except InvalidInput as problem:
        abort(400, description=str(problem))
    return render_template("programs/reports.html", page=page, descriptions=DESCRIPTIONS)


def _report(program_id: str, kind: str):
    start, end = _args()
    try:
        return service.program_report(deps.container(), program_id, kind, start, end)
    except (service.UnknownProgram, service.UnknownReport):
        abort(404)
    except InvalidInput as problem:
        abort(400, description=str(problem))


@bp.get("/<program_id>/reports/<kind>.csv")
@coordinator_required
def as_csv(program_id: str, kind: str):
    report = _report(program_id, kind)
    return Response(report.to_csv(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{report.filename("csv")}"',
        "Cache-Control": "no-store"})


@bp.get("/<program_id>/reports/<kind>.json")
@coordinator_required
def as_json(program_id: str, kind: str):
    reply = jsonify(_report(program_id, kind).to_json())
    reply.headers["Cache-Control"] = "no-store"
    return reply


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
