"""The page behind the feedback email's links. Opening a link never records anything by
itself (mail scanners open links); the person confirms with one click, which POSTs."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from scheduler.errors import InvalidInput
from scheduler.services.feedback import ANSWERS, answer_feedback, feedback_for_link
from scheduler.services.links import LinkError
from web import deps

bp = Blueprint("feedback", __name__, url_prefix="/feedback")


def _problem(exc: InvalidInput):
    return render_template("feedback/problem.html", message=str(exc)), 400


@bp.route("/<token>", methods=["GET", "POST"])
def answer(token: str):
    container = deps.container()
    if request.method == "POST":
        answer = request.form.get("answer", "")
        try:
            ctx = answer_feedback(container, token, answer, request.form.get("rating") or None,
                                  request.form.get("notes"), request.form.get("action_items"))
        except LinkError as exc:  # the link leads nowhere (FeedbackLinkGone included)
            return _problem(exc)
        except InvalidInput as exc:  # an answer or a rating the page cannot take
            flash(str(exc), "error")
            return redirect(url_for("feedback.answer", token=token))
        return render_template("feedback/thanks.html", ctx=ctx, answer=ANSWERS[answer])
    try:
        ctx = feedback_for_link(container, token)
    except InvalidInput as exc:
        return _problem(exc)
    chosen = request.args.get("answer") if request.args.get("answer") in ANSWERS else ctx.existing_answer
    return render_template("feedback/answer.html", ctx=ctx, answers=ANSWERS, chosen=chosen, token=token,
                           when=ctx.when)


def init_app(app) -> None:
    app.register_blueprint(bp)
