"""Session-level entry points to the transactional outbox (for storage tests and tools).

Use cases reach the outbox through ``uow.outbox`` (``adapters.storage.repositories.SqlOutbox``);
these functions are the same queries on a bare session. A row goes
``pending → enqueued → running → done`` (or ``dead``); see ``docs/architecture.md``.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from adapters.storage.repositories import SqlOutbox, insert_once
from scheduler.core.entities import OutboxMessage

__all__ = ["insert_once", "add_outbox", "claim_due", "acquire", "mark_done", "record_failure"]


def add_outbox(session: Session, kind: str, subject_id: str, idempotency_key: str, due_at: datetime) -> bool:
    """Queue an effect in the caller's transaction. False when that key was queued before."""
    return SqlOutbox(session).add_once(kind, subject_id, idempotency_key, due_at)


def claim_due(session: Session, now: datetime, *, limit: int, claim_timeout: timedelta,
              max_attempts: int) -> list[OutboxMessage]:
    return SqlOutbox(session).claim_due(now, limit=limit, claim_timeout=claim_timeout, max_attempts=max_attempts)


def acquire(session: Session, outbox_id: str, now: datetime, lease: timedelta) -> bool:
    return SqlOutbox(session).acquire(outbox_id, now, lease)


def mark_done(session: Session, outbox_id: str, now: datetime) -> bool:
    return SqlOutbox(session).mark_done(outbox_id, now)


def record_failure(session: Session, outbox_id: str, error: str, *, retry_at: datetime | None) -> None:
    SqlOutbox(session).record_failure(outbox_id, error, retry_at=retry_at)
