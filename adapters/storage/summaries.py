"""Keeping ``pair_summaries`` and ``chart_counts`` true: a flush that adds, changes or deletes a
series or an occurrence deletes the summaries of the pairs concerned, so the next
``SqlPairs.refresh_summaries`` computes them again from the sessions, and the kept chart counts
of their programs (a change to a pair — a new mentor, a removal — too); all in the same
transaction, so a rollback keeps the old rows.

Series and occurrences change only through the ORM (no bulk UPDATE touches them), except rows
bulk-inserted by ``add_many`` — those belong to new pairs, which have no summary yet.
"""
from __future__ import annotations

from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.storage.orm import chart_counts, pair_summaries
from adapters.storage.orm import pairs as pairs_table
from adapters.storage.orm import series as series_table
from scheduler.core.entities import Occurrence, Pair, Series


def _forget_touched(session: Session, _flush_context) -> None:
    pair_ids, series_ids, program_ids = set(), set(), set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Occurrence) and obj.series_id is not None:
            series_ids.add(obj.series_id)
        elif isinstance(obj, Series) and obj.pair_id is not None:
            pair_ids.add(obj.pair_id)
        elif isinstance(obj, Pair) and obj.program_id is not None:
            program_ids.add(obj.program_id)
    if not pair_ids and not series_ids and not program_ids:
        return
    connection = session.connection()
    touched = sorted(pair_ids | set(connection.scalars(
        select(series_table.c.pair_id).where(series_table.c.id.in_(sorted(series_ids))))))
    if touched:
        connection.execute(delete(pair_summaries).where(pair_summaries.c.pair_id.in_(touched)))
        program_ids |= set(connection.scalars(select(pairs_table.c.program_id).where(pairs_table.c.id.in_(touched))))
    if program_ids:
        connection.execute(delete(chart_counts).where(chart_counts.c.program_id.in_(sorted(program_ids))))


def keep_summaries(factory: sessionmaker) -> sessionmaker:
    """Listen on ``factory``'s sessions (idempotent); returns it."""
    if not event.contains(factory, "after_flush", _forget_touched):
        event.listen(factory, "after_flush", _forget_touched)
    return factory
