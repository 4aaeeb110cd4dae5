"""A loopback HTTP reverse proxy that can fail requests on purpose (429, 503, ...).

Put it between an adapter and a real local server (Radicale) to test retries and error mapping
against real responses. It forwards every method (WebDAV included), counts requests, and answers
the next N requests with a chosen status instead of forwarding them.
"""
from __future__ import annotations

import contextlib
import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "host", "content-length"}
_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PROPFIND", "PROPPATCH", "REPORT",
            "MKCOL", "MKCALENDAR", "MOVE", "COPY", "LOCK", "UNLOCK")


@dataclass
class _PlannedFailure:
    status: int
    remaining: int
    headers: dict[str, str]


@dataclass
class FaultProxy:
    url: str
    upstream: str
    requests_served: int = 0
    _failures: list[_PlannedFailure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` (and ``headers``) without forwarding."""
        with self._lock:
            self._failures.append(_PlannedFailure(status, times, headers or {}))

    def _take_failure(self) -> _PlannedFailure | None:
        with self._lock:
            self.requests_served += 1
            for failure in self._failures:
                if failure.remaining > 0:
                    failure.remaining -= 1
                    return failure
            return None


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        proxy: FaultProxy = self.server.proxy  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        failure = proxy._take_failure()
        if failure is not None:
            self._answer(failure.status, failure.headers, b"injected failure")
            return
        upstream = urlsplit(proxy.upstream)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            self._answer(response.status, {k: v for k, v in response.getheaders()
                                           if k.lower() not in _HOP_BY_HOP}, payload)
        finally:
            connection.close()

    def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet
        pass


for _method in _METHODS:
    setattr(_ProxyHandler, f"do_{_method}", _ProxyHandler._forward)


@contextlib.contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """Proxy ``upstream`` (an http://127.0.0.1:PORT/ root) on a free loopback port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
    httpd.daemon_threads = True
    proxy = FaultProxy(url=f"http://127.0.0.1:{httpd.server_address[1]}/", upstream=upstream)
    httpd.proxy = proxy  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
