"""The transactional outbox: add rows with the state change, claim due rows safely, finish them.

Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several tick processes never take the
same row; on SQLite the write lock taken at ``BEGIN IMMEDIATE`` (see ``db.make_engine``) gives
the same guarantee. A row goes ``pending → enqueued → running → done``. An actor takes a lease on the row before it
works (``acquire``), so two deliveries of one message never run the effect at once. An enqueued
row not started within the claim timeout, or a running row whose lease ran out (worker killed),
is re-driven; a row that keeps failing becomes ``dead`` with its error, visible to coordinators.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from adapters.storage.models import OutboxMessage, new_id


def insert_once(session: Session, model, values: dict, key_column: str = "idempotency_key") -> str | None:
    """``INSERT ... ON CONFLICT (key) DO NOTHING`` on PostgreSQL and SQLite; returns the new id,
    or None when a row with that key exists (then nothing was written)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    values = {"id": new_id(), **values}
    stmt = (insert(model).values(**values)
            .on_conflict_do_nothing(index_elements=[key_column]).returning(model.id))
    return session.execute(stmt).scalar()


def add_outbox(session: Session, kind: str, subject_id: str, idempotency_key: str, due_at: datetime) -> bool:
    """Queue an effect in the caller's transaction. False when that key was queued before."""
    return insert_once(session, OutboxMessage, dict(kind=kind, subject_id=subject_id, idempotency_key=idempotency_key,
                                                    status="pending", due_at=due_at, attempts=0)) is not None


def claim_due(session: Session, now: datetime, *, limit: int, claim_timeout: timedelta,
              max_attempts: int) -> list[OutboxMessage]:
    """Mark due rows ``enqueued`` and return them; the caller commits, then sends them.

    Due means: pending with ``due_at <= now``, or enqueued longer ago than ``claim_timeout`` and
    still not done (a lost message). A row over ``max_attempts`` becomes ``dead`` instead.
    """
    stale_before = now - claim_timeout
    query = (select(OutboxMessage)
             .where(or_((OutboxMessage.status == "pending") & (OutboxMessage.due_at <= now),
                        (OutboxMessage.status == "enqueued") & (OutboxMessage.enqueued_at <= stale_before),
                        (OutboxMessage.status == "running") & (OutboxMessage.locked_until <= now)))
             .order_by(OutboxMessage.due_at)
             .limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    claimed = []
    for row in rows:
        if row.attempts >= max_attempts:
            row.status = "dead"
            row.last_error = (row.last_error or "no worker finished it") + f" (gave up after {row.attempts} attempts)"
            continue
        row.status = "enqueued"
        row.enqueued_at = now
        row.attempts += 1
        claimed.append(row)
    session.flush()
    return claimed


def acquire(session: Session, outbox_id: str, now: datetime, lease: timedelta) -> bool:
    """Take the row for one run; False when it is done, dead, scheduled for later, or another
    delivery of the same message is running it right now."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id,
               or_(OutboxMessage.status == "enqueued",
                   (OutboxMessage.status == "running") & (OutboxMessage.locked_until <= now)))
        .values(status="running", locked_until=now + lease))
    return result.rowcount == 1


def mark_done(session: Session, outbox_id: str, now: datetime) -> bool:
    """Finish a row; False when it was already done (a duplicate delivery)."""
    result = session.execute(update(OutboxMessage)
                             .where(OutboxMessage.id == outbox_id, OutboxMessage.status != "done")
                             .values(status="done", done_at=now, last_error=None, locked_until=None))
    return result.rowcount == 1


def record_failure(session: Session, outbox_id: str, error: str, *, retry_at: datetime | None) -> None:
    """Keep the error; ``retry_at`` puts the row back to pending then, ``None`` makes it dead."""
    values = {"last_error": error[:2000], "locked_until": None}
    if retry_at is None:
        values["status"] = "dead"
    else:
        values.update(status="pending", due_at=retry_at)
    session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id,
                                                OutboxMessage.status != "done").values(**values))
