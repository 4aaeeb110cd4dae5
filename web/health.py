"""``/healthz``: is the database reachable and the broker answering?"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from adapters.storage.db import check_database
from workers.broker import check_broker

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    container = current_app.extensions["tandem"]
    db_problem = check_database(container.engine)
    broker_problem = check_broker(container.settings.broker.url)
    body = {
        "status": "ok" if not (db_problem or broker_problem) else "degraded",
        "database": {"status": "ok" if not db_problem else "error",
                     "backend": container.engine.dialect.name, **({"error": db_problem} if db_problem else {})},
        "broker": {"status": "ok" if not broker_problem else "error",
                   "backend": "in-process" if container.settings.broker.url.startswith("memory") else "redis",
                   **({"error": broker_problem} if broker_problem else {})},
    }
    return jsonify(body), 200 if body["status"] == "ok" else 503


def init_app(app) -> None:
    app.register_blueprint(bp)
