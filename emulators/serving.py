"""Serving an emulator (or a test webhook receiver) on loopback in a background thread."""
from __future__ import annotations

import ssl
import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """No access log lines: URLs are noise in test output, and tests read logs for privacy
    checks; the emulators keep their own request logs."""

    def log_request(self, *args, **kwargs) -> None:
        return None

    def log_error(self, format, *args) -> None:  # noqa: A002 - signature of the base class
        return None


class BackgroundServer:
    """``start()`` binds (port 0: a free one) and serves ``app`` in a daemon thread; ``stop()``
    shuts it down and waits for the thread."""

    def __init__(self, app, *, name: str, host: str = "127.0.0.1", port: int = 0,
                 ssl_context: ssl.SSLContext | None = None):
        self.app, self.name, self.host, self._port, self._ssl = app, name, host, port, ssl_context
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, f"start() the {self.name} first"
        return self._server.server_port

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> "BackgroundServer":
        self._server = make_server(self.host, self._port, self.app, threaded=True, request_handler=QuietHandler,
                                   ssl_context=self._ssl)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM. Call it first thing in ``main``, before anything is
    printed: a parent that reads the printed lines and then stops the process must never find
    the default handler still in place (that exit is -15, not a clean stop)."""
    import signal

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


def serve_until_stopped(*servers, stop: threading.Event) -> None:
    """Block until ``stop`` (from :func:`stop_on_signals`) is set, then stop every server (each
    has ``stop()``); a clean stop also removes the emulators' throwaway CA files."""
    try:
        stop.wait()
    finally:
        for server in servers:
            server.stop()
