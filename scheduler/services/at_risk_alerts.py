"""Immediate at-risk alerts (optional per program, off by default): when a pair becomes at risk,
each coordinator of its program gets one email naming the reasons and linking to the pair page —
once per pair per episode, however often the sweep runs.

The sweep queues one ``alert_at_risk`` outbox row per program with alerts on, per hour; the
actor (:func:`alert_program`) works out the program's at-risk pairs with the dashboard's
aggregate queries and keeps ``Program.at_risk_alerted`` (pair id -> when alerted) equal to the
pairs at risk now: a pair new to it is alerted, a pair no longer at risk leaves it, so its next
episode is alerted again.
"""
from __future__ import annotations

from scheduler.errors import NotFound
from scheduler.ports import Dependencies
from scheduler.services.dashboard import risks_in
from scheduler.services.notifications import notify_coordinators
from scheduler.services.programs import UnknownProgram

KIND = "at_risk_alert"


def set_at_risk_alerts(deps: Dependencies, program_id: str, on: bool) -> None:
    """Turn the program's immediate alerts on or off (the caller checked the role). Turning them
    on alerts the pairs at risk at the next sweep; off forgets who was alerted."""
    with deps.uow() as uow:
        program = uow.programs.get(program_id, lock=True)
        if program is None:
            raise UnknownProgram("That program does not exist; pick one from your programs list.")
        program.at_risk_alerts = bool(on)
        if not on:
            program.at_risk_alerted = {}
        uow.commit()


def queue_alert_sweeps(deps: Dependencies) -> int:
    """One ``alert_at_risk`` row per program with alerts on, per hour. Returns how many were queued."""
    now = deps.clock.now()
    queued = 0
    with deps.uow() as uow:
        for program in uow.programs.all_oldest_first():
            if program.at_risk_alerts:
                queued += uow.outbox.add_once("alert_at_risk", program.id,
                                              f"alert_at_risk:{program.id}:{now:%Y%m%dT%H}", now)
        uow.commit()
    return queued


def alert_program(deps: Dependencies, program_id: str) -> int:
    """Alert the coordinators of each pair that became at risk since the last run. Returns how
    many pairs were alerted."""
    now = deps.clock.now()
    with deps.uow() as uow:
        program = uow.programs.get(program_id, lock=True)
        if program is None:
            raise NotFound("This program no longer exists.")
        if not program.at_risk_alerts:
            return 0
        at_risk = risks_in(uow, program_id, now)
        before = dict(program.at_risk_alerted or {})
        new = [pair_id for pair_id in at_risk if pair_id not in before]
        for pair in uow.pairs.get_many(new):
            reasons = [r.text for r in at_risk[pair.id]]
            notify_coordinators(uow, pair, KIND, now, key=f"{KIND}:{pair.id}:{now:%Y%m%dT%H%M%S}",
                                payload={"reasons": reasons})
        stamp = now.isoformat()
        after = {pair_id: before.get(pair_id, stamp) for pair_id in at_risk}
        if after != before:
            program.at_risk_alerted = after
        uow.commit()
        return len(new)
