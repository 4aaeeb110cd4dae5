"""Guard rails for every test: no traffic leaves the loopback range, and service tests are
announced when they skip (outside CI) or fail (in CI, where the services must be there)."""
from __future__ import annotations

import ipaddress
import os
import socket

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self, address):
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"test tried to reach {address!r}: only loopback is allowed in tests")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"test tried to reach {address!r}: only loopback is allowed in tests")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def _loopback_only():
    """Fail any connection outside 127.0.0.0/8 and ::1 (real services are never contacted)."""
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    yield
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_skipped_services: set[str] = set()


def _service_up(host: str, port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        return _real_connect_ex(s, (host, port)) == 0
    finally:
        s.close()


def require_service(name: str, host: str, port: int) -> None:
    """Skip (locally) or fail (in CI) when a real service the test needs is down."""
    if _service_up(host, port):
        return
    if IN_CI:
        pytest.fail(f"{name} is not reachable on {host}:{port}; CI needs it (make test starts it)")
    _skipped_services.add(name)
    pytest.skip(f"{name} not running on {host}:{port}")


def pytest_terminal_summary(terminalreporter):
    if _skipped_services:
        terminalreporter.write_line(
            "SERVICE TESTS SKIPPED: " + ", ".join(sorted(_skipped_services))
            + " not running — start them (make services) to run the whole suite",
            yellow=True, bold=True)


# --- databases: the same tests run on SQLite and PostgreSQL ------------------------------------
@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory):
    from tests.support.db import migrated_sqlite_template

    return migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def _postgres_database():
    from tests.support.db import private_postgres_database

    require_service("PostgreSQL", "127.0.0.1", 5432)
    with private_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, _sqlite_template):
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        from tests.support.db import sqlite_copy

        yield sqlite_copy(_sqlite_template, tmp_path)
    else:
        from tests.support.db import truncate_all

        url = request.getfixturevalue("_postgres_database")
        truncate_all(url)
        yield url


@pytest.fixture
def settings(tmp_path, database_url):
    """Test settings: a fresh database, in-process broker, throwaway keys."""
    from adapters.tokens import TokenCipher
    from config.settings import load_settings

    return load_settings(environ={}, overrides={
        "app.env": "test", "app.var_dir": str(tmp_path / "var"), "database.url": database_url,
        "security.secret_key": "test-secret-key-" + "x" * 32,
        "security.token_keys": [TokenCipher.generate_key()],
        "security.webhook_secret": "test-webhook-secret",
        "tick.interval_seconds": 0.05,
        "webhooks.allow_private_destinations": True,  # loopback receivers
    })


@pytest.fixture
def container(settings):
    from config.bootstrap import bootstrap

    c = bootstrap(settings)
    yield c
    c.dispose()
