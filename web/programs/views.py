"""Coordinator controllers: parse the request, call ``scheduler.services.programs``, render."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from scheduler.services import programs as service
from web import deps
from web.programs.forms import program_spec_from_form
from web.security.auth import coordinator_required, current

bp = Blueprint("programs", __name__, url_prefix="/programs")
STATE_LABELS = {"invited": "Invited", "connected": "Connected", "booked": "Booked", "paused": "Paused",
                "ended": "Ended", "needs_attention": "Needs attention"}


@bp.get("/")
@coordinator_required
def index():
    me = current()
    programs = service.programs_for_coordinator(deps.container(), me.id, is_admin=me.is_admin)
    return render_template("programs/index.html", programs=programs)


@bp.route("/new", methods=["GET", "POST"])
@coordinator_required
def new():
    form = request.form
    if request.method == "POST":
        spec, problems = program_spec_from_form(form)
        if spec is not None:
            program = service.create_program(deps.container(), current().id, spec)
            flash(f"Program “{program.name}” is created. Now import its pairs.", "success")
            return redirect(url_for("programs.show", program_id=program.id))
        return render_template("programs/new.html", form=form, problems=problems), 400
    return render_template("programs/new.html", form=form, problems=[])


def _page(program_id: str, **extra):
    try:
        page = service.program_page(deps.container(), program_id)
    except service.UnknownProgram:
        abort(404)
    overview = page.overview
    counts = {state: sum(1 for line in overview if line.state == state) for state in STATE_LABELS}
    names = {line.pair_id: f"{line.mentor_name} & {line.mentee_name}" for line in overview}
    return render_template("programs/show.html", program=page.program, overview=overview, counts=counts,
                           labels=STATE_LABELS, failures=page.failures, pair_names=names, **extra)


@bp.get("/<program_id>")
@coordinator_required
def show(program_id: str):
    return _page(program_id, import_errors=[])


@bp.post("/<program_id>/import")
@coordinator_required
def import_csv(program_id: str):
    upload = request.files.get("csv_file")
    text = request.form.get("csv_text", "")
    if upload is not None and upload.filename:
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            flash("The file is not UTF-8 text; save it as “CSV UTF-8” and upload it again.", "error")
            return redirect(url_for("programs.show", program_id=program_id))
    try:
        result = service.import_pairs_csv(deps.container(), program_id, text)
    except service.UnknownProgram:
        abort(404)
    if not result.ok:
        return _page(program_id, import_errors=result.errors), 400
    flash(f"Imported {result.pairs_created} pair(s). Send the invitations when you are ready.", "success")
    return redirect(url_for("programs.show", program_id=program_id))


@bp.post("/<program_id>/invitations")
@coordinator_required
def send_invitations(program_id: str):
    again = request.form.get("again") == "1"
    try:
        count = service.send_invitations(deps.container(), program_id, coordinator_name=current().display_name,
                                         again=again)
    except service.UnknownProgram:
        abort(404)
    if again:
        flash(f"{count} reminder(s) with a fresh link are on their way." if count else
              "Nobody to remind: everyone invited has set up, or was reminded today.", "success")
    else:
        flash(f"{count} invitation(s) are on their way." if count else
              "Everyone has been invited already; nobody new to invite.", "success")
    return redirect(url_for("programs.show", program_id=program_id))
