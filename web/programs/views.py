"""Coordinator controllers: parse the request, call ``scheduler.services.programs``, render."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from scheduler.errors import InvalidInput, NotFound
from scheduler.services import at_risk_alerts
from scheduler.services import attendance
from scheduler.services import coordinator_pair
from scheduler.services import dashboard as dashboards
from scheduler.services import digest
from scheduler.services import pair_actions
from scheduler.services import program_settings
from scheduler.services import program_sharing
from scheduler.services import programs as service
from web import deps
from web.programs import charts
from web.programs.forms import form_of_spec, program_spec_from_form
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


@bp.post("/digest")
@coordinator_required
def digest_settings():
    wanted = request.form.get("digest") == "on"
    digest.set_digest_opt_out(deps.container(), current().id, not wanted)
    flash("You will get the weekly digest every Monday." if wanted else
          "The weekly digest is off; tick the box again to get it back.", "success")
    return redirect(url_for("programs.index"))


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
        filters = dashboards.parse_filters(request.args)
    except InvalidInput as problem:
        abort(400, description=str(problem))
    me = current()
    try:
        both = dashboards.program_dashboard_page(deps.container(), program_id, filters, me.tz if me else None)
    except service.UnknownProgram:
        abort(404)
    page, board = both.page, both.dashboard
    extra.update(board=board, week_chart=charts.columns(board.weeks, what="Week of", noun="weeks"),
                 mentor_chart=charts.rows(board.mentors, what="Mentor", noun="mentors"), states=dashboards.STATES,
                 state_names=dashboards.STATE_LABELS, sorts=dashboards.SORTS, risk_labels=dashboards.at_risk.RULE_LABELS,
                 sharing_choices=program_sharing.SHARING_CHOICES)
    overview = page.overview
    names = {**page.failed_pair_names, **{line.pair_id: f"{line.mentor_name} & {line.mentee_name}" for line in overview}}
    return render_template("programs/show.html", program=page.program, overview=overview,
                           more_setting_up=page.more_setting_up, labels=STATE_LABELS, failures=page.failures,
                           pair_names=names, **extra)


@bp.route("/<program_id>/settings", methods=["GET", "POST"])
@coordinator_required
def settings(program_id: str):
    """Edit the program's settings (see ``scheduler.services.program_settings`` for what a change sets going)."""
    container = deps.container()
    if request.method == "POST":
        spec, problems = program_spec_from_form(request.form)
        if spec is not None:
            try:
                saved = program_settings.update_program(container, program_id, spec)
            except service.UnknownProgram:
                abort(404)
            except InvalidInput as problem:
                problems = [str(problem)]
            else:
                flash(_saved_message(saved), "success")
                return redirect(url_for("programs.show", program_id=program_id))
        return render_template("programs/settings.html", form=request.form, problems=problems, program_id=program_id,
                               program_name=request.form.get("name", "")), 400
    try:
        current_spec = program_settings.program_spec(container, program_id)
    except service.UnknownProgram:
        abort(404)
    return render_template("programs/settings.html", form=form_of_spec(current_spec), problems=[],
                           program_id=program_id, program_name=current_spec.name)


def _saved_message(saved: program_settings.SettingsSaved) -> str:
    if not saved.changed:
        return "Nothing changed."
    parts = [f"Saved: {', '.join(saved.changed)}."]
    if saved.reminders_reset:
        parts.append(f"The reminders of {saved.reminders_reset} upcoming session{'s' if saved.reminders_reset != 1 else ''} "
                     "follow the new times.")
    if saved.replanned:
        parts.append(f"{saved.replanned} pair{'s' if saved.replanned != 1 else ''} waiting for a time "
                     f"{'are' if saved.replanned != 1 else 'is'} being planned again.")
    return " ".join(parts)


@bp.post("/<program_id>/alerts")
@coordinator_required
def alerts(program_id: str):
    """Immediate at-risk alerts on or off (the box on the program page)."""
    wanted = request.form.get("at_risk_alerts") == "on"
    try:
        at_risk_alerts.set_at_risk_alerts(deps.container(), program_id, wanted)
    except service.UnknownProgram:
        abort(404)
    flash("You and the program's other coordinators get an email as soon as a pair becomes at risk (once per "
          "pair, until it is back on track)." if wanted else
          "Immediate at-risk alerts are off; at-risk pairs stay on the dashboard and in the weekly digest.", "success")
    return redirect(url_for("programs.show", program_id=program_id) + "#alerts")


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


@bp.get("/<program_id>/pairs/<pair_id>")
@coordinator_required
def pair(program_id: str, pair_id: str):
    """The coordinator's pair page: sessions, attendance and its signals, ratings; corrections."""
    try:
        page = coordinator_pair.coordinator_pair_page(deps.container(), program_id, pair_id, current().tz)
    except NotFound:
        abort(404)
    return render_template("programs/pair.html", page=page, verdicts=coordinator_pair.CORRECTION_CHOICES,
                           labels=coordinator_pair.VERDICT_LABELS)


# The coordinator's actions on a pair: (use case, needs a ticked confirmation)
PAIR_ACTIONS = {"plan-again": (pair_actions.plan_again, False), "pause": (pair_actions.pause, False),
                "resume": (pair_actions.resume, False), "end": (pair_actions.end, True),
                "change-mentor": (pair_actions.change_mentor, True), "remove": (pair_actions.remove, True)}


@bp.get("/<program_id>/pairs/<pair_id>/remove")
@coordinator_required
def confirm_remove(program_id: str, pair_id: str):
    """The confirmation step before a pair leaves the program."""
    try:
        page = coordinator_pair.coordinator_pair_page(deps.container(), program_id, pair_id, current().tz)
    except NotFound:
        abort(404)
    return render_template("programs/pair_remove.html", page=page)


@bp.post("/<program_id>/pairs/<pair_id>/<action>")
@coordinator_required
def pair_action(program_id: str, pair_id: str, action: str):
    if action not in PAIR_ACTIONS:
        abort(404)
    use_case, destructive = PAIR_ACTIONS[action]
    back = url_for("programs.pair", program_id=program_id, pair_id=pair_id)
    if destructive and request.form.get("confirm") != "yes":
        flash("Nothing changed: tick the box to confirm first.", "error")
        return redirect(url_for("programs.confirm_remove", program_id=program_id, pair_id=pair_id)
                        if action == "remove" else back + "#pair-actions")
    extra = (request.form.get("mentor_id", ""),) if action == "change-mentor" else ()
    try:
        result = use_case(deps.container(), program_id, pair_id, *extra, by=current().id)
    except pair_actions.NotAllowed as refused:
        abort(403, description=str(refused))
    except NotFound:
        abort(404)
    except InvalidInput as problem:
        flash(f"Nothing changed: {problem}", "error")
        return redirect(back + "#pair-actions")
    flash(result.message, "success")
    if result.pair_id is None:
        return redirect(url_for("programs.show", program_id=program_id))
    return redirect(url_for("programs.pair", program_id=program_id, pair_id=result.pair_id))


@bp.post("/<program_id>/pairs/<pair_id>/sessions/<occurrence_id>/attendance")
@coordinator_required
def correct_attendance(program_id: str, pair_id: str, occurrence_id: str):
    form = request.form
    try:
        attendance.correct_attendance(deps.container(), occurrence_id, form.get("verdict", ""), form.get("note"),
                                      current().id, pair_id=pair_id)
    except attendance.NotAllowed as refused:
        abort(403, description=str(refused))
    except InvalidInput as problem:
        flash(str(problem), "error")
    else:
        flash("The session's attendance is corrected; your note is kept beside it.", "success")
    return redirect(url_for("programs.pair", program_id=program_id, pair_id=pair_id) + f"#session-{occurrence_id}")


@bp.post("/<program_id>/sharing")
@coordinator_required
def sharing(program_id: str):
    """How a full mentor's weekly cap is shared among the mentor's pairs (fair or first come)."""
    try:
        choice = program_sharing.set_sharing(deps.container(), program_id, request.form.get("sharing", ""))
    except service.UnknownProgram:
        abort(404)
    except InvalidInput as problem:
        flash(str(problem), "error")
    else:
        flash(f"A full mentor is now shared: {program_sharing.sharing_label(choice.value).lower()}. "
              "It applies to every pair planned from now on; booked series keep their sessions.", "success")
    return redirect(url_for("programs.show", program_id=program_id) + "#sharing")
