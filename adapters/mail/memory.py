"""An in-memory :class:`~scheduler.ports.Mailer` for the demo and the tests (product code).

It keeps what it was asked to send and, like a careful real mailer, sends one idempotency key
once: a retried send of the same outbox row is recorded once. ``fail_next`` lets a test (or
the demo) make the next sends fail the way SMTP can, to exercise the outbox's retries.
"""
from __future__ import annotations

import threading

from scheduler.ports import OutgoingEmail


class InMemoryMailer:
    """Sent emails in order, deduplicated by ``idempotency_key``; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: list[OutgoingEmail] = []
        self._keys: set[str] = set()
        self._failures: list[Exception] = []
        self.attempts = 0

    def send(self, email: OutgoingEmail) -> None:
        """Record ``email`` unless its key was sent before; raise a queued failure first."""
        if not email.to:
            raise ValueError("an email needs at least one recipient")
        with self._lock:
            self.attempts += 1
            if self._failures:
                raise self._failures.pop(0)
            if email.idempotency_key in self._keys:
                return
            self._keys.add(email.idempotency_key)
            self._sent.append(email)

    def fail_next(self, *errors: Exception) -> None:
        """Make the next ``len(errors)`` sends raise these errors, in order."""
        with self._lock:
            self._failures.extend(errors)

    @property
    def sent(self) -> tuple[OutgoingEmail, ...]:
        """Every email delivered, oldest first."""
        with self._lock:
            return tuple(self._sent)

    def sent_to(self, address: str) -> tuple[OutgoingEmail, ...]:
        """The emails delivered to ``address`` (case-insensitive), oldest first."""
        wanted = address.strip().lower()
        with self._lock:
            return tuple(e for e in self._sent if wanted in (a.strip().lower() for a in e.to))

    def clear(self) -> None:
        """Forget everything sent (the demo's "reset"); keys are forgotten too."""
        with self._lock:
            self._sent.clear()
            self._keys.clear()
            self._failures.clear()
            self.attempts = 0
