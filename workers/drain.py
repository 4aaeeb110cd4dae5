"""Catching up in one process (``tandem sandbox advance``, /demo's "skip ahead"): what the tick and
the worker would have done by now, done here and now. The sweeps (``workers.sweeps.STEPS``) run,
then due outbox rows are claimed exactly as the tick claims them and run through the same
wrappers as the actors (``run_outbox_row``: lease, use case, done or retry; emails 50 at a time
through ``run_delivery_batch``). A running
``tandem run`` may claim rows meanwhile: a claim is exclusive, so nothing runs twice."""
from __future__ import annotations

import logging

from scheduler.ports import Dependencies
from scheduler.services.notifications import DELIVER
from workers.actors import ACTOR_TABLE, run_delivery_batch, run_outbox_row
from workers.sweeps import STEPS

log = logging.getLogger(__name__)
BATCH = 100
EMAIL_BATCH = 50  # emails run together, as the tick hands them to a worker (tick.delivery_batch_size)
MAX_ROUNDS = 1000  # rows that keep making due rows stop here (the tick takes the rest)


def run_due(deps: Dependencies, *, batch: int = BATCH, max_rounds: int = MAX_ROUNDS) -> int:
    """Claim and run every outbox row due now, including rows those runs make due now; returns
    how many ran. Each row runs at most once here: a row that fails and comes due again while
    this runs (its retry is a few real seconds away) is left claimed, and the tick re-drives it
    after ``tick.claim_timeout_seconds`` (or the next skip does), as after a lost message."""
    ran, seen = 0, set()
    for _ in range(max_rounds):
        with deps.uow() as uow:
            rows = uow.outbox.claim_due(deps.clock.now(), limit=batch, claim_timeout=deps.config.claim_timeout,
                                        max_attempts=deps.config.max_attempts)
            claimed = [(row.id, row.kind) for row in rows]
            uow.commit()
        fresh = [(outbox_id, kind) for outbox_id, kind in claimed if outbox_id not in seen]
        if not fresh:
            break
        emails = [outbox_id for outbox_id, kind in fresh if kind == DELIVER]
        for start in range(0, len(emails), EMAIL_BATCH):  # as the worker takes them from the tick
            run_delivery_batch(deps, emails[start:start + EMAIL_BATCH])
        seen.update(emails)
        ran += len(emails)
        for outbox_id, kind in fresh:
            if kind == DELIVER:
                continue
            seen.add(outbox_id)
            spec = ACTOR_TABLE.get(kind)
            if spec is None:  # no actor here: the running worker re-drives it after the claim timeout
                log.warning("no actor for outbox kind %r; left for the worker", kind)
                continue
            run_outbox_row(deps, kind, spec.use_case, outbox_id)
            ran += 1
    return ran


def catch_up(deps: Dependencies) -> int:
    """The sweeps, then every due row (see the module)."""
    for step in STEPS:
        step(deps)
    return run_due(deps)
