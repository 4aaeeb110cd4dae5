"""Emitting outgoing webhook events, in the transaction of the fact they announce.

Each function here is called by the use case that makes the fact happen (an attendance verdict,
a booking, a planning that found no time, the at-risk check), with that use case's unit of work:
for every enabled endpoint of the program subscribed to the event it writes one
``WebhookDelivery`` and one outbox row ``deliver_webhook`` (key ``webhook:<endpoint>:<event
id>``). The event id is derived from the fact (``scheduler.core.webhooks.event_id``), so a
replayed use case finds the key taken and adds nothing: one event per fact, one delivery per
endpoint. Nothing is sent here; the outbox does that after the commit.

Payloads carry ids and UTC times, what a coordinator already sees; never names, emails or any
calendar's event titles.
"""
from __future__ import annotations

from datetime import datetime

from scheduler.core import webhooks as hooks
from scheduler.core.entities import Occurrence, Pair, Series, WebhookDelivery, WebhookEndpoint
from scheduler.core.reasons import reason_code
from scheduler.ports import UnitOfWork

DELIVER = "deliver_webhook"


def outbox_key(endpoint_id: str, event_id: str) -> str:
    return f"webhook:{endpoint_id}:{event_id}"


def queue_delivery(uow: UnitOfWork, endpoint: WebhookEndpoint, event_type: str, fact: str, data: dict,
                   now: datetime, pair_id: str | None = None) -> bool:
    """One delivery of the event ``fact`` names to ``endpoint``; False when it was queued before."""
    delivery = WebhookDelivery(endpoint_id=endpoint.id, program_id=endpoint.program_id, pair_id=pair_id,
                               event_id=hooks.event_id(fact), event_type=event_type, payload=data, created_at=now)
    if not uow.outbox.add_once(DELIVER, delivery.id, outbox_key(endpoint.id, delivery.event_id), now):
        return False
    uow.webhook_deliveries.add(delivery)
    return True


def emit(uow: UnitOfWork, program_id: str, event_type: str, fact: str, data: dict, now: datetime, *,
         pair_id: str | None = None) -> int:
    """Queue the event for every enabled endpoint of the program subscribed to ``event_type``;
    returns how many deliveries were added (0 for a fact already announced)."""
    return sum(queue_delivery(uow, endpoint, event_type, fact, data, now, pair_id)
               for endpoint in uow.webhook_endpoints.subscribed(program_id, event_type))


def _pair_data(pair: Pair) -> dict:
    return {"pair_id": pair.id, "mentor_id": pair.mentor_id, "mentee_id": pair.mentee_id}


def session_verdict(uow: UnitOfWork, occ: Occurrence, before: str | None, now: datetime) -> int:
    """``session.held`` / ``session.missed`` when the occurrence's verdict has just become one of
    them (a verdict resolved again to the same value announces nothing). One event per session
    and verdict: a session corrected from held to missed and back is announced held once."""
    verdict = occ.attendance_verdict
    if verdict == before or verdict not in ("held", "missed"):
        return 0
    event_type = hooks.SESSION_HELD if verdict == "held" else hooks.SESSION_MISSED
    pair = occ.series.pair
    data = {**_pair_data(pair), "session_id": occ.id, "series_id": occ.series_id,
            "start": hooks.utc_text(occ.start), "end": hooks.utc_text(occ.end), "verdict": verdict,
            "corrected_by_coordinator": occ.attendance_set_by is not None
            or any(s.get("kind") == "corrected" for s in occ.attendance_signals or [])}
    return emit(uow, pair.program_id, event_type, f"{event_type}:{occ.id}", data, now, pair_id=pair.id)


def pair_booked(uow: UnitOfWork, pair: Pair, series: Series, now: datetime) -> int:
    """``pair.booked``: a series of the pair is booked (on a calendar, or as emailed invitations)."""
    upcoming = sorted(o.start for o in series.occurrences if o.status in ("scheduled", "moved"))
    data = {**_pair_data(pair), "series_id": series.id, "sessions": len(upcoming),
            "first_session_start": hooks.utc_text(upcoming[0]) if upcoming else None,
            "duration_min": series.duration_min, "time_zone": series.tz,
            "on_calendar": series.provider_event_id is not None}
    return emit(uow, pair.program_id, hooks.PAIR_BOOKED, f"{hooks.PAIR_BOOKED}:{series.id}", data, now,
                pair_id=pair.id)


def pair_unschedulable(uow: UnitOfWork, pair: Pair, reason: str, now: datetime) -> int:
    """``pair.unschedulable``: planning found no common time (each time the pair enters the state)."""
    data = {**_pair_data(pair), "reason_code": reason_code(reason), "reason": reason}
    fact = f"{hooks.PAIR_UNSCHEDULABLE}:{pair.id}:{now.isoformat()}"
    return emit(uow, pair.program_id, hooks.PAIR_UNSCHEDULABLE, fact, data, now, pair_id=pair.id)


def pair_at_risk(uow: UnitOfWork, pair_id: str, program_id: str, mentor_id: str, mentee_id: str,
                 rules: list[str], since: datetime, now: datetime) -> int:
    """``pair.at_risk``: the pair has just become at risk (by ``rules``, keys of
    ``scheduler.core.at_risk.RULES``); one event per spell at risk (``since``)."""
    data = {"pair_id": pair_id, "mentor_id": mentor_id, "mentee_id": mentee_id, "rules": rules,
            "at_risk_since": hooks.utc_text(since)}
    return emit(uow, program_id, hooks.PAIR_AT_RISK, f"{hooks.PAIR_AT_RISK}:{pair_id}:{since.isoformat()}", data,
                now, pair_id=pair_id)
