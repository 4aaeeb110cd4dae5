"""Connection controllers: parse, call ``scheduler.services.connections``, render."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from scheduler.errors import InvalidInput, NotFound, ProviderError
from scheduler.services import connections as service
from web import deps
from web.deps import container
from web.security.auth import current, login_required

bp = Blueprint("connect", __name__, url_prefix="/calendars")


def _view(connection) -> dict:
    return {"id": connection.id, "provider": connection.provider,
            "label": connection.label,
            "account": connection.account_email, "status": connection.status, "problem": connection.problem,
            "updates": connection.updates, "push_failures": connection.push_failures,
            "oauth": connection.provider in ("google", "microsoft")}


@bp.get("/")
@login_required
def index():
    settings = container().settings
    connections = [_view(c) for c in service.connections_of(deps.container(), current().id)]
    return render_template("connect/index.html", connections=connections,
                           google=bool(settings.google.client_id), microsoft=bool(settings.microsoft.client_id))


@bp.route("/caldav", methods=["GET", "POST"])
@login_required
def caldav():
    form = request.form
    if request.method == "POST":
        try:
            service.connect_caldav(deps.container(), current().id, form.get("url", ""), form.get("username", ""),
                                   form.get("password", ""))
        except (InvalidInput, ProviderError) as exc:
            return render_template("connect/caldav.html", form=form, problems=[str(exc)]), 400
        flash("Tandem is checking your CalDAV calendar; this page shows the result in a moment. "
              "Tandem will only see when you are busy.", "success")
        return redirect(url_for("connect.index"))
    return render_template("connect/caldav.html", form=form, problems=[])


@bp.route("/ics", methods=["GET", "POST"])
@login_required
def ics():
    form = request.form
    if request.method == "POST":
        try:
            service.connect_ics(deps.container(), current().id, form.get("url", ""))
        except (InvalidInput, ProviderError) as exc:
            return render_template("connect/ics.html", form=form, problems=[str(exc)]), 400
        flash("Tandem is checking your calendar feed; this page shows the result in a moment. "
              "Tandem will only see when you are busy.", "success")
        return redirect(url_for("connect.index"))
    return render_template("connect/ics.html", form=form, problems=[])


@bp.post("/<connection_id>/disconnect")
@login_required
def disconnect(connection_id: str):
    try:
        outcome = service.disconnect(container(), current().id, connection_id)
    except NotFound as exc:
        flash(str(exc), "error")
        return redirect(url_for("connect.index"))
    flash(outcome.message, "success" if outcome.revoked else "error")
    return redirect(url_for("connect.index"))
