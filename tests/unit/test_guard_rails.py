"""The test suite's own guard rails: no traffic leaves loopback, warnings are errors."""
import socket
import warnings

import pytest


@pytest.mark.parametrize("address", [("10.0.0.1", 80), ("192.168.1.10", 443), ("142.250.74.36", 443)])
def test_connections_outside_loopback_are_refused_before_any_packet(address):
    with socket.socket() as s, pytest.raises(ConnectionRefusedError, match="only loopback"):
        s.connect(address)


def test_loopback_is_allowed():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass


def test_warnings_are_errors():
    with pytest.raises(DeprecationWarning):
        warnings.warn("old", DeprecationWarning)
