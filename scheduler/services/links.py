"""Signed, expiring links (itsdangerous, one salt per purpose) and the single-use check.

Used by the web app (to read them) and by the workers (to put them in emails), so it lives
with the use cases, not in ``web/``.

``invite`` links open onboarding for one person of one pair and live ``security.link_max_age_days``;
``signin`` (magic) links live :data:`MAGIC_LINK_MAX_AGE` and work once: their nonce is stored in
``used_links`` when used, so a second use is refused. ``feedback`` links (in the email after a
session) live :data:`FEEDBACK_MAX_AGE` and may be used again to change the answer.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.storage.models import UsedLink
from scheduler.errors import InvalidInput

PURPOSES = ("invite", "signin", "feedback")
MAGIC_LINK_MAX_AGE = timedelta(minutes=30)
FEEDBACK_MAX_AGE = timedelta(days=30)


class LinkError(InvalidInput):
    """A link that is expired, tampered with, or already used; the message says what to do."""


class LinkSigner:
    """Signs and reads links for one secret key."""

    def __init__(self, secret_key: str, invite_max_age_days: int):
        if not secret_key:
            raise InvalidInput("security.secret_key is empty: links cannot be signed; run 'tandem config init'")
        self._secret = secret_key
        self.max_age = {"invite": timedelta(days=invite_max_age_days), "signin": MAGIC_LINK_MAX_AGE,
                        "feedback": FEEDBACK_MAX_AGE}

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown link purpose {purpose!r}")
        return URLSafeTimedSerializer(self._secret, salt=f"tandem.link.{purpose}")

    def sign(self, purpose: str, data: dict) -> str:
        return self._serializer(purpose).dumps(data)

    def sign_magic(self, person_id: str) -> str:
        """A single-use sign-in token for ``person_id``."""
        return self.sign("signin", {"p": person_id, "n": secrets.token_urlsafe(16)})

    def read(self, purpose: str, token: str) -> dict:
        """The data in a valid token of ``purpose``, or :class:`LinkError`."""
        again = {"invite": "Ask your program coordinator to send a new invitation.",
                 "signin": "Ask for a new sign-in link on the sign-in page.",
                 "feedback": "Answer from your pair page instead."}[purpose]
        try:
            data = self._serializer(purpose).loads(token, max_age=int(self.max_age[purpose].total_seconds()))
        except SignatureExpired:
            raise LinkError(f"This link has expired. {again}") from None
        except BadSignature:
            raise LinkError(f"This link is not valid (it may be incomplete; copy the whole link). {again}") from None
        if not isinstance(data, dict):
            raise LinkError(f"This link is not valid. {again}")
        return data


def use_once(session: Session, purpose: str, nonce: str, now: datetime) -> None:
    """Record ``nonce`` as used in the caller's transaction; :class:`LinkError` when it was.

    The insert is flushed at once so the primary key makes two concurrent uses collide.
    """
    if session.get(UsedLink, nonce) is not None:
        raise LinkError("This sign-in link was already used. Ask for a new one on the sign-in page.")
    session.add(UsedLink(nonce=nonce, purpose=purpose, used_at=now))
    try:
        session.flush()
    except IntegrityError:
        raise LinkError("This sign-in link was already used. Ask for a new one on the sign-in page.") from None


def signer_for(settings) -> LinkSigner:
    return LinkSigner(settings.security.secret_key, settings.security.link_max_age_days)


def feedback_url(settings, notification_id: str, answer: str | None = None) -> str:
    """The link in a feedback email; ``answer`` preselects one of the one-click answers."""
    token = signer_for(settings).sign("feedback", {"n": notification_id})
    base = f"{settings.app.base_url.rstrip('/')}/feedback/{token}"
    return f"{base}?answer={answer}" if answer else base
