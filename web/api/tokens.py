"""API tokens on the program page: create (shown once), list with last use, revoke.

The section is ``programs/_api_tokens.html`` (included by the program page); it reads the list
through the ``api_tokens_of(program_id)`` template global, so the program page's view is unchanged.
"""
from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for

from scheduler.errors import InvalidInput
from scheduler.services import api as service
from web import deps
from web.security.auth import coordinator_required, current

bp = Blueprint("api_tokens", __name__, url_prefix="/programs")


@bp.post("/<program_id>/api-tokens")
@coordinator_required
def create(program_id: str):
    try:
        made = service.create_api_token(deps.container(), name=request.form.get("name", ""), program_id=program_id,
                                        created_by=current().id)
    except service.UnknownProgram:
        abort(404)
    except InvalidInput as problem:
        flash(str(problem), "error")
        return redirect(url_for("programs.show", program_id=program_id) + "#api-tokens")
    page = render_template("programs/api_token_created.html", program_id=program_id, made=made)
    return page, 201, {"Cache-Control": "no-store"}


@bp.post("/<program_id>/api-tokens/<token_id>/revoke")
@coordinator_required
def revoke(program_id: str, token_id: str):
    if not service.revoke_api_token(deps.container(), program_id, token_id):
        abort(404)
    flash("The token is revoked: requests with it are refused from now on.", "success")
    return redirect(url_for("programs.show", program_id=program_id) + "#api-tokens")


def _tokens_of(program_id: str) -> list[service.TokenLine]:
    return service.api_tokens_of_program(deps.container(), program_id)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["api_tokens_of"] = _tokens_of
