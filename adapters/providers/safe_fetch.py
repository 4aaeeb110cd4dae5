"""Fetch a URL a user gave us (an ICS feed), or POST to one (a webhook endpoint), without letting
it reach our own network.

An untrusted URL may point, directly or through DNS or a redirect, at loopback, the private
network, link-local cloud metadata (169.254.169.254) and the like. :func:`fetch_untrusted_url`

- accepts only ``http``, ``https`` and ``webcal`` (fetched as https) URLs;
- resolves the host itself, refuses the URL if *any* resolved address is not allowed, and then
  connects to the checked address only (the connection is pinned: a second DNS answer cannot
  swap in another address — no DNS rebinding), keeping the real host name for the ``Host``
  header, TLS SNI and certificate checks;
- follows redirects by hand (at most ``max_redirects``), checking every hop the same way;
- enforces a connect timeout, a read timeout per socket operation and a total deadline that
  covers everything after the connection opens — the TLS handshake, the status line and headers
  as well as the body: a watchdog shuts the socket at the deadline, so a server dripping one
  header byte at a time (each read well within the read timeout) is cut off too;
- streams the body and stops at ``max_bytes`` (no compression is requested).

:func:`post_untrusted_url` sends a body under the same rules and never follows a redirect.

The address rule is injectable (``address_policy``) so tests can serve from a loopback address
they declare public; the default, :func:`is_public_address`, refuses every non-global address.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urljoin, urlsplit

from scheduler.errors import InvalidInput, ProviderUnavailable, UnsafeUrl

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]
Resolver = Callable[..., list]  # the shape of socket.getaddrinfo
_SCHEMES = {"http": ("http", 80), "https": ("https", 443), "webcal": ("https", 443)}
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024


class ResponseTooLarge(InvalidInput):
    """The document behind a URL is bigger than we accept."""


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5


@dataclass(frozen=True)
class FetchedDocument:
    """The final response: ``url`` after redirects, status, lower-cased headers, body."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses.

    >>> is_public_address(ipaddress.ip_address("93.184.216.34"))
    True
    >>> [is_public_address(ipaddress.ip_address(a)) for a in ("127.0.0.1", "10.1.2.3", "169.254.169.254",
    ...  "100.64.0.1", "224.0.0.1", "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1")]
    [False, False, False, False, False, False, False, False, False, False]
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None and not is_public_address(embedded):
            return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_loopback
                                      or address.is_link_local or address.is_private or address.is_unspecified)


class _Watchdog:
    """Shuts a socket down at the deadline, whatever it is waiting for (headers included)."""

    def __init__(self) -> None:
        self.expired = False
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def guard(self, sock: socket.socket, deadline: float) -> None:
        def expire() -> None:
            with self._lock:
                self.expired = True
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), expire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _open_socket(address: str, port: int, limits: FetchLimits, deadline: float, watchdog: _Watchdog) -> socket.socket:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the deadline passed before connecting")
    sock = socket.create_connection((address, port), min(limits.connect_timeout, remaining))
    sock.settimeout(limits.read_timeout)
    watchdog.guard(sock, deadline)
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to ``address``, speaking to ``host`` (Host header) over it."""

    def __init__(self, host: str, port: int, address: str, limits: FetchLimits, deadline: float):
        super().__init__(host, port, timeout=limits.read_timeout)
        self._address, self._limits, self._deadline = address, limits, deadline
        self.watchdog = _Watchdog()

    def connect(self) -> None:
        self.sock = _open_socket(self._address, self.port, self._limits, self._deadline, self.watchdog)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to ``address``; SNI and certificate checks use the real ``host``."""

    def __init__(self, host: str, port: int, address: str, limits: FetchLimits, context: ssl.SSLContext,
                 deadline: float):
        super().__init__(host, port, timeout=limits.read_timeout, context=context)
        self._address, self._limits, self._tls, self._deadline = address, limits, context, deadline
        self.watchdog = _Watchdog()

    def connect(self) -> None:
        raw = _open_socket(self._address, self.port, self._limits, self._deadline, self.watchdog)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def checked_addresses(host: str, port: int, resolver: Resolver, policy: AddressPolicy) -> list[str]:
    """Resolve ``host`` once and return its addresses, refusing (:class:`UnsafeUrl`) if any is
    not allowed. Connect only to what it returns: that is what pins a connection."""
    try:
        literal = ipaddress.ip_address(host)
        addresses = [literal]
    except ValueError:
        try:
            infos = resolver(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ProviderUnavailable(f"the host {host} could not be found ({exc}); check the link") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    if not addresses:
        raise ProviderUnavailable(f"the host {host} has no address; check the link")
    refused = [a for a in addresses if not policy(a)]
    if refused:
        raise UnsafeUrl(f"the link points at {host} ({refused[0]}), a private or local network address; "
                        "give a public calendar link instead")
    return [str(a) for a in addresses]


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url`` (the port spelled out), lower-cased; '' when it has none."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES or not parts.hostname:
        return ""
    try:
        port = parts.port or _SCHEMES[scheme][1]
    except ValueError:
        return ""
    return f"{scheme}://{parts.hostname.lower()}:{port}"


def is_own_server(url: str, own_origins: tuple[str, ...]) -> bool:
    """Whether ``url`` is served by one of ``own_origins``: servers the installation runs itself
    on loopback (the sandbox's CalDAV server and feed host), the only loopback addresses a
    calendar link may name. Production builds no such list."""
    origin = origin_of(url)
    return bool(origin) and origin in {origin_of(o) for o in own_origins}


def loopback_only(address: IPAddress) -> bool:
    return address.is_loopback


def check_url_target(url: str, *, address_policy: AddressPolicy = is_public_address,
                     resolver: Resolver = socket.getaddrinfo) -> None:
    """Refuse (:class:`UnsafeUrl`) a URL whose scheme or resolved addresses are not allowed.

    For clients that cannot pin their connection (e.g. a CalDAV library): this check alone does
    not stop DNS rebinding, so prefer :func:`fetch_untrusted_url` wherever the fetch is ours.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES or not parts.hostname:
        raise UnsafeUrl(f"only http(s) links can be used, not {url[:80]!r}")
    try:
        port = parts.port or _SCHEMES[scheme][1]
    except ValueError as exc:
        raise UnsafeUrl(f"the link has an invalid port: {url[:80]!r}") from exc
    checked_addresses(parts.hostname, port, resolver, address_policy)


def fetch_untrusted_url(url: str, *, limits: FetchLimits = FetchLimits(),
                        address_policy: AddressPolicy = is_public_address,
                        resolver: Resolver = socket.getaddrinfo,
                        ssl_context: ssl.SSLContext | None = None,
                        headers: dict[str, str] | None = None) -> FetchedDocument:
    """GET ``url`` under the rules in the module docstring and return the final response.

    Raises :class:`UnsafeUrl` (bad scheme, refused address on any hop), :class:`ResponseTooLarge`,
    :class:`ProviderUnavailable` (DNS failure, refused connection, timeout, TLS failure, too many
    redirects). Any HTTP status that is not a redirect is returned for the caller to judge.
    """
    deadline = time.monotonic() + limits.total_timeout
    context = ssl_context or ssl.create_default_context()
    current = url
    for _hop in range(limits.max_redirects + 1):
        response_status, response_headers, body = _fetch_once(current, limits, address_policy, resolver,
                                                               context, headers or {}, deadline)
        location = response_headers.get("location")
        if response_status in _REDIRECTS and location:
            current = urljoin(current, location)
            continue
        return FetchedDocument(url=current, status=response_status, headers=response_headers, body=body)
    raise ProviderUnavailable(f"the link redirects more than {limits.max_redirects} times; "
                              "give the final calendar link instead")


def post_untrusted_url(url: str, body: bytes, *, headers: dict[str, str], limits: FetchLimits = FetchLimits(),
                       address_policy: AddressPolicy = is_public_address,
                       resolver: Resolver = socket.getaddrinfo,
                       ssl_context: ssl.SSLContext | None = None) -> FetchedDocument:
    """POST ``body`` to ``url`` under the same rules as :func:`fetch_untrusted_url` (scheme,
    every resolved address checked, the connection pinned to a checked address, timeouts, a
    capped body) but never following a redirect: a 3xx answer is returned as it is."""
    deadline = time.monotonic() + limits.total_timeout
    status, response_headers, response_body = _fetch_once(
        url, limits, address_policy, resolver, ssl_context or ssl.create_default_context(), headers, deadline,
        method="POST", body=body)
    return FetchedDocument(url=url, status=status, headers=response_headers, body=response_body)


def _fetch_once(url: str, limits: FetchLimits, policy: AddressPolicy, resolver: Resolver,
                context: ssl.SSLContext, extra_headers: dict[str, str], deadline: float, *,
                method: str = "GET", body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES or not parts.hostname:
        raise UnsafeUrl(f"only http(s) calendar links can be used, not {url[:80]!r}")
    transport, default_port = _SCHEMES[scheme]
    host = parts.hostname
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise UnsafeUrl(f"the link has an invalid port: {url[:80]!r}") from exc
    addresses = checked_addresses(host, port, resolver, policy)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    last_error: OSError | None = None
    for address in addresses:
        connection = (_PinnedHTTPSConnection(host, port, address, limits, context, deadline) if transport == "https"
                      else _PinnedHTTPConnection(host, port, address, limits, deadline))
        try:
            connection.request(method, target, body=body, headers={
                "Accept": "text/calendar, */*;q=0.5", "User-Agent": "Tandem calendar fetcher", **extra_headers})
            response = connection.getresponse()
            headers = {k.lower(): v for k, v in response.getheaders()}
            if response.status in _REDIRECTS:
                return response.status, headers, b""
            return response.status, headers, _read_capped(response, limits, deadline, host,
                                                          truncate=method != "GET")
        except (TimeoutError, ssl.SSLError, ConnectionError, http.client.HTTPException, OSError) as exc:
            if connection.watchdog.expired or time.monotonic() > deadline:
                raise ProviderUnavailable(f"{host} took longer than {limits.total_timeout:g} s to send the "
                                          "document; try again later") from exc
            if isinstance(exc, TimeoutError):
                raise ProviderUnavailable(f"{host} did not answer within {limits.read_timeout:g} s; "
                                          "try again later") from exc
            if isinstance(exc, ssl.SSLError):
                raise ProviderUnavailable(f"a secure connection to {host} failed ({exc.reason}); "
                                          "check the link") from exc
            last_error = exc
        finally:
            connection.watchdog.cancel()
            connection.close()
    raise ProviderUnavailable(f"could not connect to {host} ({last_error}); try again later")


def _read_capped(response: http.client.HTTPResponse, limits: FetchLimits, deadline: float, host: str, *,
                 truncate: bool = False) -> bytes:
    """The body, at most ``max_bytes`` of it: more is an error, or (``truncate``: an answer to a
    POST, whose body only matters for its first bytes) cut off there."""
    declared = response.getheader("Content-Length")
    if not truncate and declared and declared.isdigit() and int(declared) > limits.max_bytes:
        raise ResponseTooLarge(f"the document at {host} is {int(declared)} bytes; at most "
                               f"{limits.max_bytes} are accepted")
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise ProviderUnavailable(f"{host} took longer than {limits.total_timeout:g} s to send the document")
        chunk = response.read1(_CHUNK) if hasattr(response, "read1") else response.read(_CHUNK)
        if not chunk:
            if time.monotonic() >= deadline:  # the watchdog shut the socket: the body is cut short
                raise ProviderUnavailable(f"{host} took longer than {limits.total_timeout:g} s to send the document")
            return b"".join(chunks)
        size += len(chunk)
        if size > limits.max_bytes and truncate:
            chunks.append(chunk)
            return b"".join(chunks)[:limits.max_bytes]
        if size > limits.max_bytes:
            raise ResponseTooLarge(f"the document at {host} is larger than {limits.max_bytes} bytes")
        chunks.append(chunk)
