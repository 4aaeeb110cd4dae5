"""Signed, expiring links (itsdangerous, one salt per purpose): implements the ``LinkSigner`` port.

``invite`` links live ``security.link_max_age_days``; ``signin`` (magic) links live
:data:`~scheduler.services.links.MAGIC_LINK_MAX_AGE` and carry a nonce so they can be used once
(the use case records it in ``used_links``); ``feedback`` links live
:data:`~scheduler.services.links.FEEDBACK_MAX_AGE` and may be used again.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from scheduler.errors import InvalidInput
from scheduler.services.links import FEEDBACK_MAX_AGE, MAGIC_LINK_MAX_AGE, PURPOSES, UNSUBSCRIBE_MAX_AGE, LinkError


class LinkSigner:
    """Signs and reads links for one secret key."""

    def __init__(self, secret_key: str, invite_max_age_days: int):
        if not secret_key:
            raise InvalidInput("security.secret_key is empty: links cannot be signed; run 'tandem config init'")
        self._secret = secret_key
        self.max_age = {"invite": timedelta(days=invite_max_age_days), "signin": MAGIC_LINK_MAX_AGE,
                        "feedback": FEEDBACK_MAX_AGE, "digest_unsubscribe": UNSUBSCRIBE_MAX_AGE}

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
                 "feedback": "Answer from your pair page instead.",
                 "digest_unsubscribe": "Sign in and turn the digest off on your Programs page."}[purpose]
        try:
            data = self._serializer(purpose).loads(token, max_age=int(self.max_age[purpose].total_seconds()))
        except SignatureExpired:
            raise LinkError(f"This link has expired. {again}") from None
        except BadSignature:
            raise LinkError(f"This link is not valid (it may be incomplete; copy the whole link). {again}") from None
        if not isinstance(data, dict):
            raise LinkError(f"This link is not valid. {again}")
        return data


def signer_for(settings) -> LinkSigner:
    """The signer for ``settings.security`` (InvalidInput when the secret key is empty)."""
    return LinkSigner(settings.security.secret_key, settings.security.link_max_age_days)


def link_signer(settings) -> LinkSigner | None:
    """The process's signer, or None when no secret key is configured yet (so a process that
    never signs a link, such as ``tandem doctor`` on a half-written config, still starts)."""
    return signer_for(settings) if settings.security.secret_key else None
