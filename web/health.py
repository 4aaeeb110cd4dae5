"""``/healthz``: is the database reachable and the broker answering? ``/readyz``: and the schema current?"""
from __future__ import annotations

from flask import Blueprint, jsonify

from config.health import health_report, readiness_report
from web import deps

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    body = health_report(deps.container())
    return jsonify(body), 200 if body["status"] == "ok" else 503


@bp.get("/readyz")
def readyz():
    """Ready to take traffic: database and broker answer and the schema is current (else 503)."""
    body = readiness_report(deps.container())
    return jsonify(body), 200 if body["status"] == "ready" else 503


def init_app(app) -> None:
    app.register_blueprint(bp)
