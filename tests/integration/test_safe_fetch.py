"""Fetching untrusted URLs: refusals, pinning, redirects, size cap and timeouts.

Only loopback servers are used. For the allowed path the test declares 127.0.0.2 "public" through
the injectable address policy; everything else (127.0.0.1, 10.x, ...) keeps the default refusal.
"""
from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time

import pytest

from adapters.providers.safe_fetch import (FetchLimits, ResponseTooLarge, fetch_untrusted_url,
                                           is_public_address)
from scheduler.errors import ProviderUnavailable, UnsafeUrl
from tests.support.http_server import local_http_server

PRETEND_PUBLIC = ipaddress.ip_address("127.0.0.2")
FEED = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


def public_or_pretend(address) -> bool:
    return address == PRETEND_PUBLIC or is_public_address(address)


def resolver_to(*addresses: str, calls: list | None = None):
    """A getaddrinfo stand-in answering ``addresses`` for every name (recording each call)."""
    def resolve(host, port, type=0, **_):  # noqa: A002 - the getaddrinfo keyword
        if calls is not None:
            calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]
    return resolve


@pytest.fixture
def public_server():
    with local_http_server("127.0.0.2") as server:
        server.routes["/feed.ics"] = lambda h: (200, {"Content-Type": "text/calendar"}, FEED)
        yield server


def test_default_policy_refuses_loopback_by_name_and_by_address(public_server):
    for url in (public_server.url("/feed.ics", "127.0.0.1"), public_server.url("/feed.ics", "localhost"),
                public_server.url("/feed.ics")):
        with pytest.raises(UnsafeUrl, match="private or local"):
            fetch_untrusted_url(url)
    assert public_server.requests == []


@pytest.mark.parametrize("address", ["10.1.2.3", "192.168.1.10", "169.254.169.254", "100.64.0.1", "0.0.0.0"])
def test_private_and_link_local_resolutions_are_refused_before_connecting(address):
    calls: list[str] = []
    with pytest.raises(UnsafeUrl, match=address):
        fetch_untrusted_url("https://calendar.example.org/feed.ics", resolver=resolver_to(address, calls=calls))
    assert calls == ["calendar.example.org"]


def test_one_private_address_among_public_ones_is_refused():
    with pytest.raises(UnsafeUrl):
        fetch_untrusted_url("https://calendar.example.org/feed.ics", resolver=resolver_to("93.184.216.34", "10.0.0.7"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x.ics", "gopher://example.org/", "/relative"])
def test_non_http_schemes_are_refused(url):
    with pytest.raises(UnsafeUrl, match="http"):
        fetch_untrusted_url(url)


def test_allowed_address_is_fetched_with_the_real_host_name(public_server):
    document = fetch_untrusted_url(f"http://calendar.test:{public_server.port}/feed.ics?token=abc",
                                   address_policy=public_or_pretend, resolver=resolver_to("127.0.0.2"))

    assert (document.status, document.body) == (200, FEED)
    path, headers = public_server.requests[0]
    assert path == "/feed.ics?token=abc"
    assert headers["host"] == f"calendar.test:{public_server.port}"


def test_connection_is_pinned_to_the_checked_address(public_server):
    """DNS rebinding: a second answer pointing inside must never be used."""
    answers = iter([["127.0.0.2"], ["10.0.0.1"], ["10.0.0.1"]])
    calls: list[str] = []

    def rebinding_resolver(host, port, type=0, **_):  # noqa: A002
        calls.append(host)
        return resolver_to(*next(answers))(host, port, type)

    document = fetch_untrusted_url(f"http://calendar.test:{public_server.port}/feed.ics",
                                   address_policy=public_or_pretend, resolver=rebinding_resolver)

    assert document.body == FEED
    assert calls == ["calendar.test"]


def test_redirects_are_followed_and_each_hop_is_checked(public_server):
    public_server.routes["/old"] = lambda h: (301, {"Location": "/feed.ics"}, b"")
    public_server.routes["/to-loopback"] = lambda h: (
        302, {"Location": f"http://127.0.0.1:{public_server.port}/feed.ics"}, b"")
    public_server.routes["/to-metadata"] = lambda h: (302, {"Location": "http://169.254.169.254/latest/"}, b"")
    fetch = lambda path: fetch_untrusted_url(public_server.url(path), address_policy=public_or_pretend)  # noqa: E731

    assert fetch("/old").body == FEED
    with pytest.raises(UnsafeUrl, match="127.0.0.1"):
        fetch("/to-loopback")
    with pytest.raises(UnsafeUrl, match="169.254.169.254"):
        fetch("/to-metadata")


def test_redirect_loops_stop_after_the_limit(public_server):
    public_server.routes["/loop"] = lambda h: (302, {"Location": "/loop"}, b"")

    with pytest.raises(ProviderUnavailable, match="redirects more than 5"):
        fetch_untrusted_url(public_server.url("/loop"), address_policy=public_or_pretend)
    assert len(public_server.requests) == 6


def test_declared_size_over_the_cap_is_refused(public_server):
    public_server.routes["/big"] = lambda h: (200, {"Content-Length": "5000"}, b"x" * 5000)

    with pytest.raises(ResponseTooLarge, match="1000"):
        fetch_untrusted_url(public_server.url("/big"), address_policy=public_or_pretend,
                            limits=FetchLimits(max_bytes=1000))


def test_streamed_body_stops_at_the_cap(public_server):
    sent = []

    def endless(handler):
        def chunks():
            for _ in range(10_000):
                sent.append(1)
                yield b"y" * 4096
        return 200, {}, chunks()  # no Content-Length: HTTP/1.0 body until close
    public_server.routes["/endless"] = endless

    with pytest.raises(ResponseTooLarge):
        fetch_untrusted_url(public_server.url("/endless"), address_policy=public_or_pretend,
                            limits=FetchLimits(max_bytes=64 * 1024))
    assert len(sent) < 10_000


def test_a_server_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.2", 0))
    listener.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(ProviderUnavailable, match="did not answer"):
            fetch_untrusted_url(f"http://127.0.0.2:{listener.getsockname()[1]}/feed.ics",
                                address_policy=public_or_pretend, limits=FetchLimits(read_timeout=0.3))
    finally:
        for connection, _ in accepted:
            connection.close()
        listener.close()
    assert time.monotonic() - started < 3


def test_https_is_pinned_but_verified_against_the_real_host_name():
    trustme = pytest.importorskip("trustme", reason="trustme (dev dependency) makes the test CA")
    ca = trustme.CA()
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("calendar.test").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    with local_http_server("127.0.0.2", tls=server_tls) as server:
        server.routes["/feed.ics"] = lambda h: (200, {}, FEED)
        fetch = lambda name: fetch_untrusted_url(  # noqa: E731
            f"https://{name}:{server.port}/feed.ics", address_policy=public_or_pretend,
            resolver=resolver_to("127.0.0.2"), ssl_context=client_tls)

        assert fetch("calendar.test").body == FEED
        with pytest.raises(ProviderUnavailable, match="secure connection"):
            fetch("other.test")
