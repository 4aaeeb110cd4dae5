"""Coordinator controllers: parse the request, call ``scheduler.services.programs``, render."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from adapters.storage.models import Program
from scheduler.services import programs as service
from scheduler.services.problems import failed_work
from web.deps import external_url, now, signer, uow
from web.programs.forms import program_spec_from_form
from web.security.auth import coordinator_required, current

bp = Blueprint("programs", __name__, url_prefix="/programs")
STATE_LABELS = {"invited": "Invited", "connected": "Connected", "booked": "Booked", "paused": "Paused",
                "ended": "Ended", "needs_attention": "Needs attention"}


@bp.get("/")
@coordinator_required
def index():
    me = current()
    with uow() as work:
        programs = service.programs_for_coordinator(work.session, me.id, is_admin=me.is_admin)
        return render_template("programs/index.html", programs=programs)


@bp.route("/new", methods=["GET", "POST"])
@coordinator_required
def new():
    form = request.form
    if request.method == "POST":
        spec, problems = program_spec_from_form(form)
        if spec is not None:
            with uow() as work:
                program = service.create_program(work.session, current().id, spec)
                work.commit()
            flash(f"Program “{program.name}” is created. Now import its pairs.", "success")
            return redirect(url_for("programs.show", program_id=program.id))
        return render_template("programs/new.html", form=form, problems=problems), 400
    return render_template("programs/new.html", form=form, problems=[])


def _page(program_id: str, **extra):
    with uow() as work:
        program = work.session.get(Program, program_id)
        if program is None:
            abort(404)
        overview = service.program_overview(work.session, program_id)
        counts = {state: sum(1 for line in overview if line.state == state) for state in STATE_LABELS}
        names = {line.pair_id: f"{line.mentor_name} & {line.mentee_name}" for line in overview}
        failures = failed_work(work.session, program_id)
        return render_template("programs/show.html", program=program, overview=overview, counts=counts,
                               labels=STATE_LABELS, failures=failures, pair_names=names, **extra)


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
    with uow() as work:
        if work.session.get(Program, program_id) is None:
            abort(404)
        result = service.import_pairs_csv(work.session, program_id, text, now())
        if result.ok:
            work.commit()
    if not result.ok:
        return _page(program_id, import_errors=result.errors), 400
    flash(f"Imported {result.pairs_created} pair(s). Send the invitations when you are ready.", "success")
    return redirect(url_for("programs.show", program_id=program_id))


@bp.post("/<program_id>/invitations")
@coordinator_required
def send_invitations(program_id: str):
    links = signer()

    def link_for(person_id: str, pair_id: str) -> str:
        return external_url("onboarding.invitation", token=links.sign("invite", {"p": person_id, "pair": pair_id}))

    with uow() as work:
        if work.session.get(Program, program_id) is None:
            abort(404)
        again = request.form.get("again") == "1"
        count = service.send_invitations(work.session, program_id, now(), link_for, current().display_name,
                                         again=again)
        work.commit()
    if again:
        flash(f"{count} reminder(s) with a fresh link are on their way." if count else
              "Nobody to remind: everyone invited has set up, or was reminded today.", "success")
    else:
        flash(f"{count} invitation(s) are on their way." if count else
              "Everyone has been invited already; nobody new to invite.", "success")
    return redirect(url_for("programs.show", program_id=program_id))
