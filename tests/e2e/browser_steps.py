"""Steps the browser tests share: sign in through the emailed link, read invitation links."""
from __future__ import annotations

from sqlalchemy import select

from adapters.storage.models import Notification, Person


def _latest_link(container, email: str, kind: str, key: str) -> str:
    with container.uow() as uow:
        person = uow.session.scalar(select(Person).where(Person.email == email))
        rows = list(uow.session.scalars(select(Notification).where(Notification.kind == kind,
                                                                    Notification.person_id == person.id)
                                        .order_by(Notification.created_at)))
        assert rows, f"no {kind} email was queued for {email}"
        return rows[-1].payload[key]


def invitation_link(container, email: str) -> str:
    return _latest_link(container, email, "invitation", "join_url")


def sign_in_by_email(page, site, email: str) -> None:
    """Ask for a magic link on the sign-in page, 'open the email', press Sign in."""
    page.goto(site.url("/signin"))
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    page.goto(_latest_link(site.container, email, "magic_link", "url"))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Hello").wait_for()


def sign_in_on_demo(page, site, name: str) -> None:
    """The sandbox's front door: /demo's one-click "Sign in as" button of that person."""
    from playwright.sync_api import expect

    page.goto(site.url("/demo"))
    page.get_by_role("button", name=name, exact=True).click()
    expect(page.get_by_role("heading", name="Hello")).to_be_visible()


def upcoming_starts(page) -> list[str]:
    """The UTC starts (``YYYY-MM-DDTHH:MM:SSZ``) of the sessions listed under "Next sessions"."""
    return page.locator("#upcoming li").evaluate_all("items => items.map(i => i.dataset.start)")
