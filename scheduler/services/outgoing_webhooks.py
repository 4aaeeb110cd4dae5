"""Outgoing webhooks: a program's endpoints (register, enable, disable, delete, test), the delivery
of one event to one endpoint (the ``deliver_webhook`` actor), and the hourly at-risk check that
announces pairs becoming at risk (``check_at_risk``).

Only a coordinator of the program, or an administrator, manages its endpoints; an endpoint of
another program is "not found". The signing secret is generated here, shown once and kept
encrypted with the calendar tokens' cipher. Events are emitted by the use cases where the facts
happen (``scheduler.services.webhook_events``); receiving-side details are in docs/webhooks.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scheduler.core import webhooks as hooks
from scheduler.core.entities import PairRiskMark, WebhookEndpoint
from scheduler.errors import InvalidInput, TandemError, UnsafeUrl
from scheduler.ports import Dependencies, UnitOfWork
from scheduler.services import webhook_events
from scheduler.services.dashboard import risks_in

MAX_ENDPOINTS = 10
RECENT_DELIVERIES = 20
CHECK_AT_RISK = "check_at_risk"


class NotAllowed(TandemError):
    """Only the program's coordinators (or an administrator) manage its webhooks."""

    retryable = False


class UnknownEndpoint(TandemError):
    """No such program, or no such endpoint in this program (or it was deleted)."""

    retryable = False


class WebhookFailed(TandemError):
    """The receiver did not take the event (no answer, 429, 5xx): tried again later."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class WebhookRefused(TandemError):
    """The receiver refused the event for good (a 4xx several times, a redirect), or its address
    is not allowed any more: not retried."""

    retryable = False


@dataclass(frozen=True)
class EndpointView:
    id: str
    url: str
    events: tuple[str, ...]
    enabled: bool
    disabled_reason: str | None
    last_status: str | None
    last_attempt_at: datetime | None
    last_delivered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class DeliveryView:
    event_id: str
    event_type: str
    endpoint_id: str
    status: str
    attempts: int
    last_status: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class WebhooksSection:
    program_id: str
    endpoints: tuple[EndpointView, ...]
    deliveries: tuple[DeliveryView, ...]
    event_labels: dict


@dataclass(frozen=True)
class NewEndpoint:
    """A registered endpoint and its signing secret (shown once, never again)."""

    id: str
    url: str
    secret: str


def _check_coordinator(uow: UnitOfWork, program_id: str, person_id: str) -> None:
    person = uow.people.get(person_id)
    if uow.programs.get(program_id) is None:
        raise UnknownEndpoint("That program does not exist; pick one from your programs list.")
    if person is None or not (person.is_admin or program_id in uow.memberships.coordinated_by(person_id)):
        raise NotAllowed("Only the program's coordinators (or an administrator) can manage its webhooks.")


def _endpoint(uow: UnitOfWork, program_id: str, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    endpoint = uow.webhook_endpoints.get(endpoint_id, lock=lock)
    if endpoint is None or endpoint.program_id != program_id:
        raise UnknownEndpoint("That webhook endpoint does not exist (any more); reload the program page.")
    return endpoint


def _view(h: WebhookEndpoint) -> EndpointView:
    return EndpointView(h.id, h.url, tuple(h.events or ()), h.enabled, h.disabled_reason, h.last_status,
                        h.last_attempt_at, h.last_delivered_at, h.created_at)


def webhooks_section(deps: Dependencies, program_id: str, by_person_id: str) -> WebhooksSection:
    """The program's endpoints and latest deliveries, for the program page."""
    with deps.uow() as uow:
        _check_coordinator(uow, program_id, by_person_id)
        endpoints = tuple(_view(h) for h in uow.webhook_endpoints.of_program(program_id))
        deliveries = tuple(DeliveryView(d.event_id, d.event_type, d.endpoint_id, d.status, d.attempts, d.last_status,
                                        d.created_at, d.delivered_at)
                           for d in uow.webhook_deliveries.recent_of_program(program_id, limit=RECENT_DELIVERIES))
    return WebhooksSection(program_id, endpoints, deliveries, dict(hooks.EVENT_LABELS))


def _check_events(events) -> list[str]:
    chosen = [e for e in hooks.EVENT_TYPES if e in set(events)]
    unknown = sorted(set(events) - set(hooks.EVENT_TYPES))
    if unknown:
        raise InvalidInput(f"Unknown event “{unknown[0]}”; choose among {', '.join(hooks.EVENT_TYPES)}.")
    if not chosen:
        raise InvalidInput("Tick at least one event to send to this endpoint.")
    return chosen


def register_endpoint(deps: Dependencies, program_id: str, by_person_id: str, url: str, events) -> NewEndpoint:
    """Add an endpoint receiving ``events``; its destination must be allowed (``UnsafeUrl``
    otherwise, saying why). Returns its secret, the only time it is shown."""
    url = (url or "").strip()
    if not url:
        raise InvalidInput("Give the URL Tandem should send the events to (https://…).")
    if len(url) > hooks.MAX_URL_LENGTH:
        raise InvalidInput(f"The URL is longer than {hooks.MAX_URL_LENGTH} characters; give a shorter one.")
    chosen = _check_events(events)
    with deps.uow() as uow:
        _check_coordinator(uow, program_id, by_person_id)
        if len(uow.webhook_endpoints.of_program(program_id)) >= MAX_ENDPOINTS:
            raise InvalidInput(f"A program has at most {MAX_ENDPOINTS} webhook endpoints; delete one first.")
    if deps.webhooks is None:
        raise InvalidInput("Webhooks cannot be registered from this process; ask your administrator.")
    deps.webhooks.check_destination(url)  # resolves DNS: outside the unit of work
    secret = hooks.new_secret()
    with deps.uow() as uow:
        _check_coordinator(uow, program_id, by_person_id)
        endpoint = uow.webhook_endpoints.add(WebhookEndpoint(
            program_id=program_id, url=url, events=chosen, secret_blob=deps.cipher.encrypt({"secret": secret}),
            created_by=by_person_id, created_at=deps.clock.now()))
        uow.commit()
        return NewEndpoint(endpoint.id, url, secret)


def set_endpoint_enabled(deps: Dependencies, program_id: str, endpoint_id: str, by_person_id: str,
                         enabled: bool) -> None:
    """Switch an endpoint on or off. Events that happen while it is off are not sent to it."""
    with deps.uow() as uow:
        _check_coordinator(uow, program_id, by_person_id)
        endpoint = _endpoint(uow, program_id, endpoint_id, lock=True)
        endpoint.enabled = enabled
        endpoint.disabled_reason = None if enabled else "Disabled by a coordinator."
        uow.commit()


def delete_endpoint(deps: Dependencies, program_id: str, endpoint_id: str, by_person_id: str) -> None:
    """Delete an endpoint and its deliveries (those still queued are dropped)."""
    with deps.uow() as uow:
        _check_coordinator(uow, program_id, by_person_id)
        uow.webhook_endpoints.delete(_endpoint(uow, program_id, endpoint_id))
        uow.commit()


def send_test_event(deps: Dependencies, program_id: str, endpoint_id: str, by_person_id: str) -> str:
    """Queue a ``webhook.test`` event to one endpoint (enabled); returns its event id."""
    now = deps.clock.now()
    with deps.uow() as uow:
        _check_coordinator(uow, program_id, by_person_id)
        endpoint = _endpoint(uow, program_id, endpoint_id)
        if not endpoint.enabled:
            raise InvalidInput("Enable the endpoint first: a disabled endpoint is sent nothing.")
        fact = f"{hooks.TEST_EVENT}:{endpoint.id}:{now.isoformat()}"
        webhook_events.queue_delivery(uow, endpoint, hooks.TEST_EVENT, fact,
                                      {"message": "A test event from Tandem: your endpoint is reachable."}, now)
        uow.commit()
        return hooks.event_id(fact)


# --- the deliver_webhook actor -------------------------------------------------------------------
def _finish(deps: Dependencies, delivery_id: str, now: datetime, status_text: str, *,
            status: str | None = None, disable: str | None = None, error: str | None = None) -> None:
    with deps.uow() as uow:
        delivery = uow.webhook_deliveries.get(delivery_id)
        if delivery is None:
            return
        endpoint = uow.webhook_endpoints.get(delivery.endpoint_id, lock=True)
        delivery.last_status, delivery.last_error = status_text, error
        if status is not None:
            delivery.status = status
            delivery.delivered_at = now if status == "delivered" else None
        if endpoint is not None:
            endpoint.last_status, endpoint.last_attempt_at = status_text, now
            if status == "delivered":
                endpoint.last_delivered_at = now
            if disable:
                endpoint.enabled, endpoint.disabled_reason = False, disable
        uow.commit()


def deliver_webhook(deps: Dependencies, delivery_id: str) -> None:
    """POST one event to one endpoint, signed; record the answer. Raises :class:`WebhookFailed`
    (retried with backoff, honouring ``Retry-After``) or :class:`WebhookRefused` (dead, shown to
    coordinators). A delivered, gone or skipped delivery is never sent again."""
    now = deps.clock.now()
    with deps.uow() as uow:
        delivery = uow.webhook_deliveries.get(delivery_id)
        if delivery is None or delivery.status != "pending":
            return  # deleted with its endpoint, or finished by an earlier run
        endpoint = uow.webhook_endpoints.get(delivery.endpoint_id)
        if endpoint is None or not endpoint.enabled:
            delivery.status = "skipped"
            uow.commit()
            return
        delivery.attempts += 1
        attempts, url = delivery.attempts, endpoint.url
        secret = deps.cipher.decrypt(endpoint.secret_blob)["secret"]
        body = hooks.body_of(delivery.event_id, delivery.event_type, delivery.created_at, delivery.program_id,
                             delivery.payload)
        event_id = delivery.event_id
        uow.commit()
    if deps.webhooks is None:
        raise WebhookFailed("this process cannot send webhooks")
    try:
        answer = deps.webhooks.post(url, body, hooks.headers_for(secret, event_id, int(now.timestamp()), body))
    except UnsafeUrl as exc:
        _finish(deps, delivery_id, now, "refused destination", status="rejected", error=str(exc))
        raise WebhookRefused(str(exc)) from None
    except Exception as exc:  # no answer: a timeout, a refused connection, DNS
        _finish(deps, delivery_id, now, "no answer", error=str(exc))
        raise WebhookFailed(f"the endpoint did not answer ({exc})") from exc
    result = hooks.outcome(answer.status, answer.headers, now)
    status_text = f"HTTP {answer.status}"
    if result.kind == "delivered":
        _finish(deps, delivery_id, now, status_text, status="delivered")
    elif result.kind == "gone":
        _finish(deps, delivery_id, now, status_text, status="gone",
                disable=f"The endpoint answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC, so Tandem stopped sending to "
                        "it. Enable it again once the receiver is back.")
    elif result.kind == "retry":
        _finish(deps, delivery_id, now, status_text)
        raise WebhookFailed(f"the endpoint answered {answer.status}", result.retry_after)
    elif attempts >= hooks.REJECTED_TRIES:
        _finish(deps, delivery_id, now, status_text, status="rejected")
        raise WebhookRefused(f"The webhook endpoint {url[:80]} refused the event with HTTP {answer.status} "
                             f"{attempts} times; check the receiver, then send a test event.")
    else:
        _finish(deps, delivery_id, now, status_text)
        raise WebhookFailed(f"the endpoint refused the event with HTTP {answer.status}")


# --- pair.at_risk: the hourly check ----------------------------------------------------------------
def queue_at_risk_checks(deps: Dependencies) -> int:
    """Queue one ``check_at_risk`` an hour for every program with an endpoint that wants
    ``pair.at_risk`` (a key per program and hour: running this on every tick repeats nothing)."""
    now = deps.clock.now()
    with deps.uow() as uow:
        added = sum(uow.outbox.add_once(CHECK_AT_RISK, program_id, f"{CHECK_AT_RISK}:{program_id}:{now:%Y%m%dT%H}",
                                        now)
                    for program_id in uow.webhook_endpoints.programs_subscribed_to(hooks.PAIR_AT_RISK))
        uow.commit()
    return added


def check_at_risk(deps: Dependencies, program_id: str) -> int:
    """Mark the program's pairs that became at risk and announce each (``pair.at_risk``), unmark
    those that are not any more (a later spell is announced again). Returns how many became at risk."""
    now = deps.clock.now()
    with deps.uow() as uow:
        if uow.programs.get(program_id) is None:
            return 0
        risky = risks_in(uow, program_id, now)
        marks = {m.pair_id: m for m in uow.pair_risk_marks.of_program(program_id)}
        for pair_id, mark in marks.items():
            if pair_id not in risky:
                uow.pair_risk_marks.delete(mark)
            else:
                rules = [r.rule for r in risky[pair_id]]
                if rules != list(mark.rules or []):
                    mark.rules = rules
        new = [pair_id for pair_id in risky if pair_id not in marks]
        for pair in uow.pairs.get_many(new):
            rules = [r.rule for r in risky[pair.id]]
            uow.pair_risk_marks.add(PairRiskMark(pair_id=pair.id, program_id=program_id, since=now, rules=rules))
            webhook_events.pair_at_risk(uow, pair.id, program_id, pair.mentor_id, pair.mentee_id, rules, now, now)
        uow.commit()
    return len(new)
