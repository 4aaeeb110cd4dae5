"""Reading JSON request bodies and typed query parameters, with Google-shaped 400s."""
from __future__ import annotations

import json

from flask import request

from emulators.google.errors import bad_request


def json_body() -> dict:
    """The request's JSON object, or 400 parseError."""
    raw = request.get_data(as_text=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("Invalid JSON payload received.", reason="parseError") from None
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received. Expected an object.", reason="parseError")
    return body


def int_param(name: str, default: int, *, low: int | None = None, high: int | None = None) -> int:
    """An integer query parameter in ``[low, high]``, or 400 invalid."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Invalid value '{raw}'. Values must match the following regular expression: '-?\\d+'",
                          reason="invalidParameter", location=name) from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise bad_request(f"Invalid value '{raw}' for {name}.", reason="invalidParameter", location=name)
    return value


def bool_param(name: str, default: bool = False) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise bad_request(f"Invalid boolean value '{raw}'.", reason="invalidParameter", location=name)
    return raw.lower() == "true"


def enum_param(name: str, allowed: tuple[str, ...]) -> str | None:
    raw = request.args.get(name)
    if raw is not None and raw not in allowed:
        raise bad_request(f"Invalid value '{raw}' for {name}; expected one of {', '.join(allowed)}.",
                          reason="invalidParameter", location=name)
    return raw
