"""``/healthz``: is the database reachable and the broker answering?"""
from __future__ import annotations

from flask import Blueprint, jsonify

from config.health import health_report
from web import deps

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    body = health_report(deps.container())
    return jsonify(body), 200 if body["status"] == "ok" else 503


def init_app(app) -> None:
    app.register_blueprint(bp)
