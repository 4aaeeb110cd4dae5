"""Outgoing webhooks: the events, their ids, their bodies and signatures, and what a receiver's
answer means (pure; ``now`` is a parameter).

An event is a fact that happened once (a session held, a pair booked): its id is derived from
the fact (:func:`event_id`), so emitting the same fact again — a use case replayed after a crash
— names the same event, and the outbox keeps one delivery per endpoint and event.

Signatures follow the scheme Stripe and GitHub use: ``Tandem-Signature: t=<unix time>,v1=<hex>``
where ``v1 = HMAC-SHA256(secret, f"{t}.{body}")``. :func:`verify_signature` is what a receiver
runs (docs/webhooks.md carries a copy to paste): it checks the HMAC in constant time and refuses
a timestamp outside the tolerance window, so a captured request cannot be replayed later.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

SESSION_HELD = "session.held"
SESSION_MISSED = "session.missed"
PAIR_AT_RISK = "pair.at_risk"
PAIR_BOOKED = "pair.booked"
PAIR_UNSCHEDULABLE = "pair.unschedulable"
EVENT_TYPES = (SESSION_HELD, SESSION_MISSED, PAIR_AT_RISK, PAIR_BOOKED, PAIR_UNSCHEDULABLE)
EVENT_LABELS = {SESSION_HELD: "A session was held", SESSION_MISSED: "A session was missed",
                PAIR_AT_RISK: "A pair became at risk", PAIR_BOOKED: "A pair's sessions were booked",
                PAIR_UNSCHEDULABLE: "No common time was found for a pair"}
TEST_EVENT = "webhook.test"  # "Send a test event": sent to one endpoint whatever it subscribes to

SIGNATURE_HEADER = "Tandem-Signature"
ID_HEADER = "Tandem-Webhook-Id"
TIMESTAMP_HEADER = "Tandem-Webhook-Timestamp"
TOLERANCE_SECONDS = 300  # a receiver refuses a timestamp further than this from its clock
SECRET_PREFIX = "whsec_"
MAX_URL_LENGTH = 2000
REJECTED_TRIES = 3  # a 4xx answer (other than 410/429) is tried this many times, then given up

_NAMESPACE = uuid.UUID("6f1c3a52-2b0e-4e5c-9d43-7a0b8e2f1d11")


def event_id(fact: str) -> str:
    """The event's id, the same for the same fact (``"session.held:<occurrence id>"``)."""
    return "evt_" + uuid.uuid5(_NAMESPACE, fact).hex


def new_secret() -> str:
    """A signing secret (shown once to the coordinator, then kept encrypted)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def utc_text(moment: datetime | None) -> str | None:
    """An instant as ISO 8601 in UTC with a ``Z`` (``2026-03-02T09:00:00Z``)."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def body_of(event_id_: str, type_: str, created_at: datetime, program_id: str, data: dict) -> bytes:
    """The JSON body POSTed to the endpoint (compact, keys in a fixed order)."""
    document = {"id": event_id_, "type": type_, "created_at": utc_text(created_at), "program_id": program_id,
                "data": data}
    return json.dumps(document, separators=(",", ":"), sort_keys=False).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` with the endpoint's secret."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def headers_for(secret: str, event_id_: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": "Tandem-Webhooks/1", ID_HEADER: event_id_,
            TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: f"t={timestamp},v1={signature(secret, timestamp, body)}"}


# --- what a receiver runs (copied into docs/webhooks.md) -------------------------------------------
def verify_signature(secret: str, body: bytes, header: str, *, now: float,
                     tolerance: int = TOLERANCE_SECONDS) -> bool:
    """True when ``header`` (the ``Tandem-Signature`` value) signs ``body`` (the raw bytes
    received) with ``secret`` and its timestamp is within ``tolerance`` seconds of ``now`` (unix
    seconds; the receiver passes ``time.time()``)."""
    try:
        items = [item.split("=", 1) for item in header.split(",")]
        timestamp = int(dict(items)["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False  # too old (a replay) or from the future
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(key == "v1" and hmac.compare_digest(expected, value) for key, value in items)


# --- what an answer means --------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """``delivered``, ``gone`` (410: the endpoint disables itself), ``retry`` (429, 5xx, no
    answer: later, after ``retry_after`` seconds when the receiver said so) or ``rejected``
    (another 4xx, or a 3xx: redirects are not followed)."""

    kind: str
    retry_after: float | None = None


def outcome(status: int, headers: dict[str, str], now: datetime) -> Outcome:
    if 200 <= status < 300:
        return Outcome("delivered")
    if status == 410:
        return Outcome("gone")
    if status == 429 or status >= 500:
        return Outcome("retry", retry_after_seconds(headers.get("retry-after"), now))
    return Outcome("rejected")


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date), capped at a day; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(1.0, min(seconds, 86_400.0))
