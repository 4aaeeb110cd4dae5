"""Google-shaped API errors: ``{"error": {"code", "message", "errors": [...], "status"}}``."""
from __future__ import annotations

import json

from werkzeug.wrappers import Response

_STATUS_TEXT = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ALREADY_EXISTS", 410: "FAILED_PRECONDITION", 412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE",
}


class ApiError(Exception):
    """An error the emulated Calendar API answers with, in Google's JSON error shape."""

    def __init__(self, code: int, reason: str, message: str, *, domain: str = "global",
                 location: str | None = None, location_type: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.domain = code, reason, message, domain
        self.location, self.location_type = location, location_type
        self.headers = headers or {}

    def body(self) -> dict:
        detail = {"domain": self.domain, "reason": self.reason, "message": self.message}
        if self.location:
            detail["location"] = self.location
            detail["locationType"] = self.location_type or "parameter"
        return {"error": {"code": self.code, "message": self.message, "errors": [detail],
                          "status": _STATUS_TEXT.get(self.code, "UNKNOWN")}}

    def response(self) -> Response:
        resp = Response(json.dumps(self.body()), status=self.code,
                        content_type="application/json; charset=UTF-8")
        for name, value in self.headers.items():
            resp.headers[name] = value
        return resp


def bad_request(message: str, reason: str = "invalid", **kw) -> ApiError:
    return ApiError(400, reason, message, **kw)


def not_found(message: str = "Not Found") -> ApiError:
    return ApiError(404, "notFound", message)


def invalid_credentials() -> ApiError:
    return ApiError(401, "authError", "Invalid Credentials", location="Authorization",
                    location_type="header", headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})


def insufficient_scope() -> ApiError:
    return ApiError(403, "insufficientPermissions", "Request had insufficient authentication scopes.",
                    headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="insufficient_scope"'})
