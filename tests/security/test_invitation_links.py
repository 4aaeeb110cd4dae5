"""Issue 15, Medium 7: ``/invite/<token>`` signed a browser in on a plain GET (login CSRF; mail
scanners that open links used them up) and worked from any browser for 14 days.

Now a GET only shows the invitation; its button (a CSRF-checked POST) signs in; the first use
binds the link to that browser (a random id in an HttpOnly cookie), and another browser is sent
to sign in by email.
"""
from __future__ import annotations

from tests.support.web import csrf_from


def _signed_in_as(client):
    with client.session_transaction() as session:
        return session.get("pid")


def _token(app, seeded):
    return app.extensions["tandem.links"].sign("invite", {"p": seeded.mentee_id, "pair": seeded.pair_id})


def test_opening_an_invitation_signs_nobody_in(app, seeded):
    client = app.test_client()
    page = client.get(f"/invite/{_token(app, seeded)}")
    assert page.status_code == 200
    assert "Join and continue" in page.get_data(as_text=True)
    assert _signed_in_as(client) is None
    assert client.get("/calendars/").status_code == 302  # still signed out


def test_a_forged_post_without_the_pages_token_signs_nobody_in(app, seeded):
    client = app.test_client()
    token = _token(app, seeded)
    client.get(f"/invite/{token}")
    assert client.post(f"/invite/{token}").status_code == 400
    assert _signed_in_as(client) is None


def test_the_button_signs_in_and_binds_the_link_to_this_browser(app, seeded):
    token = _token(app, seeded)
    first = app.test_client()
    page = first.get(f"/invite/{token}").get_data(as_text=True)
    reply = first.post(f"/invite/{token}", data={"csrf_token": csrf_from(page)})
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/onboarding")
    assert _signed_in_as(first) == seeded.mentee_id

    onboarding = first.get("/onboarding").get_data(as_text=True)
    again = first.post(f"/invite/{token}", data={"csrf_token": csrf_from(onboarding)})
    assert again.status_code == 302  # the same browser may come back

    other = app.test_client()
    page = other.get(f"/invite/{token}").get_data(as_text=True)
    refused = other.post(f"/invite/{token}", data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 400
    assert "already opened in another browser" in refused.get_data(as_text=True)
    assert _signed_in_as(other) is None


def test_the_browser_cookie_is_httponly_and_lax(app, seeded):
    reply = app.test_client().get(f"/invite/{_token(app, seeded)}")
    cookie = next(h for h in reply.headers.getlist("Set-Cookie") if h.startswith("tandem_browser="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
