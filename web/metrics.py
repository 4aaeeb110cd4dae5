"""``/metrics`` for Prometheus, and the per-request hooks: request id, HTTP metrics, access log.

Access: with ``metrics.token`` set, ``/metrics`` wants ``Authorization: Bearer <token>`` (401
otherwise). Without one it is served in development and tests and refused (404) in production,
so a public deployment never shows its numbers by accident. Multiprocess mode (gunicorn) is on
when ``PROMETHEUS_MULTIPROC_DIR`` is set: the values of every process writing there are added up.
"""
from __future__ import annotations

import hmac
import logging
import os
import re
import time
import uuid

from flask import Blueprint, Response, abort, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from adapters.metrics import HTTP_LATENCY, HTTP_REQUESTS
from config.logs import REQUEST_ID
from scheduler.services import operations
from web import deps

bp = Blueprint("metrics", __name__)
access_log = logging.getLogger("tandem.access")
REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class DatabaseCollector:
    """Outbox depth, the oldest due row's age and pairs by state, read when Prometheus scrapes."""

    def __init__(self, container):
        self._container = container

    def collect(self):
        snap = operations.snapshot(self._container)
        depth = GaugeMetricFamily("tandem_outbox_messages", "Outbox rows not done, by status", labels=["status"])
        for status, count in sorted(snap.outbox_by_status.items()):
            depth.add_metric([status], count)
        yield depth
        yield GaugeMetricFamily("tandem_outbox_oldest_due_age_seconds",
                                "How long the oldest due, unfinished outbox row has waited (0: none)",
                                value=snap.oldest_due_age_seconds)
        pairs = GaugeMetricFamily("tandem_pairs", "Pairs by state", labels=["state"])
        for state, count in sorted(snap.pairs_by_state.items()):
            pairs.add_metric([state], count)
        yield pairs


class _Forward:
    """This process's own metrics (single-process mode)."""

    def collect(self):
        return REGISTRY.collect()


def exposition(container) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward())
    registry.register(DatabaseCollector(container))
    return generate_latest(registry)


def _authorised() -> None:
    settings = deps.container().settings
    token = settings.metrics.token
    if not token:
        if settings.app.env == "production":
            abort(404)
        return
    given = request.headers.get("Authorization", "")
    if not (given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode())):
        abort(Response("metrics need 'Authorization: Bearer <metrics.token>'\n", 401,
                       {"WWW-Authenticate": 'Bearer realm="metrics"', "Content-Type": "text/plain"}))


@bp.get("/metrics")
def metrics():
    _authorised()
    return Response(exposition(deps.container()), mimetype=CONTENT_TYPE_LATEST)


def _start() -> None:
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if REQUEST_ID_OK.match(incoming) else uuid.uuid4().hex
    g.request_id_token = REQUEST_ID.set(g.request_id)
    g.request_started = time.perf_counter()


def _finish(response):
    started = g.pop("request_started", None)
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    if started is not None:
        elapsed = time.perf_counter() - started
        HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(route, request.method).observe(elapsed)
        access_log.info("%s %s %s %.1fms", request.method, route, response.status_code, elapsed * 1000)
    if getattr(g, "request_id", None):
        response.headers["X-Request-Id"] = g.request_id
    return response


def _teardown(_exc=None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            REQUEST_ID.reset(token)
        except ValueError:  # torn down in another context: nothing of ours is left set there
            pass


def init_app(app) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_teardown)
    app.register_blueprint(bp)
