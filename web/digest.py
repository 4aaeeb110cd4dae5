"""The one-click unsubscribe link in the weekly digest. Opening the link records nothing by
itself (mail scanners open links); the page has one button, which POSTs and stops the digest."""
from __future__ import annotations

from flask import Blueprint, Flask, render_template, request

from scheduler.errors import InvalidInput
from scheduler.services import digest
from web import deps

bp = Blueprint("digest", __name__, url_prefix="/digest")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    container = deps.container()
    try:
        if request.method == "POST":
            email = digest.unsubscribe_by_link(container, token)
            return render_template("digest/unsubscribed.html", email=email)
        digest.digest_link_person(container, token)
    except InvalidInput as exc:
        return render_template("feedback/problem.html", message=str(exc)), 400
    return render_template("digest/unsubscribe.html", token=token)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
