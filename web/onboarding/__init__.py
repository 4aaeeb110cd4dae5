"""Onboarding from an invitation link: confirm the time zone (detected in the browser), set
working hours and preferred times, and the rhythm/length where the program allows it."""
from __future__ import annotations

from flask import Flask

from web.onboarding.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
