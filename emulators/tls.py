"""TLS for loopback emulators: a throwaway certificate authority and server certificates.

MSAL only talks to ``https`` authorities, so the Microsoft emulator (and anything else that wants
real TLS in tests) serves with a certificate issued by a local ``trustme`` CA. Clients are given
the CA file explicitly. This machine sets ``REQUESTS_CA_BUNDLE``, which overrides ``verify=`` on
plain ``requests`` calls, so pass a session built by :func:`client_session` (``verify=ca_file``,
``trust_env=False``).

Example::

    tls = LocalTls()                       # one CA, files under a private temp dir
    ctx = tls.server_context()             # ssl.SSLContext for 127.0.0.1 / localhost
    session = tls.client_session()         # requests.Session that trusts only this CA
    ...
    tls.close()                            # remove the files
"""
from __future__ import annotations

import shutil
import ssl
import tempfile
import threading
from pathlib import Path

import requests
import trustme

DEFAULT_HOSTS = ("127.0.0.1", "localhost", "::1")


class LocalTls:
    """A private CA whose PEM lives in a temporary directory until :meth:`close`."""

    def __init__(self, hosts: tuple[str, ...] = DEFAULT_HOSTS):
        self._ca = trustme.CA(organization_name="Tandem test CA")
        self._hosts = hosts
        self._dir = Path(tempfile.mkdtemp(prefix="tandem-tls-"))
        self.ca_file = str(self._dir / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_file)
        self._cert = self._ca.issue_cert(*hosts)

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for a server on one of ``hosts`` (TLS 1.2+)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self._cert.configure_cert(ctx)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """An SSL context for clients that trusts only this CA."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self._ca.configure_trust(ctx)
        return ctx

    def client_session(self) -> requests.Session:
        """A ``requests.Session`` that trusts only this CA and ignores proxy/CA env variables."""
        return client_session(self.ca_file)

    def close(self) -> None:
        """Delete the CA and certificate files."""
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "LocalTls":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def client_session(ca_file: str) -> requests.Session:
    """A ``requests.Session`` with ``verify=ca_file`` and ``trust_env=False``.

    ``trust_env=False`` matters: with it on, ``REQUESTS_CA_BUNDLE`` (set on this machine) wins
    over ``verify=`` and proxies from the environment would be used.
    """
    session = requests.Session()
    session.verify = ca_file
    session.trust_env = False
    return session


_shared: LocalTls | None = None
_shared_lock = threading.Lock()


def shared_tls() -> LocalTls:
    """One CA per process, for emulators that must trust each other's servers (e.g. a webhook
    receiver the Graph emulator posts notifications to). Removed at interpreter exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            import atexit

            _shared = LocalTls()
            atexit.register(_shared.close)
        return _shared
