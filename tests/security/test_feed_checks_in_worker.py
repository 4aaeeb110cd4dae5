"""Issue 15, High 2 (the rest): "validate feeds in a worker, never inside a web request".

Connecting an ICS feed or a CalDAV account fetched and parsed the untrusted answer inside the
POST. Now the form stores the connection as ``checking`` with a ``check_connection`` outbox row;
the worker's check (under the providers' size, time and expansion limits) makes it ``ok`` or
``check_failed`` with the reason, shown on the calendars page.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from adapters.providers.ics_feed import IcsFeedCalendarProvider
from adapters.providers.safe_fetch import fetch_untrusted_url
from adapters.storage.models import CalendarConnection, OutboxMessage
from scheduler.services.connections import check_connection
from tests.support.http_server import local_http_server
from tests.support.web import sign_in_as
from web import create_app
from workers.actors import ACTOR_TABLE

GOOD = (Path(__file__).resolve().parents[1] / "fixtures" / "ics" / "recurring_weekly_with_exdate.ics").read_bytes()
BOMB = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:bomb\r\nDTSTART:19700101T000000Z\r\n"
        b"DTEND:19700101T000001Z\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def _app(container):
    container.providers["ics"] = IcsFeedCalendarProvider(
        fetch=lambda url, **kw: fetch_untrusted_url(url, address_policy=lambda address: True, **kw))
    return create_app(container=container).test_client()


def _connection(container):
    with container.uow() as uow:
        (connection,) = uow.session.scalars(select(CalendarConnection))
        checks = list(uow.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.subject_id == connection.id)))
        return connection.id, connection.status, connection.last_error, checks


def test_connecting_a_feed_fetches_nothing_inside_the_request(container, seeded):
    client = _app(container)
    token = sign_in_as(client, seeded.mentee_id)
    with local_http_server() as feed:
        feed.routes["/feed.ics"] = lambda _h: (200, {"Content-Type": "text/calendar"}, GOOD)
        reply = client.post("/calendars/ics", data={"csrf_token": token, "url": feed.url("/feed.ics")})
        assert reply.status_code == 302 and reply.headers["Location"].endswith("/calendars/")
        assert feed.requests == []  # nothing fetched by the web request
        connection_id, status, _, checks = _connection(container)
        assert (status, checks) == ("checking", ["check_connection"])
        assert "Checking" in client.get("/calendars/").get_data(as_text=True)

        assert check_connection(container, connection_id)  # the worker's step
        assert [path for path, _ in feed.requests] == ["/feed.ics"]
    assert _connection(container)[1] == "ok"


def test_a_recurrence_bomb_fails_the_workers_check_and_the_page_says_why(container, seeded):
    client = _app(container)
    token = sign_in_as(client, seeded.mentee_id)
    with local_http_server() as feed:
        feed.routes["/feed.ics"] = lambda _h: (200, {"Content-Type": "text/calendar"}, BOMB)
        client.post("/calendars/ics", data={"csrf_token": token, "url": feed.url("/feed.ics")})
        connection_id = _connection(container)[0]
        assert not check_connection(container, connection_id)
    _, status, problem, _ = _connection(container)
    assert status == "check_failed" and "SECONDLY" in problem
    page = client.get("/calendars/").get_data(as_text=True)
    assert "Could not be used" in page and "SECONDLY" in page


def test_the_check_is_an_actor_of_the_outbox():
    assert "check_connection" in ACTOR_TABLE
    assert ACTOR_TABLE["check_connection"].use_case is check_connection
