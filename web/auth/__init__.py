"""Sign-in: an emailed single-use magic link, or Google / Microsoft (OpenID over the same OAuth
flows that connect calendars). Only people Tandem already knows (invited by a program) can sign in."""
from __future__ import annotations

from flask import Flask

from web.auth.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
