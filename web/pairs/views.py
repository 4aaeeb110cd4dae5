"""Pair controllers: parse, call ``scheduler.services.lifecycle`` / ``pair_sessions``, render."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Blueprint, flash, redirect, render_template, request, url_for

from scheduler.errors import InvalidInput, NotFound, ProviderError
from scheduler.services import lifecycle, pair_sessions
from web.deps import container, now, uow
from web.pairs.queries import pair_page
from web.pairs.timeview import session_times
from web.security.auth import current, pair_member_required

bp = Blueprint("pairs", __name__, url_prefix="/pairs")


def _back(pair_id: str):
    return redirect(url_for("pairs.show", pair_id=pair_id))


@bp.get("/<pair_id>")
@pair_member_required
def show(pair_id: str):
    with uow() as work:
        page = pair_page(work.session, pair_id, current().id, now())
    return render_template("pairs/show.html", page=page)


@bp.post("/<pair_id>/sessions/<occurrence_id>/skip")
@pair_member_required
def skip(pair_id: str, occurrence_id: str):
    try:
        with uow() as work:  # the session must belong to this pair
            pair_sessions.upcoming_occurrence(work.session, occurrence_id, pair_id, now())
        lifecycle.skip_occurrence(container(), occurrence_id, current().id)
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    flash("That session is skipped; you both get an email, and the calendar is updated.", "success")
    return _back(pair_id)


@bp.get("/<pair_id>/sessions/<occurrence_id>/move")
@pair_member_required
def move_options(pair_id: str, occurrence_id: str):
    try:
        options = pair_sessions.move_options(container(), pair_id, occurrence_id)
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    except ProviderError as exc:
        flash(f"Tandem could not read both calendars just now ({exc}). Try again in a few minutes.", "error")
        return _back(pair_id)
    with uow() as work:
        page = pair_page(work.session, pair_id, current().id, now())
    duration = page.duration_min
    times = session_times([(o, o + timedelta(minutes=duration)) for o in options], page.my_tz, page.other_tz,
                          page.other_name)
    choices = [(o.strftime("%Y-%m-%dT%H:%M:%SZ"), t) for o, t in zip(options, times)]
    return render_template("pairs/move.html", page=page, occurrence_id=occurrence_id, choices=choices)


@bp.post("/<pair_id>/sessions/<occurrence_id>/move")
@pair_member_required
def move(pair_id: str, occurrence_id: str):
    try:
        chosen = datetime.strptime(request.form.get("start", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        flash("Choose one of the times shown.", "error")
        return redirect(url_for("pairs.move_options", pair_id=pair_id, occurrence_id=occurrence_id))
    try:
        pair_sessions.check_move_choice(container(), pair_id, occurrence_id, chosen)
        lifecycle.move_occurrence_to(container(), occurrence_id, chosen, current().id)
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return redirect(url_for("pairs.move_options", pair_id=pair_id, occurrence_id=occurrence_id))
    except ProviderError as exc:
        flash(f"Tandem could not read both calendars just now ({exc}). Try again in a few minutes.", "error")
        return _back(pair_id)
    flash("The session is moved; you both get an email, and the calendar is updated.", "success")
    return _back(pair_id)


@bp.post("/<pair_id>/pause")
@pair_member_required
def pause(pair_id: str):
    try:
        lifecycle.pause_pair(container(), pair_id)
    except InvalidInput as exc:
        flash(f"Cannot pause: {exc}.", "error")
        return _back(pair_id)
    flash("Your sessions are paused. Resume whenever you are ready; Tandem will find a time again.", "success")
    return _back(pair_id)


@bp.post("/<pair_id>/resume")
@pair_member_required
def resume(pair_id: str):
    try:
        lifecycle.resume_pair(container(), pair_id)
    except InvalidInput as exc:
        flash(f"Cannot resume: {exc}.", "error")
        return _back(pair_id)
    flash("Welcome back. Tandem is finding a regular time for your remaining sessions.", "success")
    return _back(pair_id)


@bp.post("/<pair_id>/sessions/<occurrence_id>/agenda")
@pair_member_required
def set_agenda(pair_id: str, occurrence_id: str):
    try:
        with uow() as work:
            pair_sessions.set_agenda(work.session, pair_id, occurrence_id, request.form.get("agenda", ""), now())
            work.commit()
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    flash("Agenda saved. You both see it here and in the reminder before the session.", "success")
    return _back(pair_id)


@bp.post("/<pair_id>/goals")
@pair_member_required
def add_goal(pair_id: str):
    try:
        with uow() as work:
            pair_sessions.add_goal(work.session, pair_id, request.form.get("text", ""), now())
            work.commit()
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
        return _back(pair_id)
    flash("Goal added. Review it together in your next session.", "success")
    return _back(pair_id)


@bp.post("/<pair_id>/goals/<goal_id>")
@pair_member_required
def update_goal(pair_id: str, goal_id: str):
    try:
        with uow() as work:
            pair_sessions.set_goal_status(work.session, pair_id, goal_id, request.form.get("status", ""), now())
            work.commit()
    except (InvalidInput, NotFound) as exc:
        flash(str(exc), "error")
    return _back(pair_id)
