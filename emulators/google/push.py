"""Push notifications for ``events.watch`` channels: a ``sync`` message when a channel opens,
then ``exists`` on each change of the watched calendar (``not_exists`` if it is deleted).

Deliveries run on one background thread so an API call never waits for a webhook.
"""
from __future__ import annotations

import ipaddress
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Callable
from urllib.parse import urlsplit

import requests

from emulators.google.store import Channel, Store

DELIVERY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Delivery:
    channel_id: str
    state: str
    message_number: int
    address: str
    status: int | None  # HTTP status of the webhook's answer; None when it could not be reached
    error: str | None = None


def _is_loopback(address: str) -> bool:
    """The emulator only ever calls back into this machine."""
    host = urlsplit(address).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Notifier:
    """Queues and sends channel notifications; remembers every delivery for tests."""

    def __init__(self, store: Store, base_url: Callable[[], str], now: Callable[[], datetime]):
        self._store, self._base_url, self._now = store, base_url, now
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self.deliveries: list[Delivery] = []
        self._delivered = threading.Condition()
        store.change_listeners.append(self.calendar_changed)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="google-emulator-push", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=DELIVERY_TIMEOUT_S + 1)
            self._thread = None

    def calendar_changed(self, calendar_id: str) -> None:
        for channel in self._live_channels(calendar_id):
            self.announce(channel, "exists")

    def calendar_deleted(self, calendar_id: str) -> None:
        for channel in self._live_channels(calendar_id):
            self.announce(channel, "not_exists")

    def _live_channels(self, calendar_id: str) -> list[Channel]:
        now_ms = int(self._now().timestamp() * 1000)
        with self._store.lock:
            return [c for c in self._store.channels.values()
                    if c.calendar_id == calendar_id and not c.stopped and c.expiration_ms > now_ms]

    def announce(self, channel: Channel, state: str) -> None:
        """Queue one notification with the next message number of ``channel``."""
        with self._store.lock:
            channel.message_number += 1
            number = channel.message_number
        expiry = datetime.fromtimestamp(channel.expiration_ms / 1000, timezone.utc)
        headers = {
            "X-Goog-Channel-ID": channel.id, "X-Goog-Message-Number": str(number),
            "X-Goog-Resource-ID": channel.resource_id, "X-Goog-Resource-State": state,
            "X-Goog-Resource-URI": f"{self._base_url()}/calendar/v3/calendars/{channel.calendar_id}/events?alt=json",
            "X-Goog-Channel-Expiration": format_datetime(expiry, usegmt=True),
        }
        if channel.token:
            headers["X-Goog-Channel-Token"] = channel.token
        self._queue.put((channel, state, number, headers))

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """Block until at least ``count`` deliveries were attempted (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        with self._delivered:
            while len(self.deliveries) < count and time.monotonic() < deadline:
                self._delivered.wait(deadline - time.monotonic())
            return list(self.deliveries)

    def _run(self) -> None:
        session = requests.Session()
        session.trust_env = False
        while True:
            item = self._queue.get()
            if item is None:
                session.close()
                return
            channel, state, number, headers = item
            if not _is_loopback(channel.address):
                record = Delivery(channel.id, state, number, channel.address, None, "not delivered: not a loopback address")
                with self._delivered:
                    self.deliveries.append(record)
                    self._delivered.notify_all()
                continue
            try:
                reply = session.post(channel.address, headers=headers, data=b"", timeout=DELIVERY_TIMEOUT_S)
                record = Delivery(channel.id, state, number, channel.address, reply.status_code)
            except requests.RequestException as exc:
                record = Delivery(channel.id, state, number, channel.address, None, type(exc).__name__)
            with self._delivered:
                self.deliveries.append(record)
                self._delivered.notify_all()
