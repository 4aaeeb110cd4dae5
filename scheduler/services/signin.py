"""Sign-in by magic link: queue the email (throttled per person), and redeem a link exactly once.

Only people Tandem already knows (invited by a program) get a link; the page answers the same
for an unknown address and for a throttled one, so it reveals neither.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Callable

from scheduler.ports import Dependencies
from scheduler.services.links import ALREADY_USED, LinkError, signer
from scheduler.services.notifications import add_notification

THROTTLE_COUNT = 5  # sign-in emails per person ...
THROTTLE_WINDOW = timedelta(minutes=15)  # ... within this window


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def request_magic_link(deps: Dependencies, email: str, url_for_token: Callable[[str], str]) -> str | None:
    """Queue a sign-in email for a known person; returns the link (None for an unknown address
    or when too many links were asked for lately — the page does not reveal either)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        person = uow.people.by_email(normalise_email(email))
        if person is None:
            return None
        # due at once: due_at is when it was asked for
        recent = uow.notifications.count_for_person(person.id, "magic_link", due_since=now - THROTTLE_WINDOW)
        if recent >= THROTTLE_COUNT:
            return None  # nobody can flood a mailbox with sign-in emails; the page looks the same
        links = signer(deps)
        token = links.sign_magic(person.id)
        nonce = links.read("signin", token)["n"]
        url = url_for_token(token)
        add_notification(uow, kind="magic_link", person_id=person.id, due_at=now, key=f"magic_link:{nonce}",
                         payload={"url": url})
        uow.commit()
        return url


def check_magic_link(deps: Dependencies, token: str) -> None:
    """LinkError unless ``token`` is a valid, unexpired sign-in link (reading it uses nothing up)."""
    signer(deps).read("signin", token)


def redeem_magic_link(deps: Dependencies, token: str) -> str:
    """The person id of a valid, unused link, which is used up by this call; LinkError otherwise."""
    data = signer(deps).read("signin", token)
    with deps.uow() as uow:
        person = uow.people.get(data.get("p", ""))
        if person is None:
            raise LinkError("This sign-in link belongs to an account that no longer exists.")
        if not uow.used_links.use(str(data.get("n", "")), "signin", deps.clock.now()):
            raise LinkError(ALREADY_USED)
        uow.commit()
        return person.id
