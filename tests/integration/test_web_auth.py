"""Sign-in by emailed magic link: queued as an email, confirmed with a button, single use,
expiring, tamper-proof; unknown addresses are not revealed."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.storage.models import Notification
from tests.support.web import csrf_from
from web import create_app


def _request_link(client, email: str):
    token = csrf_from(client.get("/signin").get_data(as_text=True))
    return client.post("/signin/email", data={"email": email, "csrf_token": token})


def _link_of(container, person_id: str) -> str:
    with container.uow() as uow:
        row = uow.session.scalars(select(Notification).where(Notification.kind == "magic_link",
                                                             Notification.person_id == person_id)).one()
        return row.payload["url"].removeprefix("http://127.0.0.1:5000")


def test_a_magic_link_signs_in_once(app, container, seeded):
    client = app.test_client()
    reply = _request_link(client, " Mentor@Example.org ")
    assert "a sign-in link is on its way" in reply.get_data(as_text=True)
    link = _link_of(container, seeded.mentor_id)
    confirm = client.get(link)  # opening the link (or a mail scanner opening it) does not use it up
    assert confirm.status_code == 200
    reply = client.post(link, data={"csrf_token": csrf_from(confirm.get_data(as_text=True))})
    assert reply.status_code == 302
    assert "Hello, Max Mentor" in client.get("/").get_data(as_text=True)

    other = app.test_client()
    page = other.get(link).get_data(as_text=True)
    again = other.post(link, data={"csrf_token": csrf_from(page)})
    assert again.status_code == 400
    assert "already used" in again.get_data(as_text=True)


def test_an_unknown_address_gets_the_same_answer_and_no_email(app, container, seeded):
    reply = _request_link(app.test_client(), "stranger@example.org")
    assert "a sign-in link is on its way" in reply.get_data(as_text=True)
    with container.uow() as uow:
        assert list(uow.session.scalars(select(Notification).where(Notification.kind == "magic_link"))) == []


def test_an_expired_or_tampered_link_says_what_to_do(app, container, seeded):
    client = app.test_client()
    _request_link(client, "mentee@example.org")
    link = _link_of(container, seeded.mentee_id)
    tampered = client.get(link[:-3] + "abc")
    assert tampered.status_code == 400 and "not valid" in tampered.get_data(as_text=True)
    app.extensions["tandem.links"].max_age["signin"] = timedelta(seconds=-1)
    expired = client.get(link)
    assert expired.status_code == 400
    assert "expired" in expired.get_data(as_text=True) and "Ask for a new sign-in link" in expired.get_data(as_text=True)


def test_an_invitation_link_does_not_work_as_a_sign_in_link(app, container, seeded):
    invite = app.extensions["tandem.links"].sign("invite", {"p": seeded.mentor_id, "n": "x"})
    reply = app.test_client().get(f"/signin/link/{invite}")
    assert reply.status_code == 400


def test_the_sandbox_shows_the_link_on_the_page(settings, seeded):
    from config.bootstrap import bootstrap

    container = bootstrap(settings.with_overrides({"app.demo": True}))
    try:
        client = create_app(container=container).test_client()
        page = _request_link(client, "mentor@example.org").get_data(as_text=True)
        assert 'id="sandbox-link"' in page and "/signin/link/" in page
    finally:
        container.dispose()


def test_sign_out_ends_the_session(app, container, seeded):
    client = app.test_client()
    _request_link(client, "mentor@example.org")
    link = _link_of(container, seeded.mentor_id)
    client.post(link, data={"csrf_token": csrf_from(client.get(link).get_data(as_text=True))})
    home = client.get("/").get_data(as_text=True)
    client.post("/signout", data={"csrf_token": csrf_from(home)})
    assert client.get("/programs/").status_code == 302


def test_sign_in_emails_are_throttled_per_person(app, container, seeded):
    client = app.test_client()
    for _ in range(7):
        reply = _request_link(client, "mentor@example.org")
        assert "a sign-in link is on its way" in reply.get_data(as_text=True)
    with container.uow() as uow:
        sent = list(uow.session.scalars(select(Notification).where(Notification.kind == "magic_link")))
        assert len(sent) == 5
