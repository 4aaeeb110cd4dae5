"""The magic sign-in link: queue the email, and redeem a link exactly once."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.storage.uow import session_uow
from adapters.storage.models import Notification, Person
from scheduler.services.notifications import add_notification
from scheduler.services.links import LinkError, LinkSigner, use_once

THROTTLE_COUNT = 5  # sign-in emails per person ...
THROTTLE_WINDOW = timedelta(minutes=15)  # ... within this window


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def request_link(session: Session, signer: LinkSigner, email: str, now: datetime,
                 url_for_token: Callable[[str], str]) -> str | None:
    """Queue a sign-in email for a known person; returns the link (None for an unknown address
    or when too many links were asked for lately — the page does not reveal either)."""
    person = session.scalar(select(Person).where(Person.email == normalise_email(email)))
    if person is None:
        return None
    recent = session.scalar(select(func.count()).select_from(Notification).where(
        Notification.person_id == person.id, Notification.kind == "magic_link",
        Notification.due_at >= now - THROTTLE_WINDOW))  # due at once: due_at is when it was asked for
    if recent >= THROTTLE_COUNT:
        return None  # nobody can flood a mailbox with sign-in emails; the page looks the same
    token = signer.sign_magic(person.id)
    nonce = signer.read("signin", token)["n"]
    url = url_for_token(token)
    add_notification(session_uow(session), kind="magic_link", person_id=person.id, due_at=now, key=f"magic_link:{nonce}",
                     payload={"url": url})
    return url


def redeem(session: Session, signer: LinkSigner, token: str, now: datetime) -> str:
    """The person id of a valid, unused link, which is used up by this call; LinkError otherwise."""
    data = signer.read("signin", token)
    person = session.get(Person, data.get("p", ""))
    if person is None:
        raise LinkError("This sign-in link belongs to an account that no longer exists.")
    use_once(session, "signin", str(data.get("n", "")), now)
    return person.id
