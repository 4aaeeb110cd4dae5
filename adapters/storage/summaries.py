"""Keeping ``pair_summaries`` true: a flush that adds, changes or deletes a series or an occurrence
deletes the summaries of the pairs concerned, so the next ``SqlPairs.refresh_summaries`` computes
them again from the sessions (in the same transaction, so a rollback keeps the old rows).

Series and occurrences change only through the ORM (no bulk UPDATE touches them), except rows
bulk-inserted by ``add_many`` — those belong to new pairs, which have no summary yet.
"""
from __future__ import annotations

from sqlalchemy import delete, event, or_, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.storage.orm import pair_summaries
from adapters.storage.orm import series as series_table
from scheduler.core.entities import Occurrence, Series


def _forget_touched(session: Session, _flush_context) -> None:
    pair_ids, series_ids = set(), set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Occurrence) and obj.series_id is not None:
            series_ids.add(obj.series_id)
        elif isinstance(obj, Series) and obj.pair_id is not None:
            pair_ids.add(obj.pair_id)
    if not pair_ids and not series_ids:
        return
    of_series = select(series_table.c.pair_id).where(series_table.c.id.in_(sorted(series_ids)))
    session.connection().execute(delete(pair_summaries).where(or_(
        pair_summaries.c.pair_id.in_(sorted(pair_ids)), pair_summaries.c.pair_id.in_(of_series))))


def keep_summaries(factory: sessionmaker) -> sessionmaker:
    """Listen on ``factory``'s sessions (idempotent); returns it."""
    if not event.contains(factory, "after_flush", _forget_touched):
        event.listen(factory, "after_flush", _forget_touched)
    return factory
