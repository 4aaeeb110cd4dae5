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
