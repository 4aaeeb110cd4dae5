"""The JSON API v1 (``/api/v1``, docs/api.md, docs/contracts.md §3) and its OpenAPI 3.1 document
(``/api/openapi.json``).

Bearer tokens only: no session cookie is read as authentication and no CSRF token is asked for.
Every view parses (spectree validates the query and body against :mod:`web.api.schemas`), makes
one call to :mod:`scheduler.services.api` (or the reports/import services), and returns a schema
instance that spectree validates on the way out. Errors are ``{"error": {"code", "message"}}``.

Adding routes (the people export/erase ones) is one module like :mod:`web.api.routes`: define
views on :data:`bp` with ``@spec.validate(...)`` and ``@csrf.exempt``, and import it in
:func:`init_app`; they are authenticated, rate-limited and documented like the others.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from scheduler.errors import InvalidInput
from scheduler.services import api as service
from web import deps
from web.api.errors import CODES, ApiError, error_response
from web.api.spec import spec

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def _authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if header and scheme.lower() != "bearer":
        raise ApiError(401, "Send the token as “Authorization: Bearer TOKEN”.")
    try:
        g.api_caller = service.authenticate(deps.container(), token.strip() or None,
                                            per_minute=deps.container().settings.api.requests_per_minute)
    except service.TokenRefused as refused:
        raise ApiError(401, str(refused)) from None
    except service.RateLimitExceeded as limited:
        raise ApiError(429, str(limited), headers={"Retry-After": str(limited.retry_after)}) from None


@bp.after_request
def _headers(response):
    caller = g.get("api_caller")
    if caller is not None:
        response.headers["X-RateLimit-Limit"] = str(caller.limit)
        response.headers["X-RateLimit-Remaining"] = str(max(0, caller.remaining))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.message, exc.details, exc.headers)


@bp.errorhandler(InvalidInput)
def _invalid(exc: InvalidInput):
    return error_response(400, str(exc))


def _openapi():
    return jsonify(spec.spec)


def _json_http_errors(app: Flask) -> None:
    """Answer HTTP errors under ``/api/`` (an unknown route, a wrong method, a body too large) in
    the API's error shape; every other page keeps the app's own error pages."""
    handlers = app.error_handler_spec.setdefault(None, {}).setdefault(None, {})
    pages = handlers.get(HTTPException)

    def http_error(exc: HTTPException):
        if _under_api():
            routing = request.routing_exception
            if isinstance(routing, HTTPException):
                exc = routing
            status = exc.code if exc.code in CODES else 500
            message = {404: "There is no such route; see /api/openapi.json for the routes.",
                       405: f"This route does not answer {request.method}; see /api/openapi.json."
                       }.get(status, exc.description or "The request cannot be served.")
            allowed = getattr(exc, "valid_methods", None)
            return error_response(status, message, headers={"Allow": ", ".join(allowed)} if allowed else None)
        return pages(exc) if pages is not None else exc

    app.register_error_handler(HTTPException, http_error)
    unexpected = handlers.get(Exception)
    if unexpected is not None:  # outside tests: a crash under /api/ is a JSON 500 too
        def api_unexpected(exc: Exception):
            if _under_api():
                log.exception("unhandled error in the API")
                return error_response(500, "Tandem could not answer this request; try again later.")
            return unexpected(exc)

        app.register_error_handler(Exception, api_unexpected)


def _under_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    import web.api.people  # noqa: F401  (its views register on bp)
    import web.api.routes  # noqa: F401  (its views register on bp)
    from web.api import tokens

    app.register_blueprint(bp)
    app.register_blueprint(tokens.bp)
    app.add_url_rule("/api/openapi.json", endpoint="api_openapi", view_func=_openapi)
    _json_http_errors(app)
    tokens.init_app(app)
