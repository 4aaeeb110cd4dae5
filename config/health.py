"""Health of the process's infrastructure: ``/healthz`` (does the database answer, and the broker?)
and ``/readyz`` (the same, and is the schema at the latest migration: ready to serve?).

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


def readiness_report(container) -> dict:
    """The ``/readyz`` body: ``status`` "ready" only when the database and broker answer and no
    migration is pending; each problem says what to do."""
    from adapters.storage.migrate import pending_revisions

    body = health_report(container)
    if body["database"]["status"] == "ok":
        try:
            pending = pending_revisions(container.engine)
        except Exception as exc:  # noqa: BLE001 - reported, not raised: readiness must answer
            body["migrations"] = {"status": "error", "error": f"cannot read the schema version: {exc}"}
        else:
            body["migrations"] = ({"status": "ok"} if not pending else
                                  {"status": "error", "pending": list(pending),
                                   "error": f"{len(pending)} migration(s) not applied; run 'tandem db upgrade'"})
    else:
        body["migrations"] = {"status": "unknown", "error": "the database does not answer"}
    ready = all(body[part]["status"] == "ok" for part in ("database", "broker", "migrations"))
    body["status"] = "ready" if ready else "not ready"
    return body
