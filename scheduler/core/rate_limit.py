"""A small, bounded, in-process count of recent requests per client (sign-in's per-client limit).

Why in process, not in the database: the per-client limit must count every request, for known
and unknown addresses alike, and the unknown path writes nothing (so its work matches the known
path's and nobody learns which addresses have accounts). Storing client addresses would also put
network addresses of anonymous visitors into the database. The cost: each process counts on its
own, so with N web processes a client gets up to N times the limit; the per-address limit (kept
in the database, over the ``magic_link`` notifications) still holds across processes.

The structure is owned by the process's ``Dependencies`` (``deps.signin_clients``), never by a
module: each app, and each test, has its own. It is bounded: at most ``max_clients`` keys of at
most ``limit`` timestamps each; when full, the client seen longest ago is forgotten first.
"""
from __future__ import annotations

import ipaddress
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta


def client_key(address: str) -> str:
    """The key a client is counted under: an IPv4 address as is, an IPv6 address by its /64
    network (one subscriber gets a whole /64, so counting single v6 addresses would let one client
    rotate through billions of them); anything else as given, trimmed and capped.

    >>> client_key("203.0.113.7"), client_key("2001:db8:1:2:aaaa::1"), client_key("::ffff:10.0.0.1")
    ('203.0.113.7', '2001:db8:1:2::/64', '10.0.0.1')
    """
    text = (address or "").strip()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:100] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(frozen=True)
class Refused:
    """Over the limit: ``retry_after`` is when the oldest counted request leaves the window."""

    retry_after: timedelta


class RecentRequests:
    """Sliding-window counter: at most ``limit`` requests per key within ``window``."""

    def __init__(self, *, limit: int, window: timedelta, max_clients: int = 10_000):
        if limit < 1 or max_clients < 1:
            raise ValueError("limit and max_clients must be at least 1")
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self._seen: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, now: datetime) -> Refused | None:
        """Count one request of ``key`` at ``now``; a :class:`Refused` (not counted) when ``key``
        made ``limit`` requests within the window already."""
        with self._lock:
            times = self._seen.pop(key, None) or deque(maxlen=self.limit)
            while times and times[0] <= now - self.window:
                times.popleft()
            self._seen[key] = times  # most recently seen last
            if len(times) >= self.limit:
                return Refused(retry_after=times[0] + self.window - now)
            times.append(now)
            while len(self._seen) > self.max_clients:
                self._seen.popitem(last=False)
            return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


SIGNIN_CLIENT_LIMIT = 20  # sign-in link requests per client (address or IPv6 /64) ...
SIGNIN_CLIENT_WINDOW = timedelta(minutes=15)  # ... within this window, whatever addresses are typed


def signin_clients() -> RecentRequests:
    """The per-client sign-in counter a process's ``Dependencies`` owns."""
    return RecentRequests(limit=SIGNIN_CLIENT_LIMIT, window=SIGNIN_CLIENT_WINDOW)
