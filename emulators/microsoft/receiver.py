"""A loopback HTTPS endpoint that answers Graph's subscription validation and records change and
lifecycle notifications — the webhook side, for tests and local runs without the web app.

    with WebhookReceiver() as hook:                 # https://127.0.0.1:PORT/webhooks/graph
        provider.watch(account, hook.url, "client-state")
        emu.flush_notifications(); hook.notifications  # the JSON bodies received

Set ``echo_validation = False`` to make the handshake fail, or ``validation_delay`` to answer
slowly. Notifications are acknowledged with 202 at once, as Graph expects (work is queued).
"""
from __future__ import annotations

import json
import threading
import time

from werkzeug.wrappers import Request, Response

from emulators.serving import BackgroundServer
from emulators.tls import LocalTls, shared_tls



class WebhookReceiver:
    def __init__(self, *, path: str = "/webhooks/graph", tls: LocalTls | None = None):
        self.path = path
        self.tls = tls or shared_tls()
        self.echo_validation = True
        self.validation_delay = 0.0
        self.validations: list[str] = []
        self.notifications: list[dict] = []
        self._lock = threading.Lock()
        self._http = BackgroundServer(self._app, name="webhook-receiver", ssl_context=self.tls.server_context())

    def start(self) -> "WebhookReceiver":
        """Serve on a free loopback port in a background thread; returns self."""
        self._http.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._http.stop()

    def __enter__(self) -> "WebhookReceiver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """``https://127.0.0.1:PORT``."""
        return f"https://127.0.0.1:{self._http.port}"

    @property
    def url(self) -> str:
        """The webhook URL to give Graph."""
        return self.origin + self.path

    def _app(self, environ, start_response):
        request = Request(environ)
        token = request.args.get("validationToken")
        if token is not None:
            with self._lock:
                self.validations.append(token)
            if self.validation_delay:
                time.sleep(self.validation_delay)
            if not self.echo_validation:
                return Response("nope", status=400)(environ, start_response)
            return Response(token, mimetype="text/plain")(environ, start_response)
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            return Response(status=400)(environ, start_response)
        with self._lock:
            self.notifications.append(body)
        return Response(status=202)(environ, start_response)
