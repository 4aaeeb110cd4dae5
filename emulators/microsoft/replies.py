"""HTTP replies shaped like Graph's and the Microsoft identity platform's."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from werkzeug.wrappers import Response


class GraphError(Exception):
    """Raised by handlers; rendered as Graph's ``{"error": {"code", "message", "innerError"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def json_reply(body: object, status: int = 200, headers: dict | None = None) -> Response:
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    resp.headers["request-id"] = str(uuid.uuid4())
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def graph_error_reply(err: GraphError, now: datetime, client_request_id: str | None = None) -> Response:
    """``now``: the emulator's time, stamped in ``innerError.date``."""
    request_id = str(uuid.uuid4())
    body = {"error": {"code": err.code, "message": err.message, "innerError": {
        "date": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id, "client-request-id": client_request_id or request_id}}}
    resp = json_reply(body, err.status, err.headers)
    if err.status == 401:
        resp.headers["WWW-Authenticate"] = (
            'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
            'client_id="00000003-0000-0000-c000-000000000000"')
    return resp


class OAuthError(Exception):
    """An error of the token/authorize endpoints: ``{"error", "error_description", "error_codes"}``."""

    def __init__(self, error: str, aadsts: int, description: str, status: int = 400):
        super().__init__(f"{error} AADSTS{aadsts}: {description}")
        self.error, self.aadsts, self.description, self.status = error, aadsts, description, status


def oauth_error_reply(err: OAuthError, now: datetime) -> Response:
    """``now``: the emulator's time, stamped in the description and ``timestamp``."""
    now = now.astimezone(timezone.utc)
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    return json_reply({
        "error": err.error,
        "error_description": f"AADSTS{err.aadsts}: {err.description} Trace ID: {trace} Correlation ID: {corr} "
                             f"Timestamp: {now.strftime('%Y-%m-%d %H:%M:%SZ')}",
        "error_codes": [err.aadsts],
        "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": trace,
        "correlation_id": corr,
    }, err.status)


def bad_request(message: str, code: str = "ErrorInvalidRequest") -> GraphError:
    return GraphError(400, code, message)


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
