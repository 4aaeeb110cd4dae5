"""Pair controllers: parse, call ``scheduler.services.pair_page`` / ``pair_sessions`` / ``lifecycle``, render."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, flash, redirect, render_template, request, url_for

from scheduler.errors import InvalidInput, NotFound, ProviderError
from scheduler.services import lifecycle, pair_page, pair_sessions, replanning
from web import deps
from web.security.auth import current, pair_member_required

bp = Blueprint("pairs", __name__, url_prefix="/pairs")


def _back(pair_id: str):
    return redirect(url_for("pairs.show", pair_id=pair_id))


@bp.get("/<pair_id>")
@pair_member_required
def show(pair_id: str):
    page = pair_page.pair_page(deps.container(), pair_id, current().id)
    return render_template("pairs/show.html", page=page)


@bp.get("/<pair_id>/sessions/<occurrence_id>/skip")
@pair_member_required
def confirm_skip(pair_id: str, occurrence_id: str):
    try:
        confirmation = pair_page.confirm_skip(deps.container(), pair_id, occurrence_id, current().id)
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    return render_template("pairs/confirm.html", c=confirmation, what="skip",
                           action=url_for("pairs.skip", pair_id=pair_id, occurrence_id=occurrence_id))


@bp.post("/<pair_id>/sessions/<occurrence_id>/skip")
@pair_member_required
def skip(pair_id: str, occurrence_id: str):
    try:
        pair_sessions.skip_session(deps.container(), pair_id, occurrence_id, current().id)
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    flash("That session is skipped and the calendars are updated. You can undo it for a minute; "
          "after that you both get an email.", "success")
    return _back(pair_id)


@bp.post("/<pair_id>/sessions/<occurrence_id>/undo-skip")
@pair_member_required
def undo_skip(pair_id: str, occurrence_id: str):
    try:
        pair_sessions.undo_skip(deps.container(), pair_id, occurrence_id)
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    flash("Undone: the session is back on the calendars, and nobody was emailed about the skip.", "success")
    return _back(pair_id)


@bp.get("/<pair_id>/sessions/<occurrence_id>/move")
@pair_member_required
def move_options(pair_id: str, occurrence_id: str):
    try:
        move = pair_page.move_choices(deps.container(), pair_id, occurrence_id, current().id)
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    except ProviderError as exc:
        flash(f"Tandem could not read both calendars just now ({exc}). Try again in a few minutes.", "error")
        return _back(pair_id)
    choices = [(start.strftime("%Y-%m-%dT%H:%M:%SZ"), t) for start, t in move.choices]
    return render_template("pairs/move.html", page=move.page, occurrence_id=occurrence_id, choices=choices)


@bp.post("/<pair_id>/sessions/<occurrence_id>/move")
@pair_member_required
def move(pair_id: str, occurrence_id: str):
    try:
        chosen = datetime.strptime(request.form.get("start", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        flash("Choose one of the times shown.", "error")
        return redirect(url_for("pairs.move_options", pair_id=pair_id, occurrence_id=occurrence_id))
    try:
        pair_sessions.move_session(deps.container(), pair_id, occurrence_id, chosen, current().id)
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return redirect(url_for("pairs.move_options", pair_id=pair_id, occurrence_id=occurrence_id))
    except ProviderError as exc:
        flash(f"Tandem could not read both calendars just now ({exc}). Try again in a few minutes.", "error")
        return _back(pair_id)
    flash("The session is moved; you both get an email, and the calendar is updated.", "success")
    return _back(pair_id)


@bp.get("/<pair_id>/pause")
@pair_member_required
def confirm_pause(pair_id: str):
    try:
        confirmation = pair_page.confirm_pause(deps.container(), pair_id, current().id)
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    return render_template("pairs/confirm.html", c=confirmation, what="pause",
                           action=url_for("pairs.pause", pair_id=pair_id))


@bp.post("/<pair_id>/pause")
@pair_member_required
def pause(pair_id: str):
    try:
        lifecycle.pause_pair(deps.container(), pair_id, by=current().id)
    except InvalidInput as exc:
        flash(f"Cannot pause: {exc}.", "error")
        return _back(pair_id)
    flash("Your sessions are paused and off the calendars. Resume whenever you are ready: the sessions "
          "still to come come back as they were. You can undo it for a minute.", "success")
    return _back(pair_id)


@bp.post("/<pair_id>/resume")
@pair_member_required
def resume(pair_id: str):
    try:
        back = lifecycle.resume_pair(deps.container(), pair_id, by=current().id)
    except InvalidInput as exc:
        flash(f"Cannot resume: {exc}.", "error")
        return _back(pair_id)
    if back:
        flash("Welcome back. Your sessions still to come are back on the calendars, as you left them.", "success")
    else:
        flash("Welcome back. Tandem is finding a regular time for your remaining sessions.", "success")
    return _back(pair_id)


@bp.post("/<pair_id>/try-again")
@pair_member_required
def try_again(pair_id: str):
    try:
        replanning.try_again(deps.container(), pair_id)
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    flash("Tandem is looking for a time again with your current hours and calendars. "
          "This page shows it as soon as it is booked.", "success")
    return _back(pair_id)


@bp.post("/<pair_id>/sessions/<occurrence_id>/agenda")
@pair_member_required
def set_agenda(pair_id: str, occurrence_id: str):
    try:
        pair_sessions.set_agenda(deps.container(), pair_id, occurrence_id, request.form.get("agenda", ""))
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    flash("Agenda saved. You both see it here and in the reminder before the session.", "success")
    return _back(pair_id)


@bp.post("/<pair_id>/goals")
@pair_member_required
def add_goal(pair_id: str):
    try:
        pair_sessions.add_goal(deps.container(), pair_id, request.form.get("text", ""))
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    flash("Goal added. Review it together in your next session.", "success")
    return _back(pair_id)


GOAL_DONE = {"done": "Goal marked as reached. Well done, both of you.", "dropped": "Goal dropped; it stays in your list.",
             "open": "Goal reopened."}


@bp.post("/<pair_id>/goals/<goal_id>")
@pair_member_required
def update_goal(pair_id: str, goal_id: str):
    status = request.form.get("status", "")
    try:
        pair_sessions.set_goal_status(deps.container(), pair_id, goal_id, status)
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    flash(GOAL_DONE[status], "success")
    return _back(pair_id)


@bp.post("/<pair_id>/goals/<goal_id>/text")
@pair_member_required
def edit_goal(pair_id: str, goal_id: str):
    try:
        pair_sessions.edit_goal(deps.container(), pair_id, goal_id, request.form.get("text", ""))
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    flash("Goal saved.", "success")
    return _back(pair_id)


@bp.post("/<pair_id>/goals/<goal_id>/review")
@pair_member_required
def review_goal(pair_id: str, goal_id: str):
    try:
        pair_sessions.review_goal(deps.container(), pair_id, goal_id)
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    flash("Noted: you reviewed this goal today.", "success")
    return _back(pair_id)
