"""A pair's own page: next sessions in both people's local times, agenda, goals, history; skip
or move one session, pause and resume. Only the pair's mentor and mentee may open it."""
from __future__ import annotations

from flask import Flask

from web.pairs.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
