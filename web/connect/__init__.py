"""Calendar connections: connect Google / Microsoft (OAuth), CalDAV (URL + app password) or an
ICS feed; see each connection's health; reconnect in one click; disconnect (revoke + delete)."""
from __future__ import annotations

from flask import Flask

from web import oauth
from web.connect.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    oauth.init_app(app)
