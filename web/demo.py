"""The sandbox's front door (only with ``app.demo`` on, never in production): sign in as any
sandbox person with one click, skip ahead in time (the sandbox clock, docs/contracts.md §2), and
read the emails Tandem sent in the demo inbox, with their HTML and their calendar (.ics) parts."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for

from scheduler.errors import InvalidInput
from scheduler.services import sandbox
from web import deps
from web.security.auth import sign_in

bp = Blueprint("demo", __name__, url_prefix="/demo")
# An email's own HTML, shown alone: its inline styles, nothing else (no script, no request out).
EMAIL_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


@bp.get("")
def index():
    page = sandbox.demo_page(deps.container())
    return render_template("demo/index.html", people=[vars(r) for r in page.people],
                           pairs=[vars(p) for p in page.pairs], inbox=page.inbox, now=page.now,
                           skips=list(sandbox.SKIPS),
                           calendars=current_app.extensions.get("tandem.sandbox_calendars"))


@bp.post("/sign-in")
def sign_in_as():
    person_id = request.form.get("person_id", "")
    if not sandbox.is_sandbox_person(deps.container(), person_id):
        abort(404)
    sign_in(person_id)
    return redirect(url_for("home.index"))


@bp.post("/skip")
def skip():
    """Skip ahead (1h, 1d, 1w). ``tandem run`` gives the app its ``catch_up`` (sweeps and due rows,
    run here with this process's calendars and demo inbox); without one, the sweeps run and the
    worker's tick does the rest."""
    try:
        done = sandbox.skip_ahead(deps.container(), request.form.get("by", ""),
                                  current_app.extensions.get("tandem.catch_up"))
    except InvalidInput as problem:
        flash(str(problem), "error")
        return redirect(url_for("demo.index")), 303
    flash(f"The sandbox clock now reads {done.after:%a %d %b %Y, %H:%M} UTC.", "info")
    return redirect(url_for("demo.index")), 303


@bp.get("/inbox/<key>.html")
def email_html(key: str):
    email = sandbox.inbox_email(deps.container(), key)
    if email is None or not email.html:
        abort(404)
    response = Response(email.html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = EMAIL_CSP
    return response


@bp.get("/inbox/<key>.ics")
def email_ics(key: str):
    email = sandbox.inbox_email(deps.container(), key)
    if email is None or not email.ics:
        abort(404)
    response = Response(email.ics, mimetype="text/calendar")
    response.headers["Content-Disposition"] = "attachment; filename=invite.ics"
    return response


def init_app(app) -> None:
    settings = app.extensions["tandem"].settings
    if settings.app.demo and settings.app.env != "production":
        app.register_blueprint(bp)
