"""The sandbox's front door (only with ``app.demo`` on, never in production): sign in as any
sandbox person with one click, and read the emails Tandem sent them in the demo inbox."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from scheduler.services import sandbox
from web import deps
from web.security.auth import sign_in

bp = Blueprint("demo", __name__, url_prefix="/demo")


@bp.get("")
def index():
    page = sandbox.demo_page(deps.container())
    return render_template("demo/index.html", people=[vars(r) for r in page.people],
                           pairs=[vars(p) for p in page.pairs], inbox=page.inbox)


@bp.post("/sign-in")
def sign_in_as():
    person_id = request.form.get("person_id", "")
    if not sandbox.is_sandbox_person(deps.container(), person_id):
        abort(404)
    sign_in(person_id)
    return redirect(url_for("home.index"))


def init_app(app) -> None:
    settings = app.extensions["tandem"].settings
    if settings.app.demo and settings.app.env != "production":
        app.register_blueprint(bp)
