"""A tiny loopback HTTP server whose routes a test sets, run in a thread."""
from __future__ import annotations

import contextlib
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

# A route answers (status, headers, body); the body may be an iterator of chunks (streamed).
Route = Callable[["RecordingHandler"], tuple[int, dict[str, str], bytes | Iterator[bytes]]]


@dataclass
class LocalServer:
    host: str
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (path, headers)

    scheme: str = "http"

    def url(self, path: str, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"


class RecordingHandler(BaseHTTPRequestHandler):
    server_state: LocalServer

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        state = self.server.state  # type: ignore[attr-defined]
        state.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = state.routes.get(self.path.split("?")[0])
        if route is None:
            self.send_error(404)
            return
        status, headers, body = route(self)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        chunks = [body] if isinstance(body, bytes) else body
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading on purpose (size cap)

    # CalDAV clients speak WebDAV: the same routes answer every method (the body is read first).
    def _dav(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.do_GET()

    do_PROPFIND = do_REPORT = do_PUT = do_OPTIONS = _dav  # noqa: N815 - the http.server naming

    def log_message(self, format, *args) -> None:  # noqa: A002 - keep test output quiet
        pass


@contextlib.contextmanager
def local_http_server(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Iterator[LocalServer]:
    """Serve on ``host`` (a loopback address) and a free port until the block ends (HTTPS with
    the server-side ``tls`` context when given)."""
    httpd = ThreadingHTTPServer((host, 0), RecordingHandler)
    httpd.daemon_threads = True
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    state = LocalServer(host=host, port=httpd.server_address[1], scheme="https" if tls else "http")
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
