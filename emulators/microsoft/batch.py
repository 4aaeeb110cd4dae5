"""``POST /v1.0/$batch``: Graph's JSON batching. Up to 20 requests, each run through the same
pipeline as a request of its own (the outer ``Authorization``, throttling, injected faults and
the permission check apply to each), answered as ``{"responses": [{id, status, headers, body}]}``.

Failures are per request: a 429 inside a batch carries its own ``Retry-After`` header while the
batch itself answers 200. A request whose ``dependsOn`` names a failed one answers 424.
"""
from __future__ import annotations

import json
from typing import Callable
from urllib.parse import urlsplit

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from .replies import GraphError

MAX_REQUESTS = 20
METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
PASSED_HEADERS = ("Authorization",)  # the rest of the outer headers are not inherited, as at Graph


def run_batch(request: Request, dispatch: Callable[[Request], Response]) -> dict:
    """The reply body of one ``$batch`` request; raises GraphError 400 for a malformed batch."""
    try:
        payload = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from None
    entries = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(entries, list) or not entries:
        raise GraphError(400, "BadRequest", "Invalid batch payload format: 'requests' must list 1 to "
                                            f"{MAX_REQUESTS} requests.")
    if len(entries) > MAX_REQUESTS:
        raise GraphError(400, "BadRequest", f"Invalid batch payload format: a batch holds at most {MAX_REQUESTS} "
                                            f"requests ({len(entries)} given).")
    ids = [str(e.get("id", "")) if isinstance(e, dict) else "" for e in entries]
    if "" in ids or len(set(ids)) != len(ids):
        raise GraphError(400, "BadRequest", "Invalid batch payload format: every request needs a unique id.")
    for entry in entries:
        if str(entry.get("method", "")).upper() not in METHODS or not str(entry.get("url", "")).startswith("/"):
            raise GraphError(400, "BadRequest", "Invalid batch payload format: each request needs a method and a "
                                                "relative url such as '/me/events'.")
    statuses: dict[str, int] = {}
    responses = []
    for request_id, entry in zip(ids, entries):
        needs = entry.get("dependsOn") or []
        failed = [d for d in needs if statuses.get(str(d), 424) >= 400]
        if failed:
            statuses[request_id] = 424
            responses.append({"id": request_id, "status": 424, "headers": {"Content-Type": "application/json"},
                              "body": {"error": {"code": "FailedDependency",
                                                 "message": f"Request {failed[0]} it depends on failed."}}})
            continue
        reply = dispatch(_sub_request(request, entry))
        statuses[request_id] = reply.status_code
        responses.append(_as_entry(request_id, reply))
    return {"responses": responses}


def _sub_request(outer: Request, entry: dict) -> Request:
    parts = urlsplit(entry["url"])
    path = parts.path if parts.path.startswith("/v1.0/") else "/v1.0" + parts.path
    headers = {name: outer.headers[name] for name in PASSED_HEADERS if name in outer.headers}
    headers.update({str(k): str(v) for k, v in (entry.get("headers") or {}).items()})
    body = entry.get("body")
    builder = EnvironBuilder(path=path, query_string=parts.query, method=str(entry["method"]).upper(),
                             headers=headers, data=json.dumps(body) if body is not None else None,
                             content_type="application/json" if body is not None else None)
    try:
        return Request(builder.get_environ())
    finally:
        builder.close()


def _as_entry(request_id: str, reply: Response) -> dict:
    text = reply.get_data(as_text=True)
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    headers = {k: v for k, v in reply.headers.items() if k.lower() in ("content-type", "retry-after", "location")}
    entry = {"id": request_id, "status": reply.status_code, "headers": headers}
    if body is not None:
        entry["body"] = body
    return entry
