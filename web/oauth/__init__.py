"""OAuth with Google and Microsoft, for two purposes: connecting a calendar (free/busy consent)
and signing in (OpenID over the same flow; signing in also connects that calendar)."""
from __future__ import annotations

from flask import Flask

from web.oauth.clients import allow_loopback_http
from web.oauth.views import bp


def init_app(app: Flask) -> None:
    allow_loopback_http(app.extensions["tandem"].settings)
    app.register_blueprint(bp)
