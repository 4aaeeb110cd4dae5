"""Health of the process's infrastructure (``/healthz``): does the database answer, and the broker?

Infrastructure, not a use case: it reaches the container's engine and the broker URL directly.
"""
from __future__ import annotations

from adapters.storage.db import check_database


def health_report(container) -> dict:
    """The ``/healthz`` body: overall ``status`` ("ok" or "degraded") and one entry per dependency."""
    from adapters.broker_health import check_broker

    db_problem = check_database(container.engine)
    broker_problem = check_broker(container.settings.broker.url)
    return {
        "status": "ok" if not (db_problem or broker_problem) else "degraded",
        "database": {"status": "ok" if not db_problem else "error",
                     "backend": container.engine.dialect.name, **({"error": db_problem} if db_problem else {})},
        "broker": {"status": "ok" if not broker_problem else "error",
                   "backend": "in-process" if container.settings.broker.url.startswith("memory") else "redis",
                   **({"error": broker_problem} if broker_problem else {})},
    }
