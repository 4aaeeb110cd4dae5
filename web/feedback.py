"""The page behind the feedback email's links. Opening a link never records anything by
itself (mail scanners open links); the person confirms with one click, which POSTs."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from adapters.mail.localtime import when
from scheduler.errors import InvalidInput
from scheduler.services.feedback import ANSWERS, feedback_for_link, record_feedback_for_link
from web import deps

bp = Blueprint("feedback", __name__, url_prefix="/feedback")


@bp.route("/<token>", methods=["GET", "POST"])
def answer(token: str):
    container = deps.container()
    try:
        ctx = feedback_for_link(container, token)
    except InvalidInput as exc:
        return render_template("feedback/problem.html", message=str(exc)), 400
    if request.method == "POST":
        rating = request.form.get("rating") or None
        try:
            record_feedback_for_link(container, token, request.form.get("answer", ""),
                                     int(rating) if rating else None, request.form.get("notes"))
        except (InvalidInput, ValueError) as exc:
            flash(str(exc), "error")
            return redirect(url_for("feedback.answer", token=token))
        return render_template("feedback/thanks.html", ctx=ctx, answer=ANSWERS[request.form["answer"]])
    chosen = request.args.get("answer") if request.args.get("answer") in ANSWERS else ctx.existing_answer
    return render_template("feedback/answer.html", ctx=ctx, answers=ANSWERS, chosen=chosen, token=token,
                           when=when(ctx.start, ctx.tz))


def init_app(app) -> None:
    app.register_blueprint(bp)
