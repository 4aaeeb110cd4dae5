"""Logging for every Tandem process: one JSON object per line in production, readable lines in
development and the sandbox; a request id or an outbox row id on every line, secrets redacted.

- ``request_id`` is set by the web app for each request (and returned as ``X-Request-Id``);
  ``outbox_id`` and ``actor`` by an actor for the run of one outbox row (:func:`log_context`).
  :class:`ContextFilter` copies them onto every record.
- :class:`RedactingFilter` masks what must never reach a log: ``Bearer`` credentials, query
  parameters that carry secrets (``token=``, ``code=``, ``password=``, ...) and the signed-link
  tokens in ``/invite/<token>``, ``/feedback/<token>`` and ``/signin/link/<token>`` — in the
  message, its arguments and any traceback.
- :func:`install_redaction` applies the same redaction to every record *when it is made*
  (``logging.setLogRecordFactory``), so it holds for every logger and every handler in every
  mode: werkzeug's access lines of the development server (its own handler included), gunicorn's,
  pytest's capture, a handler some library adds. :func:`configure_logging` and the web app
  factory install it; installing twice is a no-op.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import IO, Iterator

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("tandem_request_id", default=None)
OUTBOX_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("tandem_outbox_id", default=None)
ACTOR: contextvars.ContextVar[str | None] = contextvars.ContextVar("tandem_actor", default=None)

REDACTED = "[redacted]"
_PATTERNS = [
    (re.compile(r"(?i)\bBearer\s+[^\s\"',;]+"), "Bearer " + REDACTED),
    (re.compile(r"(?i)\b((?:access_|refresh_|id_)?token|code|state|password|passwd|secret|client_secret|"
                r"sig|signature|key)=([^&\s\"'<>]+)"), r"\1=" + REDACTED),
    (re.compile(r"(/(?:invite|feedback|signin/link)/)[^/?#\s\"'<>]+"), r"\1" + REDACTED),
]


def redact(text: str) -> str:
    """``text`` with credentials and signed-link tokens masked.

    >>> redact("GET /invite/abc.def?x=1 Authorization: Bearer ya29.zz token=s3cr3t&ok=1")
    'GET /invite/[redacted]?x=1 Authorization: Bearer [redacted] token=[redacted]&ok=1'
    """
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@contextmanager
def log_context(*, request_id: str | None = None, outbox_id: str | None = None,
                actor: str | None = None) -> Iterator[None]:
    """Every line logged inside carries these ids (only those given are changed)."""
    tokens = [(var, var.set(value)) for var, value in ((REQUEST_ID, request_id), (OUTBOX_ID, outbox_id),
                                                       (ACTOR, actor)) if value is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextFilter(logging.Filter):
    """Copies the current request id, outbox row id and actor onto the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        record.outbox_id = OUTBOX_ID.get()
        record.actor = ACTOR.get()
        return True


def redact_record(record: logging.LogRecord) -> None:
    """Format ``record``'s message once, redacted (``record.args`` emptied); redact its traceback."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what there is
        message = f"{record.msg} {record.args}"
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)


class RedactingFilter(logging.Filter):
    """Formats the message once, redacted (``record.args`` emptied), and redacts the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install_redaction() -> None:
    """Redact every log record of this process as it is made, whichever logger makes it and
    whichever handlers then see it. Wraps the current record factory once (a second call finds
    its own wrapper and does nothing)."""
    made = logging.getLogRecordFactory()
    if getattr(made, "tandem_redacts", False):
        return

    def redacting_factory(*args, **kwargs) -> logging.LogRecord:
        record = made(*args, **kwargs)
        redact_record(record)
        return record

    redacting_factory.tandem_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids set, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        body = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": redact(record.getMessage())}
        for key in ("request_id", "outbox_id", "actor"):
            value = getattr(record, key, None)
            if value:
                body[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            body["exc"] = redact(record.exc_text)
        return json.dumps(body, ensure_ascii=False, default=str)


class HumanFormatter(logging.Formatter):
    """``time LEVEL logger [request or outbox row]: message``."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = []
        if getattr(record, "request_id", None):
            ids.append(f"req={record.request_id}")
        if getattr(record, "outbox_id", None):
            ids.append(f"{getattr(record, 'actor', None) or 'outbox'}={record.outbox_id}")
        record.ids = f" [{' '.join(ids)}]" if ids else ""
        return redact(super().format(record))


def wants_json(env: str) -> bool:
    return env == "production"


def make_handler(*, json_lines: bool, stream: IO[str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if json_lines else HumanFormatter())
    return handler


def configure_logging(env: str, *, level: str | int = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Replace the root logger's handlers with one Tandem handler (JSON lines when ``env`` is
    production), and redact every record of the process (:func:`install_redaction`). Returns the
    handler."""
    install_redaction()
    handler = make_handler(json_lines=wants_json(env), stream=stream)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
