"""Outgoing webhooks of a program: register, enable/disable, delete, send a test event; the page
listing endpoints and latest deliveries. Parse, call ``scheduler.services.outgoing_webhooks``,
render. The signing secret is shown once, in the answer to the registration (never stored in
the session cookie, never shown again)."""
from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for

from scheduler.core.webhooks import EVENT_LABELS, EVENT_TYPES
from scheduler.errors import InvalidInput, UnsafeUrl
from scheduler.services import outgoing_webhooks as service
from web import deps
from web.security.auth import coordinator_required, current

bp = Blueprint("webhooks_out", __name__, url_prefix="/programs/<program_id>/webhooks")


def _section(program_id: str):
    try:
        return service.webhooks_section(deps.container(), program_id, current().id)
    except service.NotAllowed as refused:
        abort(403, description=str(refused))
    except service.UnknownEndpoint:
        abort(404)


def _render(program_id: str, *, status: int = 200, **extra):
    response = render_template("programs/webhooks.html", section=_section(program_id), **extra)
    return response, status, {"Cache-Control": "no-store"}


@bp.get("/")
@coordinator_required
def index(program_id: str):
    return _render(program_id, form={}, problem=None, new=None)


@bp.post("/")
@coordinator_required
def register(program_id: str):
    form = request.form
    try:
        new = service.register_endpoint(deps.container(), program_id, current().id, form.get("url", ""),
                                        form.getlist("events"))
    except service.NotAllowed as refused:
        abort(403, description=str(refused))
    except service.UnknownEndpoint:
        abort(404)
    except (InvalidInput, UnsafeUrl) as problem:
        return _render(program_id, status=400, form=form, problem=str(problem), new=None)
    return _render(program_id, form={}, problem=None, new=new)


def _act(program_id: str, endpoint_id: str, action, done: str):
    try:
        result = action(deps.container(), program_id, endpoint_id, current().id)
    except service.NotAllowed as refused:
        abort(403, description=str(refused))
    except service.UnknownEndpoint:
        abort(404)
    except InvalidInput as problem:
        flash(str(problem), "error")
    else:
        flash(done.format(result=result), "success")
    return redirect(url_for("webhooks_out.index", program_id=program_id))


@bp.post("/<endpoint_id>/enable")
@coordinator_required
def enable(program_id: str, endpoint_id: str):
    enabled = request.form.get("enabled") == "1"
    return _act(program_id, endpoint_id,
                lambda d, p, e, by: service.set_endpoint_enabled(d, p, e, by, enabled),
                "The endpoint is enabled: new events are sent to it." if enabled else
                "The endpoint is disabled: nothing is sent to it until you enable it again.")


@bp.post("/<endpoint_id>/delete")
@coordinator_required
def delete(program_id: str, endpoint_id: str):
    return _act(program_id, endpoint_id, service.delete_endpoint,
                "The endpoint is deleted; events still queued for it are dropped.")


@bp.post("/<endpoint_id>/test")
@coordinator_required
def send_test(program_id: str, endpoint_id: str):
    return _act(program_id, endpoint_id, service.send_test_event,
                "A test event ({result}) is on its way; its answer shows below within a minute.")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(WEBHOOK_EVENTS=EVENT_TYPES, WEBHOOK_EVENT_LABELS=EVENT_LABELS)
