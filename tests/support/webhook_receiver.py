"""A loopback HTTP server that receives webhooks: records every POST (path, headers, raw body)
and answers from a script (``answers``: statuses or (status, headers) pairs, 200 once empty)."""
from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0  # what the receiver answered

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    host: str
    port: int
    answers: list = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def answer(self, request: Received) -> tuple[int, dict[str, str]]:
        with self.lock:
            answer = self.answers.pop(0) if self.answers else 200
            status, headers = answer if isinstance(answer, tuple) else (answer, {})
            request.status = status
            self.received.append(request)
        return status, headers

    def event_ids(self, *, accepted: bool = False) -> list[str]:
        """Ids of the events received, in order (only those answered 2xx when ``accepted``)."""
        return [r.event["id"] for r in self.received if not accepted or 200 <= r.status < 300]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        state: WebhookReceiver = self.server.state  # type: ignore[attr-defined]
        status, headers = state.answer(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format, *args) -> None:  # noqa: A002 - keep test output quiet
        pass


@contextlib.contextmanager
def webhook_receiver(host: str = "127.0.0.1") -> Iterator[WebhookReceiver]:
    httpd = ThreadingHTTPServer((host, 0), _Handler)
    httpd.daemon_threads = True
    state = WebhookReceiver(host=host, port=httpd.server_address[1])
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
