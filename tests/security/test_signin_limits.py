"""Low 11: sign-in links are limited per client and per address, and a known address costs the
same steps as an unknown one (so the answer's timing does not reveal accounts).

Constant work is tested structurally, never with a stopwatch: the SQL statements sent to the
database and the links built are recorded at the boundary for each path and compared.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from adapters.links import LinkSigner
from adapters.mail.memory import InMemoryMailer
from adapters.storage.memory import MemoryStore
from adapters.tokens import TokenCipher
from scheduler.core.rate_limit import (SIGNIN_CLIENT_LIMIT, SIGNIN_CLIENT_WINDOW, RecentRequests, client_key)
from scheduler.ports import Dependencies, ServiceConfig
from scheduler.services.links import LinkError
from scheduler.services.signin import (NOBODY, THROTTLE_COUNT, TooManyRequests, redeem_magic_link,
                                       request_magic_link)
from tests.support.web import csrf_from

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self):
        self.current = T0

    def now(self) -> datetime:
        return self.current


@pytest.fixture
def memory_deps():
    clock = Clock()
    return Dependencies(unit_of_work=MemoryStore().uow, clock=clock, providers={}, mailer=InMemoryMailer(),
                        cipher=TokenCipher([TokenCipher.generate_key()]),
                        config=ServiceConfig(base_url="https://tandem.example"),
                        links=LinkSigner("security-test-link-secret-0123456789", 14)), clock


def _post(client, email: str, remote: str = "198.51.100.7", **headers):
    page = client.get("/signin", environ_base={"REMOTE_ADDR": remote})
    return client.post("/signin/email", data={"email": email, "csrf_token": csrf_from(page.get_data(as_text=True))},
                       environ_base={"REMOTE_ADDR": remote}, headers=headers)


# --- per client -------------------------------------------------------------------------------
def test_one_client_asking_for_many_addresses_is_refused_with_a_429_saying_when_to_retry(client, seeded):
    for n in range(SIGNIN_CLIENT_LIMIT):
        assert _post(client, f"probe{n}@example.org").status_code == 200
    refused = _post(client, "mentor@example.org")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many sign-in links were asked for from your network lately" in refused.get_data(as_text=True)
    # another client is not held back
    assert _post(client, "mentor@example.org", remote="203.0.113.50").status_code == 200


def test_the_client_limit_counts_known_and_unknown_addresses_alike_and_its_window_passes(memory_deps):
    deps, clock = memory_deps
    for n in range(SIGNIN_CLIENT_LIMIT):
        request_magic_link(deps, f"probe{n}@example.org", str, client="198.51.100.7")
    with pytest.raises(TooManyRequests, match="Try again in 15 minutes") as refused:
        request_magic_link(deps, "probe@example.org", str, client="198.51.100.7")
    assert refused.value.retry_after == SIGNIN_CLIENT_WINDOW
    clock.current += SIGNIN_CLIENT_WINDOW
    assert request_magic_link(deps, "probe@example.org", str, client="198.51.100.7") is None  # counted again


def test_an_ipv6_client_is_counted_by_its_64_so_rotating_addresses_does_not_help():
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"


def test_the_per_client_structure_is_bounded_and_forgets_the_client_seen_longest_ago():
    counter = RecentRequests(limit=2, window=timedelta(minutes=15), max_clients=3)
    for n in range(10):
        assert counter.hit(f"10.0.0.{n}", T0) is None
    assert len(counter) == 3
    counter.hit("10.0.0.9", T0)
    assert counter.hit("10.0.0.9", T0) is not None  # the newest is still counted
    assert counter.hit("10.0.0.0", T0) is None  # the oldest was forgotten


def test_each_app_owns_its_counter_nothing_is_shared_through_a_module(memory_deps, settings):
    deps, _ = memory_deps
    other = Dependencies(unit_of_work=MemoryStore().uow, clock=deps.clock, providers={}, mailer=InMemoryMailer(),
                         cipher=deps.cipher, links=deps.links)
    assert deps.signin_clients is not other.signin_clients
    for n in range(SIGNIN_CLIENT_LIMIT):
        request_magic_link(deps, f"p{n}@example.org", str, client="198.51.100.7")
    assert request_magic_link(other, "p@example.org", str, client="198.51.100.7") is None  # not refused


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(container, seeded, settings):
    from config.bootstrap import bootstrap
    from web import create_app

    proxied = bootstrap(settings.with_overrides({"app.proxy_hops": 1}))
    try:
        client = create_app(container=proxied).test_client()
        for n in range(SIGNIN_CLIENT_LIMIT):
            assert _post(client, f"p{n}@example.org", remote="10.0.0.2", **{"X-Forwarded-For": "198.51.100.7"}
                         ).status_code == 200
        assert _post(client, "p@example.org", remote="10.0.0.2", **{"X-Forwarded-For": "198.51.100.7"}
                     ).status_code == 429
        # another visitor through the same proxy is another client
        assert _post(client, "p@example.org", remote="10.0.0.2", **{"X-Forwarded-For": "203.0.113.9"}
                     ).status_code == 200
    finally:
        proxied.dispose()


# --- per address ------------------------------------------------------------------------------
def test_the_per_address_limit_holds_whichever_clients_ask(container, seeded):
    urls = [request_magic_link(container, "mentee@example.org", str, client=f"198.51.100.{n}")
            for n in range(THROTTLE_COUNT + 3)]
    assert sum(url is not None for url in urls) == THROTTLE_COUNT


# --- constant work ----------------------------------------------------------------------------
def _work(container, email: str) -> tuple[list[str], list[str]]:
    """(the SQL statements sent, the tokens built into links) for one request."""
    statements: list[str] = []
    tokens: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def url_for_token(token: str) -> str:
        tokens.append(token)
        return f"https://tandem.example/signin/link/{token}"

    event.listen(container.engine, "before_cursor_execute", record)
    try:
        request_magic_link(container, email, url_for_token, client="198.51.100.7")
    finally:
        event.remove(container.engine, "before_cursor_execute", record)
    return statements, tokens


def _reads(statements: list[str]) -> list[str]:
    return [s for s in statements if not s.lstrip().upper().startswith("INSERT")]


def test_known_unknown_and_throttled_addresses_run_the_same_steps(container, seeded):
    known, known_tokens = _work(container, "mentor@example.org")
    unknown, unknown_tokens = _work(container, "nobody-here@example.org")
    for _ in range(THROTTLE_COUNT):
        _work(container, "mentee@example.org")
    throttled, throttled_tokens = _work(container, "mentee@example.org")

    assert _reads(known) == _reads(unknown) == _reads(throttled)  # the same lookups, the same count
    assert [s.split()[2] for s in known if s.upper().startswith("INSERT")] == ["notifications", "outbox"]
    assert _reads(unknown) == unknown and _reads(throttled) == throttled  # nothing written
    # a token is signed and a link built on every path; the unknown one is for nobody
    assert len(known_tokens) == len(unknown_tokens) == len(throttled_tokens) == 1
    assert container.links.read("signin", unknown_tokens[0])["p"] == NOBODY
    with pytest.raises(LinkError, match="no longer exists"):
        redeem_magic_link(container, unknown_tokens[0])
