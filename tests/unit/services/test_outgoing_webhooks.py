"""Outgoing webhooks as the use cases keep them (in-memory unit of work): endpoints managed by the
program's coordinators only, one event per fact emitted in the fact's transaction, deliveries
through the outbox with their outcomes (delivered, retried, refused, gone), and pair.at_risk on
becoming at risk only. The receiver is a recording stand-in here; tests/integration/
test_outgoing_webhooks.py sends to a real loopback HTTP receiver."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from scheduler.core import webhooks as hooks
from scheduler.core.entities import Person
from scheduler.errors import InvalidInput, UnsafeUrl
from scheduler.ports import WebhookResponse
from scheduler.services import booking, outgoing_webhooks as service, planning, sweeps
from scheduler.services.attendance import correct_attendance, sweep_attendance
from scheduler.services.feedback import record_feedback
from scheduler.services.notifications import add_notification
from tests.unit.services.booked import DURATION, FIRST, T0, book_series
from workers.actors import ACTOR_TABLE, run_outbox_row

ALL = list(hooks.EVENT_TYPES)


class Receiver:
    """Records what would be POSTed; answers from ``answers`` (status or (status, headers)), 200
    when empty; refuses URLs containing one of ``private`` like the real sender refuses private
    addresses."""

    def __init__(self):
        self.posts: list[tuple[str, bytes, dict]] = []
        self.answers: list = []
        self.private = ["private"]

    def check_destination(self, url: str) -> None:
        if any(word in url for word in self.private):
            raise UnsafeUrl("The webhook URL points at private.example, which resolves to a private address.")

    def post(self, url, body, headers):
        self.check_destination(url)
        self.posts.append((url, body, headers))
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        status, extra = answer if isinstance(answer, tuple) else (answer, {})
        return WebhookResponse(status, extra)

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body, _ in self.posts]


@pytest.fixture
def receiver(deps):
    deps.webhooks = Receiver()
    return deps.webhooks


def _register(deps, seeded, events=ALL, url="https://hooks.example.org/tandem"):
    return service.register_endpoint(deps, seeded.program_id, seeded.coordinator_id, url, events)


def _drain(deps, kinds=("deliver_webhook", "check_at_risk")) -> None:
    """Claim and run the due rows of ``kinds`` (as the tick and the actors do), and the rows
    those runs made due; each row at most once."""
    seen: set[str] = set()
    while True:
        with deps.uow() as uow:
            rows = [r for r in uow.outbox.claim_due(deps.clock.now(), limit=100, claim_timeout=timedelta(minutes=5),
                                                    max_attempts=deps.config.max_attempts)
                    if r.kind in kinds and r.id not in seen]
            uow.commit()
        if not rows:
            return
        for row in rows:
            seen.add(row.id)
            run_outbox_row(deps, row.kind, ACTOR_TABLE[row.kind].use_case, row.id)


def _rows(deps, kind="deliver_webhook"):
    with deps.uow() as uow:
        return [r for r in uow.outbox.all() if r.kind == kind]


def _deliveries(deps):
    with deps.uow() as uow:
        return uow.webhook_deliveries.all()


@pytest.fixture
def booked(deps, seed, receiver):
    seeded = seed(status="booked", connected=True)
    series_id, occ_ids = book_series(deps, seeded)
    return seeded, series_id, occ_ids


# --- endpoints ------------------------------------------------------------------------------------
def test_a_coordinator_registers_an_endpoint_and_sees_its_secret_once(deps, seed, receiver):
    seeded = seed()
    new = _register(deps, seeded, ["pair.booked", "session.held"])
    assert new.secret.startswith("whsec_") and len(new.secret) > 30
    section = service.webhooks_section(deps, seeded.program_id, seeded.coordinator_id)
    (endpoint,) = section.endpoints
    assert endpoint.events == ("session.held", "pair.booked") and endpoint.enabled
    assert new.secret not in repr(section)  # never shown again
    with deps.uow() as uow:
        assert deps.cipher.decrypt(uow.webhook_endpoints.get(new.id).secret_blob) == {"secret": new.secret}


@pytest.mark.parametrize("url, events, message", [
    ("", ALL, "Give the URL"), ("https://x.example/h", [], "at least one event"),
    ("https://x.example/h", ["pair.exploded"], "Unknown event"),
    ("https://private.example/h", ALL, "private address")])
def test_bad_endpoints_are_refused_with_what_to_do(deps, seed, receiver, url, events, message):
    seeded = seed()
    with pytest.raises((InvalidInput, UnsafeUrl), match=message):
        _register(deps, seeded, events, url)
    assert service.webhooks_section(deps, seeded.program_id, seeded.coordinator_id).endpoints == ()


def test_only_the_program_s_coordinators_or_an_admin_manage_its_endpoints(deps, seed, receiver):
    a = seed()
    with deps.uow() as uow:
        from scheduler.core.entities import Membership, Program
        other = uow.programs.add(Program(name="Other"))
        outsider = uow.people.add(Person(email="b-coord@example.org"))
        uow.memberships.add(Membership(program_id=other.id, person_id=outsider.id, role="coordinator"))
        admin = uow.people.add(Person(email="admin@example.org", is_admin=True))
        uow.commit()
    endpoint = _register(deps, a)
    for attempt in (lambda: service.webhooks_section(deps, a.program_id, outsider.id),
                    lambda: service.register_endpoint(deps, a.program_id, outsider.id, "https://x.example", ALL),
                    lambda: service.delete_endpoint(deps, a.program_id, endpoint.id, outsider.id),
                    lambda: service.set_endpoint_enabled(deps, a.program_id, endpoint.id, a.mentor_id, False)):
        with pytest.raises(service.NotAllowed):
            attempt()
    # through the other program (which B coordinates) A's endpoint does not exist
    with pytest.raises(service.UnknownEndpoint):
        service.delete_endpoint(deps, other.id, endpoint.id, outsider.id)
    assert len(service.webhooks_section(deps, a.program_id, admin.id).endpoints) == 1
    service.delete_endpoint(deps, a.program_id, endpoint.id, admin.id)
    assert service.webhooks_section(deps, a.program_id, a.coordinator_id).endpoints == ()


# --- events where the facts happen ------------------------------------------------------------------
def test_a_held_session_is_announced_once_signed_and_without_names(deps, booked, receiver, clock):
    seeded, series_id, (first, *_) = booked
    new = _register(deps, seeded)
    clock.current = FIRST + DURATION + timedelta(minutes=15)
    with deps.uow() as uow:
        nid = add_notification(uow, kind="feedback", person_id=seeded.mentee_id, due_at=FIRST,
                               pair_id=seeded.pair_id, occurrence_id=first, key=f"feedback:{first}")
        uow.commit()
    record_feedback(deps, nid, "met", 5, "private words")  # the verdict is resolved with the answer
    with deps.uow() as uow:
        verdict = uow.occurrences.get(first).attendance_verdict
    assert verdict == "held"
    record_feedback(deps, nid, "met", 5, "private words")  # answered twice: nothing new
    clock.current = FIRST + DURATION + timedelta(days=5)
    sweep_attendance(deps)  # settled again the same day: nothing new
    clock.advance(days=1)
    sweep_attendance(deps)  # and the next day: the verdict did not change, nothing new
    assert len(_rows(deps)) == 1
    _drain(deps)
    (url, body, headers), = receiver.posts
    event = json.loads(body)
    assert event["type"] == f"session.{verdict}" and event["program_id"] == seeded.program_id
    assert event["id"] == headers["Tandem-Webhook-Id"] == hooks.event_id(f"session.{verdict}:{first}")
    assert event["data"]["session_id"] == first and event["data"]["start"] == "2026-03-10T14:00:00Z"
    assert "Mina" not in body.decode() and "@" not in body.decode() and "private words" not in body.decode()
    t = int(headers["Tandem-Webhook-Timestamp"])
    assert hooks.verify_signature(new.secret, body, headers["Tandem-Signature"], now=t + 10)
    assert not hooks.verify_signature("whsec_wrong", body, headers["Tandem-Signature"], now=t)
    assert not hooks.verify_signature(new.secret, body, headers["Tandem-Signature"], now=t + 3600)  # replayed
    assert not hooks.verify_signature(new.secret, body.replace(b"2026", b"2027"), headers["Tandem-Signature"], now=t)


def test_a_correction_announces_the_new_verdict_and_back_again_nothing_new(deps, booked, receiver, clock):
    seeded, _, (first, *_) = booked
    _register(deps, seeded, ["session.held", "session.missed"])
    clock.current = FIRST + DURATION + timedelta(hours=1)
    for verdict in ("missed", "held", "missed"):
        correct_attendance(deps, first, verdict, "told me", seeded.coordinator_id)
    assert sorted(r.idempotency_key.rsplit(":", 1)[1] for r in _rows(deps)) == sorted([
        hooks.event_id(f"session.missed:{first}"), hooks.event_id(f"session.held:{first}")])
    _drain(deps)
    assert sorted(e["type"] for e in receiver.events()) == ["session.held", "session.missed"]
    assert all(e["data"]["corrected_by_coordinator"] for e in receiver.events())


def test_events_go_only_to_enabled_endpoints_that_want_them(deps, booked, receiver, clock):
    seeded, _, (first, *_) = booked
    _register(deps, seeded, ["pair.booked"])
    wants = _register(deps, seeded, ["session.missed"], "https://two.example/h")
    off = _register(deps, seeded, ["session.missed"], "https://three.example/h")
    service.set_endpoint_enabled(deps, seeded.program_id, off.id, seeded.coordinator_id, False)
    clock.current = FIRST + DURATION + timedelta(hours=1)
    correct_attendance(deps, first, "missed", "nobody came", seeded.coordinator_id)
    assert [d.endpoint_id for d in _deliveries(deps)] == [wants.id]


def test_booking_and_unschedulable_pairs_are_announced(deps, seed, receiver, calendars):
    seeded = seed(status="ready", connected=True)
    _register(deps, seeded, ["pair.booked", "pair.unschedulable"])
    planning.plan_mentor_group(deps, seeded.pair_id)
    with deps.uow() as uow:
        (series,) = uow.series.active_of_pair(seeded.pair_id)
        series_id = series.id
    booking.book_series(deps, series_id)
    booking.book_series(deps, series_id)  # a replay announces nothing new
    _drain(deps)
    (event,) = receiver.events()
    assert event["type"] == "pair.booked" and event["data"]["series_id"] == series_id
    assert event["data"]["sessions"] == 4 and event["data"]["on_calendar"] is True

    lonely = seed_unschedulable(deps, seeded)
    planning.plan_mentor_group(deps, lonely)
    _drain(deps)
    assert receiver.events()[-1]["type"] == "pair.unschedulable"
    assert receiver.events()[-1]["data"]["pair_id"] == lonely and receiver.events()[-1]["data"]["reason"]


def seed_unschedulable(deps, seeded) -> str:
    """A second pair of the program whose mentee works no hour the mentor does."""
    from scheduler.core.entities import Pair
    with deps.uow() as uow:
        mentee = uow.people.add(Person(email="night@example.org", tz="Asia/Tokyo", onboarded_at=T0,
                                       working_hours={"sun": [["01:00", "02:00"]]}))
        pair = uow.pairs.add(Pair(program_id=seeded.program_id, mentor_id=seeded.mentor_id, mentee_id=mentee.id,
                                  status="ready"))
        uow.commit()
        return pair.id


def test_at_risk_fires_when_a_pair_becomes_at_risk_not_on_every_check(deps, booked, receiver, clock):
    seeded, _, occ_ids = booked
    _register(deps, seeded, ["pair.at_risk"])
    assert sweeps.at_risk_checks(deps) == 1 and sweeps.at_risk_checks(deps) == 0  # one an hour
    _drain(deps)
    assert receiver.posts == []  # not at risk
    clock.current = FIRST + 2 * timedelta(weeks=1) + timedelta(hours=2)
    for occ_id in occ_ids[:2]:
        correct_attendance(deps, occ_id, "missed", "no show", seeded.coordinator_id)
    for hour in range(3):  # three hourly checks: one event
        clock.advance(hours=1)
        sweeps.at_risk_checks(deps)
        _drain(deps)
    (event,) = receiver.events()
    assert event["type"] == "pair.at_risk" and "misses" in event["data"]["rules"]
    _set_status(deps, seeded.pair_id, "paused")  # a paused pair is never at risk
    clock.advance(hours=1)
    sweeps.at_risk_checks(deps)
    _drain(deps)
    with deps.uow() as uow:
        assert uow.pair_risk_marks.of_program(seeded.program_id) == []  # no longer at risk
    _set_status(deps, seeded.pair_id, "booked")
    clock.advance(hours=1)
    sweeps.at_risk_checks(deps)
    _drain(deps)
    at_risk = [e for e in receiver.events() if e["type"] == "pair.at_risk"]
    assert len(at_risk) == 2 and at_risk[0]["id"] != at_risk[1]["id"]  # a second spell, a second event


def _set_status(deps, pair_id, status):
    with deps.uow() as uow:
        uow.pairs.get(pair_id).status = status
        uow.commit()


# --- delivery outcomes --------------------------------------------------------------------------------
def _one_event(deps, seeded):
    with deps.uow() as uow:
        endpoint = uow.webhook_endpoints.of_program(seeded.program_id)[0]
        from scheduler.services import webhook_events
        webhook_events.queue_delivery(uow, endpoint, "pair.booked", "pair.booked:x", {"pair_id": seeded.pair_id},
                                      deps.clock.now(), pair_id=seeded.pair_id)
        uow.commit()


def test_503s_then_recovery_delivers_the_same_event_id_honouring_retry_after(deps, seed, receiver, clock):
    seeded = seed()
    _register(deps, seeded)
    _one_event(deps, seeded)
    receiver.answers = [(503, {"retry-after": "120"}), 500, 429]
    _drain(deps)
    (row,) = _rows(deps)
    assert row.status == "pending" and row.due_at == clock.current + timedelta(seconds=120)
    for _ in range(3):
        clock.current = row.due_at
        _drain(deps)
        (row,) = _rows(deps)
    assert row.status == "done"
    ids = {e["id"] for e in receiver.events()}
    assert len(receiver.posts) == 4 and ids == {hooks.event_id("pair.booked:x")}
    (delivery,) = _deliveries(deps)
    assert delivery.status == "delivered" and delivery.attempts == 4
    timestamps = [int(h["Tandem-Webhook-Timestamp"]) for _, _, h in receiver.posts]
    assert timestamps == sorted(timestamps) and timestamps[0] < timestamps[-1]  # each try signed afresh


def test_a_410_disables_the_endpoint_and_later_events_are_skipped(deps, seed, receiver):
    seeded = seed()
    new = _register(deps, seeded)
    _one_event(deps, seeded)
    receiver.answers = [410]
    _drain(deps)
    (endpoint,) = service.webhooks_section(deps, seeded.program_id, seeded.coordinator_id).endpoints
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert [d.status for d in _deliveries(deps)] == ["gone"] and _rows(deps)[0].status == "done"
    with pytest.raises(InvalidInput, match="Enable the endpoint first"):
        service.send_test_event(deps, seeded.program_id, new.id, seeded.coordinator_id)


def test_other_4xx_fail_after_a_few_tries_and_show_to_coordinators(deps, seed, receiver, clock):
    seeded = seed()
    _register(deps, seeded)
    _one_event(deps, seeded)
    receiver.answers = [400, 400, 400]
    for _ in range(3):
        _drain(deps)
        clock.current = _rows(deps)[0].due_at
    (row,) = _rows(deps)
    assert row.status == "dead" and len(receiver.posts) == 3
    from scheduler.services.problems import failed_work
    (failure,) = failed_work(deps, seeded.program_id)
    assert failure.what == "sending a webhook event" and "refused the event with HTTP 400 3 times" in failure.message


def test_a_destination_that_became_private_is_refused_at_delivery(deps, seed, receiver):
    seeded = seed()
    _register(deps, seeded, url="https://rebound.example/h")
    receiver.private.append("rebound")  # its name resolves to a private address now
    _one_event(deps, seeded)
    _drain(deps)
    assert _rows(deps)[0].status == "dead" and receiver.posts == []
    assert "private" in _deliveries(deps)[0].last_error


def test_a_test_event_reaches_one_endpoint_whatever_it_subscribes_to(deps, seed, receiver):
    seeded = seed()
    new = _register(deps, seeded, ["pair.booked"])
    event_id = service.send_test_event(deps, seeded.program_id, new.id, seeded.coordinator_id)
    _drain(deps)
    (event,) = receiver.events()
    assert event["type"] == "webhook.test" and event["id"] == event_id


def test_a_deleted_endpoint_s_queued_deliveries_are_dropped(deps, seed, receiver):
    seeded = seed()
    new = _register(deps, seeded)
    _one_event(deps, seeded)
    service.delete_endpoint(deps, seeded.program_id, new.id, seeded.coordinator_id)
    _drain(deps)
    assert receiver.posts == [] and _rows(deps)[0].status == "done" and _deliveries(deps) == []

