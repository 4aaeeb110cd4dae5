"""Coordinator pages: programs, CSV import of pairs, invitations, each pair's state at a glance."""
from __future__ import annotations

from flask import Flask

from web.programs import webhooks
from web.programs.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    webhooks.init_app(app)
