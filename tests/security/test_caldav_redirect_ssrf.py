"""Issue 15, High 1: SSRF through CalDAV redirects.

Only the URL a person typed was checked; the CalDAV client then followed 301/302/307/308 to any
address (a canary on loopback logged a PROPFIND for each code), and the error differed for open
and closed ports, which made the connect form a port scanner.

Here 127.0.0.2 plays a public server (the address policy says so); 127.0.0.1 keeps the default
refusal and hosts the canary. Every hop must be checked when its connection is made, with the
address actually connected to (no second DNS answer), and every refusal reads the same.
"""
from __future__ import annotations

import ipaddress
import socket
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from adapters.providers.caldav import CalDavCalendarProvider
from adapters.providers.retry import RetryPolicy
from adapters.providers.safe_fetch import is_public_address
from adapters.storage.models import CalendarConnection
from scheduler.errors import UnsafeUrl
from scheduler.ports import CalendarAccount
from scheduler.services.connections import check_connection
from tests.support.http_server import local_http_server
from tests.support.web import sign_in_as
from web import create_app

UTC = timezone.utc
ONE_DAY = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
PRETEND_PUBLIC = ipaddress.ip_address("127.0.0.2")


def public_or_pretend(address) -> bool:
    return address == PRETEND_PUBLIC or is_public_address(address)


def provider(**kw) -> CalDavCalendarProvider:
    return CalDavCalendarProvider(retry_policy=RetryPolicy(attempts=1), sleep=lambda seconds: None,
                                  address_policy=public_or_pretend, **kw)


def account(url: str) -> CalendarAccount:
    return CalendarAccount(connection_id="c1", provider="caldav", email="ada@example.org", calendar_id=url,
                           credentials={"url": url, "username": "ada", "password": "pw", "tz": "UTC"})


@pytest.fixture
def canary():
    """A server on a refused address that records every request reaching it."""
    with local_http_server("127.0.0.1") as server:
        server.routes["/"] = lambda _h: (207, {"Content-Type": "application/xml"}, b"<x/>")
        server.routes["/cal/"] = server.routes["/"]
        yield server


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_to_a_private_address_is_refused_before_anything_reaches_it(canary, code):
    with local_http_server("127.0.0.2") as public:
        public.routes["/cal/"] = lambda _h: (code, {"Location": canary.url("/cal/")}, b"")
        with pytest.raises(UnsafeUrl, match="private or local network address"):
            provider().check_connection(account(public.url("/cal/")))
        free_busy = provider().free_busy([account(public.url("/cal/"))], *ONE_DAY)["c1"]

    assert canary.requests == []
    assert free_busy.busy == () and "private or local network address" in free_busy.error


def test_a_redirect_by_name_to_a_host_resolving_inside_is_refused(canary):
    """The hop's host name is resolved at connection time and its answer checked."""
    def resolve(host, port, *args, **kwargs):
        address = "127.0.0.2" if host == "calendar.test" else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    with local_http_server("127.0.0.2") as public:
        public.routes["/cal/"] = lambda _h: (307, {"Location": f"http://inside.test:{canary.port}/cal/"}, b"")
        with pytest.raises(UnsafeUrl, match="inside.test"):
            provider(resolver=resolve).check_connection(account(f"http://calendar.test:{public.port}/cal/"))

    assert canary.requests == []


def test_the_connection_uses_the_address_that_was_checked_no_dns_rebinding(canary):
    """A first DNS answer passes the check, a second points inside: the second must never be
    connected to (the check and the connection use one answer)."""
    answers: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        address = "127.0.0.2" if not answers else "127.0.0.1"
        answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    # The canary's port is used on both addresses: a connection to the second answer would reach it.
    with local_http_server("127.0.0.2") as public, pytest.raises(UnsafeUrl):
        public.routes["/cal/"] = lambda _h: (207, {"Content-Type": "application/xml"}, b"<x/>")
        provider(resolver=rebinding).check_connection(account(f"http://calendar.test:{canary.port}/cal/"))

    assert "127.0.0.1" in answers and canary.requests == []


def test_open_and_closed_ports_inside_get_the_same_answer_from_the_connect_check(container, seeded, canary):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    container.providers["caldav"] = provider()
    client = create_app(container=container).test_client()
    token = sign_in_as(client, seeded.mentee_id)

    def connect(url: str):
        reply = client.post("/calendars/caldav", data={"csrf_token": token, "url": url, "username": "mia",
                                                       "password": "app-password"})
        with container.uow() as uow:
            connection_id = uow.session.scalars(select(CalendarConnection.id)).one()
        passed = check_connection(container, connection_id)  # the worker's check
        with container.uow() as uow:
            connection = uow.session.get(CalendarConnection, connection_id)
            return reply.status_code, passed, connection.status, connection.last_error

    with local_http_server("127.0.0.2") as public:
        public.routes["/open"] = lambda _h: (302, {"Location": canary.url("/cal/")}, b"")
        public.routes["/closed"] = lambda _h: (302, {"Location": f"http://127.0.0.1:{closed_port}/cal/"}, b"")
        answers = {connect(canary.url("/cal/")), connect(f"http://127.0.0.1:{closed_port}/cal/"),
                   connect(public.url("/open")), connect(public.url("/closed"))}

    assert len(answers) == 1
    status, passed, state, problem = answers.pop()
    assert (status, passed, state) == (302, False, "check_failed")
    assert "private or local network address" in problem
    assert canary.requests == []
