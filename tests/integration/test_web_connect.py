"""Calendar connections on the web: the privacy sentence before consent, ICS feeds stored
encrypted, health shown with a reconnect button, disconnect revokes (Google emulator) and deletes."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from pathlib import Path

from adapters.providers.google import GoogleCalendarProvider
from adapters.providers.ics_feed import IcsFeedCalendarProvider
from adapters.providers.safe_fetch import fetch_untrusted_url
from adapters.storage.models import CalendarConnection
from emulators.google.server import GoogleEmulator
from scheduler.services.connections import check_connection, store_connection
from tests.support.web import sign_in_as
from tests.support.http_server import local_http_server
from web import create_app

FEED = Path(__file__).resolve().parent.parent / "fixtures" / "ics" / "recurring_weekly_with_exdate.ics"


@pytest.fixture
def google(container):
    with GoogleEmulator() as emu:
        container.providers["google"] = GoogleCalendarProvider(
            emu.client_id, emu.client_secret, token_uri=emu.token_uri, api_endpoint=emu.calendar_endpoint,
            batch_uri=emu.batch_uri, revoke_uri=emu.revoke_uri, trust_env=False)
        yield emu


def test_the_calendars_page_says_what_is_read_before_any_consent(container, seeded):
    client = create_app(container=container).test_client()
    sign_in_as(client, seeded.mentee_id)
    for path in ("/calendars/", "/calendars/caldav", "/calendars/ics"):
        assert "Tandem reads only when you are busy, never what your meetings are." in \
            client.get(path).get_data(as_text=True), path


@pytest.fixture
def feed_server(container):
    """A loopback feed server; the ICS provider is allowed to reach loopback for this test only."""
    with local_http_server() as server:
        container.providers["ics"] = IcsFeedCalendarProvider(
            fetch=lambda url, **kw: fetch_untrusted_url(url, address_policy=lambda address: True, **kw))
        yield server


def test_an_ics_feed_is_checked_then_stored_encrypted(container, seeded, feed_server):
    feed_server.routes["/feed.ics"] = lambda _: (200, {"Content-Type": "text/calendar"}, FEED.read_bytes())
    client = create_app(container=container).test_client()
    token = sign_in_as(client, seeded.mentee_id)
    reply = client.post("/calendars/ics", data={"csrf_token": token, "url": feed_server.url("/feed.ics")})
    assert reply.status_code == 302
    with container.uow() as uow:
        connection_id = uow.session.scalars(select(CalendarConnection.id)).one()
    assert check_connection(container, connection_id)  # the worker's check (issue 15: never in the request)
    with container.uow() as uow:
        connection = uow.session.scalars(select(CalendarConnection)).one()
        assert connection.provider == "ics" and connection.status == "ok"
        assert b"feed.ics" not in connection.token_blob
        assert container.cipher.decrypt(connection.token_blob)["url"] == feed_server.url("/feed.ics")


def test_a_feed_that_is_not_a_calendar_fails_its_check_and_the_page_says_why(container, seeded, feed_server):
    feed_server.routes["/feed.ics"] = lambda _: (200, {"Content-Type": "text/html"}, b"<html>login page</html>")
    client = create_app(container=container).test_client()
    token = sign_in_as(client, seeded.mentee_id)
    reply = client.post("/calendars/ics", data={"csrf_token": token, "url": feed_server.url("/feed.ics")})
    assert reply.status_code == 302
    with container.uow() as uow:
        connection_id = uow.session.scalars(select(CalendarConnection.id)).one()
    assert not check_connection(container, connection_id)
    with container.uow() as uow:
        connection = uow.session.get(CalendarConnection, connection_id)
        assert connection.status == "check_failed" and connection.last_error
        problem = connection.last_error
    page = client.get("/calendars/").get_data(as_text=True)
    assert "Could not be used" in page and problem.split(";")[0].replace("'", "&#39;") in page


def test_a_feed_link_that_is_not_a_web_address_is_refused(container, seeded):
    client = create_app(container=container).test_client()
    token = sign_in_as(client, seeded.mentee_id)
    reply = client.post("/calendars/ics", data={"csrf_token": token, "url": "file:///etc/passwd"})
    assert reply.status_code == 400
    assert "must be a web address starting with https://" in reply.get_data(as_text=True)


def test_a_broken_connection_shows_reconnect_and_disconnect_revokes_at_google(container, seeded, google):
    grant = google.grant("mentor@example.org")
    connection_id = store_connection(container, seeded.mentor_id, "google", "mentor@example.org", grant).id
    with container.uow() as uow:
        uow.session.get(CalendarConnection, connection_id).status = "reconnect_needed"
        uow.commit()
    client = create_app(container=container).test_client()
    token = sign_in_as(client, seeded.mentor_id)
    page = client.get("/calendars/").get_data(as_text=True)
    assert "Reconnect needed" in page and "/oauth/google/start?purpose=connect" in page
    assert "can no longer see when you are busy in your Google Calendar" in client.get("/").get_data(as_text=True)

    reply = client.post(f"/calendars/{connection_id}/disconnect", data={"csrf_token": token})
    assert reply.status_code == 302
    assert google.store.grants[grant["refresh_token"]].revoked
    with container.uow() as uow:
        assert uow.session.get(CalendarConnection, connection_id) is None
    assert "Google Calendar is disconnected" in client.get("/calendars/").get_data(as_text=True)


def test_nobody_can_disconnect_someone_elses_calendar(container, seeded):
    connection_id = store_connection(container, seeded.mentor_id, "ics", "mentor@example.org",
                                     {"url": "https://example.org/a.ics"}).id
    client = create_app(container=container).test_client()
    token = sign_in_as(client, seeded.mentee_id)
    client.post(f"/calendars/{connection_id}/disconnect", data={"csrf_token": token})
    with container.uow() as uow:
        assert uow.session.get(CalendarConnection, connection_id) is not None


def test_a_working_calendar_says_whether_its_changes_arrive_at_once_or_daily(container, seeded, google):
    from scheduler.services.changes import record_webhook_failure
    connection_id = store_connection(container, seeded.mentor_id, "google", "mentor@example.org",
                                     google.grant("mentor@example.org")).id
    client = create_app(container=container).test_client()
    sign_in_as(client, seeded.mentor_id)
    assert "checks this calendar for changes once a day" in client.get("/calendars/").get_data(as_text=True)
    with container.uow() as uow:
        record_webhook_failure(uow, connection_id, "Microsoft Graph sent missed")
        uow.commit()
    page = client.get("/calendars/").get_data(as_text=True)
    assert "instant change notices from Google Calendar failed 1 time since they last worked" in page
