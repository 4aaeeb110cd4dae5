"""The process's Prometheus metrics (``prometheus_client``), defined once, recorded where things happen.

Labels are small closed sets — a route's URL rule, a status, an actor (outbox kind), a provider,
a provider method — never a token, an email address or an id, so no series names a person.

Under gunicorn (or any set of processes sharing ``PROMETHEUS_MULTIPROC_DIR``) ``prometheus_client``
keeps each value in a per-process file and ``/metrics`` adds them up (multiprocess mode); that
environment variable must be set before this module is first imported. What is read from the
database (outbox depth, pairs by state) is not recorded here: ``/metrics`` asks for it at scrape
time (``web/metrics.py``).
"""
from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter("tandem_http_requests", "HTTP requests answered, by route (URL rule), method and status",
                        ["route", "method", "status"])
HTTP_LATENCY = Histogram("tandem_http_request_duration_seconds", "Time to answer an HTTP request, by route",
                         ["route", "method"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

ACTOR_MESSAGES = Counter("tandem_actor_messages", "Outbox rows run by an actor, by actor (outbox kind) and "
                         "outcome: done, retry (failed, will run again), dead (failed for good), "
                         "skipped (a duplicate delivery or a row taken elsewhere)", ["actor", "outcome"])
ACTOR_DURATION = Histogram("tandem_actor_duration_seconds", "Time an actor spent running its use case",
                           ["actor"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))

PROVIDER_REQUESTS = Counter("tandem_provider_requests", "Calendar provider calls (each attempt), by provider, "
                            "method (the adapter's operation) and status: ok, rate_limited, unavailable or the "
                            "error's kind", ["provider", "method", "status"])
PROVIDER_RATE_LIMITED = Counter("tandem_provider_rate_limited", "Calendar provider answers of 429 / rate limited",
                                ["provider"])
PROVIDER_RETRY_WAIT = Histogram("tandem_provider_retry_wait_seconds", "Time waited before retrying a provider "
                                "call, by provider and reason (rate_limited honours Retry-After)",
                                ["provider", "reason"], buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120))

EMAILS_SENT = Counter("tandem_emails_sent", "Emails the SMTP server accepted")
EMAILS_FAILED = Counter("tandem_emails_failed", "Emails not sent, by reason: rejected (permanent), "
                        "unavailable (will be retried), invalid (cannot be built)", ["reason"])
