"""Signed, expiring links for emails (feedback answers, invitations, reconnect, pair pages).

Each purpose has its own salt, so a token made for one purpose is worthless for another.
"""
from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from scheduler.errors import InvalidInput


class LinkExpired(InvalidInput):
    """The link is older than allowed; the message says what to do."""


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"tandem:{purpose}")


def sign(secret: str, purpose: str, payload: dict) -> str:
    return _serializer(secret, purpose).dumps(payload)


def verify(secret: str, purpose: str, token: str, max_age_seconds: int) -> dict:
    """The payload, or InvalidInput/LinkExpired with a sentence a person can act on."""
    try:
        return _serializer(secret, purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise LinkExpired("this link has expired; ask for a new one from your Tandem page") from None
    except BadSignature:
        raise InvalidInput("this link is not valid; it may have been copied incompletely") from None


def feedback_url(settings, notification_id: str, answer: str | None = None) -> str:
    token = sign(settings.security.secret_key, "feedback", {"n": notification_id})
    base = f"{settings.app.base_url.rstrip('/')}/feedback/{token}"
    return f"{base}?answer={answer}" if answer else base
