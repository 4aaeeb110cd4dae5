"""``POST /batch/calendar/v3``: multipart/mixed of up to 50 ``application/http`` parts, each
run through the same app (own Authorization, or the outer one) and answered in order."""
from __future__ import annotations

import email.parser
import secrets
from http import HTTPStatus
from typing import TYPE_CHECKING

from flask import Flask, Response, request
from werkzeug.datastructures import Headers
from werkzeug.test import Client

from emulators.google.errors import bad_request

if TYPE_CHECKING:
    from emulators.google.server import GoogleEmulator

MAX_PARTS = 50
BATCH_PART = "emulator.batch_part"


def register_batch_routes(app: Flask, emu: "GoogleEmulator") -> None:

    @app.post("/batch/calendar/v3")
    @app.post("/batch")
    def batch():
        content_type = request.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/mixed"):
            raise bad_request("Batch requests must be multipart/mixed.", reason="invalid")
        raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.get_data()
        message = email.parser.BytesParser().parsebytes(raw)
        parts = message.get_payload() if message.is_multipart() else []
        if not parts:
            raise bad_request("A batch request needs at least one part.", reason="invalid")
        if len(parts) > MAX_PARTS:
            raise bad_request(f"You have exceeded the maximum number of calls per batch ({MAX_PARTS}).",
                              reason="batchSizeTooLarge")
        outer_auth = request.headers.get("Authorization")
        client = Client(app)
        boundary = "batch_" + secrets.token_hex(12)
        chunks: list[str] = []
        for part in parts:
            content_id = (part.get("Content-ID") or "").strip()
            status, headers, body = _run_part(client, part.get_payload(decode=False), outer_auth)
            reply_id = f"<response-{content_id[1:]}" if content_id.startswith("<") else content_id
            head = "".join(f"{k}: {v}\r\n" for k, v in headers if k.lower() in ("content-type", "retry-after",
                                                                                 "www-authenticate", "etag"))
            chunks.append(f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: {reply_id}\r\n\r\n"
                          f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n{head}\r\n{body}\r\n")
        chunks.append(f"--{boundary}--\r\n")
        return Response("".join(chunks), content_type=f"multipart/mixed; boundary={boundary}")


def _run_part(client: Client, payload: str, outer_auth: str | None) -> tuple[int, list[tuple[str, str]], str]:
    """Run one serialized HTTP request against the app; answer (status, headers, body)."""
    payload = payload.replace("\r\n", "\n")
    head, _, body = payload.partition("\n\n")
    lines = head.split("\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        return 400, [("Content-Type", "application/json")], '{"error": {"code": 400, "message": "Malformed batch part."}}'
    headers = Headers()
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers.set(name.strip(), value.strip())
    if "Authorization" not in headers and outer_auth:
        headers.set("Authorization", outer_auth)
    headers.remove("Host")
    headers.remove("Content-Length")
    path, _, query = target.partition("?")
    reply = client.open(path, method=method, query_string=query, headers=headers,
                        data=body.encode() if body else None, environ_overrides={BATCH_PART: True})
    text = reply.get_data(as_text=True)
    out = (reply.status_code, list(reply.headers.items()), text)
    reply.close()
    return out
