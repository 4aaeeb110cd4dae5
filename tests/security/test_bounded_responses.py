"""Issue 15, Medium 5 (CalDAV answers unbounded; the ICS fetcher's deadline did not cover slow
headers) and Low 9 (a non-XML CalDAV answer was an unhandled 500).

Small limits are passed in, so every test ends quickly whatever the machine's load: the
servers below never finish on their own before the limit is hit.
"""
from __future__ import annotations

import contextlib
import socket
import threading
from datetime import datetime, timezone
from typing import Iterator

import pytest
from sqlalchemy import select

from adapters.providers.caldav import CalDavCalendarProvider, NotACalDavServer
from adapters.providers.ics_feed import IcsFeedCalendarProvider
from adapters.providers.retry import RetryPolicy
from adapters.providers.safe_fetch import FetchLimits, ResponseTooLarge, fetch_untrusted_url
from adapters.storage.models import CalendarConnection
from scheduler.errors import ProviderUnavailable
from scheduler.ports import CalendarAccount
from scheduler.services.connections import check_connection
from tests.support.http_server import local_http_server
from tests.support.web import sign_in_as
from web import create_app

UTC = timezone.utc
ONE_DAY = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
ANY_ADDRESS = lambda address: True  # noqa: E731 - the loopback servers are declared public here
DRIP_BYTES = 100


@contextlib.contextmanager
def header_dripping_server(dripped: list) -> Iterator[str]:
    """Answers with a status line, then one header byte every 0.1 s (each read is fast, the whole
    takes at least 10 s), then a tiny body; stops dripping once the client's call has returned.
    ``dripped`` collects the header bytes sent: all of them only if the client waited for the
    headers to finish."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
                for _ in range(DRIP_BYTES):
                    if stop.wait(0.1):
                        return
                    conn.sendall(b"x")
                    dripped.append(1)
                conn.sendall(b"\r\nContent-Type: text/calendar\r\nContent-Length: 2\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed.ics"
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)


def test_the_total_deadline_covers_slow_headers():
    limits = FetchLimits(read_timeout=5.0, total_timeout=0.3)  # no single read waits 5 s
    dripped: list = []
    with header_dripping_server(dripped) as url:
        with pytest.raises(ProviderUnavailable, match=r"took longer than 0\.3 s"):
            fetch_untrusted_url(url, limits=limits, address_policy=ANY_ADDRESS)
    assert len(dripped) < DRIP_BYTES  # cut off in the headers (it used to wait for all of them)


def test_an_ics_feed_with_slow_headers_is_unknown_time_not_a_stuck_request():
    limits = FetchLimits(read_timeout=5.0, total_timeout=0.3)
    provider = IcsFeedCalendarProvider(
        fetch=lambda url: fetch_untrusted_url(url, limits=limits, address_policy=ANY_ADDRESS),
        retry_policy=RetryPolicy(attempts=1), sleep=lambda seconds: None)
    dripped: list = []
    with header_dripping_server(dripped) as url:
        account = CalendarAccount(connection_id="c1", provider="ics", email="ada@example.org",
                                  credentials={"url": url, "tz": "UTC"})
        result = provider.free_busy([account], *ONE_DAY)["c1"]
    assert result.busy == () and "took longer than 0.3 s" in result.error
    assert len(dripped) < DRIP_BYTES


# --- CalDAV ---------------------------------------------------------------------------------
def caldav_provider(**kw) -> CalDavCalendarProvider:
    return CalDavCalendarProvider(retry_policy=RetryPolicy(attempts=1), sleep=lambda seconds: None,
                                  address_policy=ANY_ADDRESS, **kw)


def caldav_account(server, path: str) -> CalendarAccount:
    return CalendarAccount(connection_id="c1", provider="caldav", email="ada@example.org",
                           calendar_id=server.url(path),
                           credentials={"url": server.url("/"), "username": "ada", "password": "pw", "tz": "UTC"})


def test_a_caldav_answer_larger_than_the_limit_is_cut_off_while_streaming():
    sent = []

    def endless(_handler):
        def chunks():
            for _ in range(10_000):  # 640 MB if nobody stopped reading
                sent.append(1)
                yield b"<" * 65536
        return 207, {"Content-Type": "application/xml"}, chunks()

    with local_http_server() as server:
        server.routes["/cal/"] = endless
        result = caldav_provider(max_response_bytes=256 * 1024).free_busy(
            [caldav_account(server, "/cal/")], *ONE_DAY)["c1"]

    assert result.busy == () and "larger than 262144 bytes" in result.error
    assert len(sent) < 10_000  # the client hung up long before the end


def test_a_caldav_answer_declaring_a_huge_length_is_refused_before_reading():
    with local_http_server() as server:
        server.routes["/cal/"] = lambda _h: (207, {"Content-Type": "application/xml",
                                                   "Content-Length": str(200 * 1024 * 1024)}, b"")
        with pytest.raises(ResponseTooLarge, match="209715200 bytes"):
            caldav_provider(max_response_bytes=1024).get_series(caldav_account(server, "/cal/"), "tandem-x",
                                                                 *ONE_DAY)


@pytest.mark.parametrize("body", [b"<html><body>Please sign in<br></body></html>", b"plain text, not XML", b""])
def test_a_non_xml_caldav_answer_is_a_clear_refusal(body):
    with local_http_server() as server:
        server.routes["/cal/"] = lambda _h: (207, {"Content-Type": "text/html"}, body)
        server.routes["/"] = server.routes["/cal/"]
        provider = caldav_provider()
        result = provider.free_busy([caldav_account(server, "/cal/")], *ONE_DAY)["c1"]
        with pytest.raises(NotACalDavServer, match="check the CalDAV address"):
            provider.get_series(caldav_account(server, "/cal/"), "tandem-x", *ONE_DAY)

    assert result.busy == () and "did not answer as a CalDAV server" in result.error


def test_connecting_a_server_that_answers_html_fails_its_check_saying_what_to_fix(container, seeded):
    with local_http_server() as server:
        server.routes["/"] = lambda _h: (207, {"Content-Type": "text/html"}, b"<html><body>Please sign in<br></body></html>")
        container.providers["caldav"] = caldav_provider()
        client = create_app(container=container).test_client()
        token = sign_in_as(client, seeded.mentee_id)
        reply = client.post("/calendars/caldav", data={"csrf_token": token, "url": server.url("/"),
                                                       "username": "mia", "password": "app-password"})
        with container.uow() as uow:
            connection_id = uow.session.scalars(select(CalendarConnection.id)).one()
        assert not check_connection(container, connection_id)  # the worker's check (never in the request)

    assert reply.status_code == 302
    page = client.get("/calendars/").get_data(as_text=True)
    assert "Could not be used" in page and "did not answer as a CalDAV server" in page
    with container.uow() as uow:
        assert uow.session.get(CalendarConnection, connection_id).status == "check_failed"
