"""Every page: CSRF on forms, security headers and CSP, session cookie flags, local assets only."""
from __future__ import annotations

import re

import pytest

from tests.support.web import csrf_from, sign_in_as
from web import create_app


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(app, container, seeded):
    client = app.test_client()
    sign_in_as(client, seeded.coordinator_id)
    reply = client.post("/programs/new", data={"name": "Forged", "cadence": "weekly"})
    assert reply.status_code == 400
    assert "was not sent from a Tandem page" in reply.get_data(as_text=True)
    reply = client.post("/programs/new", data={"name": "Forged", "csrf_token": "guessed"})
    assert reply.status_code == 400
    with container.uow() as uow:
        from adapters.storage.models import Program
        assert [p.name for p in uow.session.query(Program).filter_by(name="Forged")] == []


def test_the_token_from_the_page_is_accepted(app, seeded):
    client = app.test_client()
    sign_in_as(client, seeded.coordinator_id)
    token = csrf_from(client.get("/programs/new").get_data(as_text=True))
    reply = client.post("/programs/new", data={"name": "Real", "cadence": "weekly", "duration_min": "30",
                                               "session_count": "4", "horizon_weeks": "8",
                                               "reminder_offsets": "60", "repair_policy": "auto",
                                               "templates": "", "csrf_token": token})
    assert reply.status_code == 302


def test_responses_carry_a_strict_content_security_policy(app):
    reply = app.test_client().get("/signin")
    csp = reply.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] == "no-referrer"


def test_pages_use_only_local_assets_and_no_inline_script_or_style(app, seeded):
    client = app.test_client()
    sign_in_as(client, seeded.coordinator_id)
    for path in ("/", "/signin", "/programs/", "/programs/new", f"/programs/{seeded.program_id}", "/calendars/",
                 "/onboarding"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', html), path
        assert "<script>" not in html and "<style" not in html and " style=" not in html, path
        assert " onload=" not in html and " onclick=" not in html, path
    for asset in ("/static/tandem.css", "/static/tandem.js"):
        reply = client.get(asset)
        assert reply.status_code == 200, asset
        reply.close()


def test_session_cookie_is_httponly_and_samesite_lax(app, seeded):
    client = app.test_client()
    reply = client.get("/signin")
    cookie = reply.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the test settings do not ask for it


def test_session_cookie_is_secure_when_the_settings_say_so(settings):
    from config.bootstrap import bootstrap

    container = bootstrap(settings.with_overrides({"security.session_cookie_secure": True}))
    try:
        reply = create_app(container=container).test_client().get("/signin")
        assert "Secure" in reply.headers.get("Set-Cookie", "")
    finally:
        container.dispose()


def test_signed_in_pages_are_not_cached(app, seeded):
    client = app.test_client()
    sign_in_as(client, seeded.mentor_id)
    assert client.get("/").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("target", ["//x", "/%5Cx", "https://x", "/%0a/x", "/%0d/x", "/%09/x", "%09//x",
                                    "/%20/x"])
def test_sign_in_never_redirects_off_the_site(app, seeded, target):
    """Browsers drop tabs and newlines from a Location and read a backslash as a slash, so each of
    these would become //x; a signed-in visitor goes to the home page instead."""
    client = app.test_client()
    sign_in_as(client, seeded.mentee_id)
    reply = client.get(f"/signin?next={target}")
    assert reply.status_code == 302
    assert reply.headers["Location"] == "/"


def test_sign_in_follows_a_same_site_next(app, seeded):
    client = app.test_client()
    sign_in_as(client, seeded.mentee_id)
    reply = client.get("/signin?next=/calendars/%3Fx%3D1")
    assert reply.status_code == 302 and reply.headers["Location"] == "/calendars/?x=1"
