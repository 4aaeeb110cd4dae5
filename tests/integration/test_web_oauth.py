"""Sign-in and connecting with Google and Microsoft through their emulators (the browser's part
is played with ``requests``): state and PKCE kept in the session, tokens stored encrypted, only
invited people may sign in, and a forged or stale answer is refused."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from sqlalchemy import select

from adapters.storage.models import CalendarConnection
from emulators.google import GoogleEmulator
from emulators.microsoft import GraphEmulator
from emulators.microsoft.browser import sign_in as microsoft_consent
from emulators.tls import client_session
from tandem.demo import DemoEmulators
from tests.support.web import seed, sign_in_as
from web import create_app


@pytest.fixture(scope="module")
def emulators():
    pair = DemoEmulators(GoogleEmulator(auto_approve=True).start(), GraphEmulator().start())
    yield pair
    pair.stop()


@pytest.fixture
def app(settings, emulators):
    from config.bootstrap import bootstrap

    container = bootstrap(settings.with_overrides(emulators.settings_overrides()))
    yield create_app(container=container)
    container.dispose()


@pytest.fixture
def seeded(app):
    return seed(app.extensions["tandem"])


def _google_consent(client, start: str) -> str:
    """Open the start URL, let the (auto-approving) emulator answer, return our callback path."""
    reply = client.get(start)
    assert reply.status_code == 302
    answer = requests.Session()
    answer.trust_env = False
    back = answer.get(reply.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text[:300]
    parts = urlsplit(back.headers["Location"])
    return f"{parts.path}?{parts.query}"


def _connections(app, person_id: str) -> list[tuple[str, str, dict]]:
    """(provider, account email, decrypted credentials) of each of the person's connections."""
    container = app.extensions["tandem"]
    with container.uow() as uow:
        rows = uow.session.scalars(select(CalendarConnection).where(CalendarConnection.person_id == person_id))
        return [(c.provider, c.account_email, container.cipher.decrypt(c.token_blob)) for c in rows]


def test_signing_in_with_google_signs_in_and_connects_the_calendar(app, emulators, seeded):
    client = app.test_client()
    start = "/oauth/google/start?purpose=signin&next=/calendars/"
    reply = client.get(start)
    location = dict(parse_qsl(urlsplit(reply.headers["Location"]).query))
    assert location["code_challenge_method"] == "S256" and location["access_type"] == "offline"
    assert "calendar.freebusy" in location["scope"]
    emulators.google.auto_approve = "mentor@example.org"
    callback = _google_consent(client, start)
    done = client.get(callback)
    assert done.status_code == 302 and done.headers["Location"] == "/calendars/"
    assert "Hello, Max Mentor" in client.get("/").get_data(as_text=True)
    [(provider, email, credentials)] = _connections(app, seeded.mentor_id)
    assert (provider, email) == ("google", "mentor@example.org") and credentials["refresh_token"]


def test_an_uninvited_google_account_cannot_sign_in(app, emulators, seeded):
    client = app.test_client()
    emulators.google.auto_approve = "stranger@example.org"
    done = client.get(_google_consent(client, "/oauth/google/start?purpose=signin"))
    assert done.status_code == 403
    assert "No Tandem program has invited stranger@example.org" in done.get_data(as_text=True)
    assert client.get("/calendars/").status_code == 302  # still signed out


def test_a_callback_from_another_browser_session_is_refused(app, emulators, seeded):
    victim, attacker = app.test_client(), app.test_client()
    sign_in_as(victim, seeded.mentee_id)
    emulators.google.auto_approve = "mentor@example.org"
    sign_in_as(attacker, seeded.mentor_id)
    callback = _google_consent(attacker, "/oauth/google/start?purpose=connect")
    forged = callback.replace("state=", "state=x")
    assert attacker.get(forged).status_code == 400  # the state does not match the saved one
    assert victim.get(callback).status_code == 400  # the victim's session never started this consent
    assert _connections(app, seeded.mentee_id) == []


def test_connecting_microsoft_with_a_form_post_answer(app, emulators, seeded):
    emulators.microsoft.add_user("mentee@example.org", time_zone="Europe/Berlin")
    client = app.test_client()
    sign_in_as(client, seeded.mentee_id)
    reply = client.get("/oauth/microsoft/start?purpose=connect")
    assert reply.status_code == 302
    answer = microsoft_consent(client_session(emulators.microsoft.ca_file), reply.headers["Location"],
                               email="mentee@example.org")
    # Microsoft POSTs the answer cross-site; Tandem turns it into a same-site GET.
    posted = client.post("/oauth/microsoft/callback", data=answer)
    assert posted.status_code == 303
    done = client.get(posted.headers["Location"])
    assert done.status_code == 302 and done.headers["Location"] == "/calendars/"
    [(provider, email, credentials)] = _connections(app, seeded.mentee_id)
    assert (provider, email) == ("microsoft", "mentee@example.org")
    assert credentials["home_account_id"] and credentials["msal_cache"]


def test_connect_needs_a_signed_in_person(app, seeded):
    reply = app.test_client().get("/oauth/google/start?purpose=connect")
    assert reply.status_code == 302 and "/signin" in reply.headers["Location"]
