"""Request-body validation against the Calendar v3 discovery document shipped with
google-api-python-client, the same document the real client builds its methods from."""
from __future__ import annotations

import functools
import json
import pathlib
from datetime import datetime

import googleapiclient

from emulators.google.errors import bad_request

_DOC = pathlib.Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json"


@functools.lru_cache(maxsize=1)
def discovery() -> dict:
    """The Calendar v3 discovery document (parsed once)."""
    return json.loads(_DOC.read_text(encoding="utf-8"))


def validate(body: object, schema_name: str) -> None:
    """Raise a 400 ApiError when ``body`` has a field the schema does not know or a wrong type.

    Google answers unknown fields with ``Invalid JSON payload received. Unknown name "x"``.
    """
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received. Expected an object.", reason="parseError")
    _check(body, {"$ref": schema_name}, "")


def _check(value: object, schema: dict, path: str) -> None:
    if "$ref" in schema:
        schema = discovery()["schemas"][schema["$ref"]]
    kind = schema.get("type")
    where = path or "body"
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            raise bad_request(f'Invalid JSON payload received. Invalid value at "{where}": expected an object.')
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if key in props:
                _check(item, props[key], child)
            elif extra is not None:
                _check(item, extra, child)
            else:
                raise bad_request(f'Invalid JSON payload received. Unknown name "{key}" at \'{where}\': Cannot find field.')
    elif kind == "array":
        if not isinstance(value, list):
            raise bad_request(f'Invalid JSON payload received. Invalid value at "{where}": expected a list.')
        for index, item in enumerate(value):
            _check(item, schema.get("items", {}), f"{path}[{index}]")
    elif kind == "string":
        if not isinstance(value, str):
            raise bad_request(f'Invalid value at "{where}": expected a string.')
        if schema.get("format") == "date-time":
            _check_date_time(value, where)
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok and isinstance(value, str):
            ok = value.lstrip("-").isdigit()  # Google accepts int64 as JSON strings
        if not ok:
            raise bad_request(f'Invalid value at "{where}": expected an integer.')
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise bad_request(f'Invalid value at "{where}": expected a boolean.')
    elif kind == "number":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise bad_request(f'Invalid value at "{where}": expected a number.')


def _check_date_time(text: str, where: str) -> None:
    """RFC 3339 date-time; the offset may be left out where a ``timeZone`` says the zone
    (Google: "A time zone offset is required unless a time zone is explicitly specified")."""
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad_request(f"Invalid value for {where}: {text}", reason="invalid") from None


def parse_rfc3339(text: str, where: str = "value") -> datetime:
    """Parse an RFC 3339 timestamp with an offset (``Z`` allowed); raise 400 otherwise."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad_request(f"Invalid value for {where}: {text}", reason="invalid") from None
    if parsed.tzinfo is None:
        raise bad_request(f"Invalid value for {where}: {text} (a time-zone offset is required)")
    return parsed
