"""Sign-in by magic link: queue the email (limited per client and per person), and redeem a link
exactly once.

Only people Tandem already knows (invited by a program) get a link; the page answers the same
for an unknown address and for a throttled one, so it reveals neither.

Two limits (docs/security.md, Low 11):

- per address: at most :data:`THROTTLE_COUNT` sign-in emails per person within
  :data:`THROTTLE_WINDOW`, counted in the database over the ``magic_link`` notifications (so it
  holds across processes); over it, the page looks the same and no email goes out.
- per client: at most ``SIGNIN_CLIENT_LIMIT`` requests within ``SIGNIN_CLIENT_WINDOW`` from one
  client address (an IPv6 client by its /64), whatever addresses are typed, counted in process by
  ``deps.signin_clients`` (``scheduler.core.rate_limit`` says why); over it,
  :class:`TooManyRequests` says when to try again. It reveals nothing about accounts: it counts
  known and unknown addresses alike.

Constant work: a known address, an unknown one and a throttled one run the same steps: look the
address up, count its recent links (an unknown address counts those of :data:`NOBODY`, which no
person has), sign a single-use token, read its nonce back, build the URL, commit. Only the final
insert of the notification and its outbox row differs, so the answer's timing does not say
whether an account exists beyond that one write.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Callable

from scheduler.core.rate_limit import client_key
from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies
from scheduler.services.links import ALREADY_USED, LinkError, signer
from scheduler.services.notifications import add_notification
from scheduler.services.programs import email_problem

THROTTLE_COUNT = 5  # sign-in emails per person ...
THROTTLE_WINDOW = timedelta(minutes=15)  # ... within this window
NOBODY = "nobody"  # the person id an unknown address's work is done for (no person has it)


class TooManyRequests(InvalidInput):
    """Too many sign-in links asked for from one client lately; ``retry_after`` says how long to
    wait."""

    def __init__(self, retry_after: timedelta):
        self.retry_after = retry_after
        minutes = max(1, -(-int(retry_after.total_seconds()) // 60))
        super().__init__(f"Too many sign-in links were asked for from your network lately. Try again in "
                         f"{minutes} minute{'s' if minutes != 1 else ''}.")


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def request_magic_link(deps: Dependencies, email: str, url_for_token: Callable[[str], str], *,
                       client: str | None = None) -> str | None:
    """Queue a sign-in email for a known person; returns the link (None for an unknown address
    or when too many links were asked for lately — the page does not reveal either).

    ``client`` is the requesting client's address (the web passes the remote address); when
    given, over the per-client limit raises :class:`TooManyRequests` before anything is read.
    An address Tandem could never send to (not an address, control characters, letters outside
    plain ASCII) is :class:`InvalidInput` saying so; it was never stored, so nothing is revealed."""
    now = deps.clock.now()
    problem = email_problem("The address", normalise_email(email))
    if problem is not None:
        raise InvalidInput(f"{problem}. Enter the email address your invitation was sent to.")
    if client is not None:
        refused = deps.signin_clients.hit(client_key(client), now)
        if refused is not None:
            raise TooManyRequests(refused.retry_after)
    links = signer(deps)
    with deps.uow() as uow:
        person = uow.people.by_email(normalise_email(email))
        subject = person.id if person is not None else NOBODY
        # due at once: due_at is when it was asked for
        recent = uow.notifications.count_for_person(subject, "magic_link", due_since=now - THROTTLE_WINDOW)
        token = links.sign_magic(subject)
        nonce = links.read("signin", token)["n"]
        url = url_for_token(token)
        # nobody can flood a mailbox with sign-in emails; the page looks the same either way
        send = person is not None and recent < THROTTLE_COUNT
        if send:
            add_notification(uow, kind="magic_link", person_id=subject, due_at=now, key=f"magic_link:{nonce}",
                             payload={"url": url})
        uow.commit()
        return url if send else None


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
