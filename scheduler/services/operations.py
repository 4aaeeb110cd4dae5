"""What operators watch that lives in the database: the outbox's depth and lag, pairs by state.

Read at scrape time by ``/metrics`` (``web/metrics.py``): three named queries in one unit of work.
"""
from __future__ import annotations

from dataclasses import dataclass

from scheduler.core.pair_state import PairState
from scheduler.ports import Dependencies

OUTBOX_STATUSES = ("pending", "enqueued", "running", "dead")


@dataclass(frozen=True)
class OperationsSnapshot:
    outbox_by_status: dict[str, int]  # rows not done, by status (pending, enqueued, running, dead)
    oldest_due_age_seconds: float  # how long the longest-waiting due row has waited; 0 when none
    pairs_by_state: dict[str, int]


def snapshot(deps: Dependencies) -> OperationsSnapshot:
    now = deps.clock.now()
    with deps.uow() as uow:
        by_status = uow.outbox.count_by_status()
        oldest = uow.outbox.oldest_due(now)
        pairs = uow.pairs.count_by_state()
    # every status and state is reported, 0 when empty, so an alert never waits on a missing series
    by_status = {**{status: 0 for status in OUTBOX_STATUSES}, **by_status}
    pairs = {**{state.value: 0 for state in PairState}, **pairs}
    return OperationsSnapshot(outbox_by_status=by_status,
                              oldest_due_age_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
                              pairs_by_state=pairs)
