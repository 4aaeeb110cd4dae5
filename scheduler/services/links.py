"""Signed, expiring links: their purposes and lifetimes, the error people see, and the links put
into emails. Signing itself is behind the ``LinkSigner`` port (``adapters.links`` implements it
with itsdangerous); the single-use check is ``uow.used_links.use(...)``.

``invite`` links open onboarding for one person of one pair and live ``security.link_max_age_days``;
``signin`` (magic) links live :data:`MAGIC_LINK_MAX_AGE` and work once: their nonce is stored in
``used_links`` when used, so a second use is refused. ``feedback`` links (in the email after a
session) live :data:`FEEDBACK_MAX_AGE` and may be used again to change the answer.
``digest_unsubscribe`` links (in the weekly digest) live :data:`UNSUBSCRIBE_MAX_AGE` and stop the
digest for the person they name; using one again changes nothing.
"""
from __future__ import annotations

from datetime import timedelta

from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies, LinkSigner

PURPOSES = ("invite", "signin", "feedback", "digest_unsubscribe")
MAGIC_LINK_MAX_AGE = timedelta(minutes=30)
FEEDBACK_MAX_AGE = timedelta(days=30)
UNSUBSCRIBE_MAX_AGE = timedelta(days=365)  # an old digest's "unsubscribe" still works
ALREADY_USED = "This sign-in link was already used. Ask for a new one on the sign-in page."


class LinkError(InvalidInput):
    """A link that is expired, tampered with, or already used; the message says what to do."""


def signer(deps: Dependencies) -> LinkSigner:
    """The process's link signer; InvalidInput when none is configured (no secret key)."""
    if deps.links is None:
        raise InvalidInput("security.secret_key is empty: links cannot be signed; run 'tandem config init'")
    return deps.links


def feedback_url(deps: Dependencies, notification_id: str, answer: str | None = None) -> str:
    """The link in a feedback email; ``answer`` preselects one of the one-click answers."""
    token = signer(deps).sign("feedback", {"n": notification_id})
    base = deps.config.url(f"feedback/{token}")
    return f"{base}?answer={answer}" if answer else base


def invite_url(deps: Dependencies, person_id: str, pair_id: str) -> str:
    """The link in an invitation email: it opens onboarding for ``person_id`` in ``pair_id``."""
    token = signer(deps).sign("invite", {"p": person_id, "pair": pair_id})
    return deps.config.url(f"invite/{token}")


def invitation_of_link(deps: Dependencies, token: str) -> tuple[str, str]:
    """(person id, pair id) of a signed invitation link ("" for a part it lacks); LinkError when
    the link is expired or tampered with."""
    data = signer(deps).read("invite", token)
    return str(data.get("p", "") or ""), str(data.get("pair", "") or "")
