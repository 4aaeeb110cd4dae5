"""Privacy requests on the web: a person downloads their data and deletes their account from
their own settings page ("My hours"); an administrator looks a person up, downloads their data or
erases them. Each view parses, makes one call to ``scheduler.services.privacy``, renders.

Erasure asks for the person's email address typed again (a confirmation that a stray click or a
forged form cannot give); every POST is CSRF-checked (``web.security.csrf``)."""
from __future__ import annotations

import json

from flask import Blueprint, Flask, Response, abort, render_template, request, session

from scheduler.services import privacy as service
from web import deps
from web.security.auth import admin_required, current, login_required

bp = Blueprint("privacy", __name__)


def _download(data: dict) -> Response:
    """The export as a JSON file the browser saves (never cached on the way)."""
    day = (data.get("exported_at") or "")[:10]
    response = Response(json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="tandem-data-{day}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _confirmed(summary: service.PrivacySummary) -> bool:
    return request.form.get("confirm", "").strip().lower() == summary.email.strip().lower()


def _summary_or_abort(person_id: str) -> service.PrivacySummary:
    try:
        return service.privacy_summary(deps.container(), person_id, requested_by=current().id)
    except service.NotAllowed as exc:
        abort(403, description=str(exc))
    except service.UnknownPerson as exc:
        abort(404, description=str(exc))


# --- the person themself ------------------------------------------------------------------------
@bp.post("/account/export")
@login_required
def export_mine():
    me = current()
    return _download(service.export_person(deps.container(), me.id, requested_by=me.id))


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_mine():
    me = current()
    summary = _summary_or_abort(me.id)
    if request.method == "GET":
        return render_template("privacy/confirm.html", summary=summary, own=True, problems=[])
    if not _confirmed(summary):
        problem = "Type your email address exactly as shown to confirm that you want your account deleted."
        return render_template("privacy/confirm.html", summary=summary, own=True, problems=[problem]), 400
    report = service.erase_person(deps.container(), me.id, requested_by=me.id)
    session.clear()  # signed out: the account is gone
    return render_template("privacy/erased.html", report=report, summary=summary, own=True)


# --- administrators ----------------------------------------------------------------------------
@bp.get("/admin/privacy")
@admin_required
def lookup():
    email = request.args.get("email", "").strip()[:320]
    found = service.find_person(deps.container(), email, requested_by=current().id) if email else None
    return render_template("privacy/lookup.html", email=email, found=found,
                           missing=bool(email) and found is None)


@bp.post("/admin/people/<person_id>/export")
@admin_required
def export_person(person_id: str):
    try:
        data = service.export_person(deps.container(), person_id, requested_by=current().id)
    except service.UnknownPerson as exc:
        abort(404, description=str(exc))
    return _download(data)


@bp.route("/admin/people/<person_id>/erase", methods=["GET", "POST"])
@admin_required
def erase(person_id: str):
    summary = _summary_or_abort(person_id)
    if request.method == "GET":
        return render_template("privacy/confirm.html", summary=summary, own=summary.person_id == current().id,
                               problems=[])
    if not _confirmed(summary):
        problem = "Type the person's email address exactly as shown to confirm the erasure."
        return render_template("privacy/confirm.html", summary=summary, own=False, problems=[problem]), 400
    report = service.erase_person(deps.container(), person_id, requested_by=current().id)
    if person_id == current().id:
        session.clear()
    return render_template("privacy/erased.html", report=report, summary=summary, own=person_id == current().id)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
