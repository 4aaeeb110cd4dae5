"""The API's error shape: ``{"error": {"code": "...", "message": "...", "details": [...]}}``."""
from __future__ import annotations

from flask import jsonify

from web.api.schemas import ErrorBody, ErrorDetail, ErrorInfo

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 422: "invalid", 429: "rate_limited", 500: "server_error"}


class ApiError(Exception):
    """Raised by API views and hooks; answered in the error shape with ``status``."""

    def __init__(self, status: int, message: str, details: list[ErrorDetail] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.details, self.headers = status, message, details, headers


def error_response(status: int, message: str, details: list[ErrorDetail] | None = None,
                   headers: dict[str, str] | None = None):
    body = ErrorBody(error=ErrorInfo(code=CODES.get(status, "error"), message=message, details=details))
    response = jsonify(body.model_dump(exclude_none=True))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tandem"'
    return response
