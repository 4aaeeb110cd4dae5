"""Issue 15, Medium 6: sessions survived sign-out (a copied cookie still worked for up to 12
hours). Sessions are rows on the server now: signing out ends every copy of the cookie, "sign out
everywhere" ends all of a person's sessions, a sign-in starts a new token, and expiry is
checked on the server too.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from adapters.storage.models import WebSession
from scheduler.services import web_sessions
from tests.support.web import csrf_from, sign_in_as

COOKIE = "tandem_session"


def _copy_cookie(app, source):
    thief = app.test_client()
    thief.set_cookie(COOKIE, source.get_cookie(COOKIE).value)
    return thief


def _signed_in(client) -> bool:
    return client.get("/calendars/").status_code == 200


def test_a_copied_cookie_stops_working_when_its_owner_signs_out(app, seeded):
    owner = app.test_client()
    token = sign_in_as(owner, seeded.mentee_id)
    thief = _copy_cookie(app, owner)
    assert _signed_in(thief)

    owner.post("/signout", data={"csrf_token": token})

    assert not _signed_in(thief)
    assert not _signed_in(owner)


def test_sign_out_everywhere_ends_every_session_of_the_person_only(app, seeded):
    phone, laptop, someone_else = app.test_client(), app.test_client(), app.test_client()
    sign_in_as(phone, seeded.mentee_id)
    sign_in_as(laptop, seeded.mentee_id)
    sign_in_as(someone_else, seeded.mentor_id)
    page = laptop.get("/").get_data(as_text=True)
    assert "Sign out everywhere" in page

    reply = laptop.post("/signout/everywhere", data={"csrf_token": csrf_from(page)})

    assert reply.status_code == 302
    assert not _signed_in(phone) and not _signed_in(laptop)
    assert _signed_in(someone_else)


def test_sign_out_everywhere_needs_the_pages_csrf_token(app, seeded):
    client = app.test_client()
    sign_in_as(client, seeded.mentee_id)
    assert client.post("/signout/everywhere").status_code == 400
    assert _signed_in(client)


def test_each_sign_in_gets_a_new_token_and_the_database_holds_only_its_hash(app, container, seeded):
    first = web_sessions.start_session(container, seeded.mentee_id)
    second = web_sessions.start_session(container, seeded.mentee_id)
    assert first != second and len(first) >= 40
    with container.uow() as uow:
        ids = set(uow.session.scalars(select(WebSession.id)))
    assert first not in ids and second not in ids and len(ids) == 2


def test_signing_in_by_link_ends_the_browsers_earlier_session(app, container, seeded):
    client = app.test_client()
    sign_in_as(client, seeded.mentor_id)
    before = client.get_cookie(COOKIE).value
    stale = _copy_cookie(app, client)
    # the browser then signs in as someone else through the real sign-in link flow
    from scheduler.services import signin
    url = signin.request_magic_link(container, "mentee@example.org", lambda t: f"/signin/link/{t}", client="1.2.3.4")
    page = client.get(url).get_data(as_text=True)
    client.post(url, data={"csrf_token": csrf_from(page)})
    assert client.get_cookie(COOKIE).value != before
    assert not _signed_in(stale)  # the earlier session (the mentor's) ended with the switch


def test_an_expired_session_is_refused_by_the_server_whatever_the_cookie_says(app, container, seeded):
    client = app.test_client()
    sign_in_as(client, seeded.mentee_id)
    with container.uow() as uow:
        for row in uow.session.scalars(select(WebSession)):
            row.expires_at = row.created_at - timedelta(seconds=1)
        uow.commit()
    assert not _signed_in(client)


def test_a_cookie_with_the_person_but_without_a_session_is_not_signed_in(app, seeded):
    """The shape of a cookie before server-side sessions: only ``pid``."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["pid"] = seeded.mentee_id
    assert not _signed_in(client)


def test_expired_sessions_are_forgotten_by_the_tick_a_day_later(app, container, seeded):
    from workers.sweeps import STEPS, forget_expired_sessions

    assert forget_expired_sessions in STEPS
    live = web_sessions.start_session(container, seeded.mentee_id)
    web_sessions.start_session(container, seeded.mentor_id)
    with container.uow() as uow:
        old = uow.session.scalars(select(WebSession).where(WebSession.person_id == seeded.mentor_id)).one()
        old.expires_at = old.expires_at - timedelta(days=3)
        uow.commit()
    assert web_sessions.forget_expired_sessions(container) == 1
    with container.uow() as uow:
        assert [s.person_id for s in uow.session.scalars(select(WebSession))] == [seeded.mentee_id]
    assert web_sessions.session_person(container, live, seeded.mentee_id) is not None
