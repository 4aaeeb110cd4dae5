"""Outgoing webhooks with real parts: a loopback HTTP receiver, the SQL unit of work, the outbox,
the tick and Dramatiq workers (the pipeline fixture), and the web pages.

- every event reaches the receiver with one id per fact across a worker that dies holding a row
  (before sending, and after sending but before recording it) and a receiver outage (503s with
  Retry-After, then recovery); bodies verify with the function docs/webhooks.md ships, and a
  forged signature or an old timestamp does not;
- private destinations are refused with a message saying why (when not allowed);
- only the program's coordinators (or an admin) see and change its endpoints; CSRF applies.
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.webhooks import HttpWebhookSender
from config.bootstrap import bootstrap
from scheduler.core.webhooks import EVENT_TYPES
from scheduler.errors import UnsafeUrl
from scheduler.services import outgoing_webhooks
from scheduler.services.attendance import correct_attendance
from tests.support.pipeline import drain, make_person, make_program, make_ready_pair
from tests.support.web import sign_in_as
from tests.support.webhook_receiver import webhook_receiver
from web import create_app

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_verify():
    """The verify function docs/webhooks.md gives receivers, run as written."""
    text = DOCS.read_text()
    section = text[text.index("## Verifying a delivery"):]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_tandem_signature"]


def _rows(container, kind="deliver_webhook"):
    from adapters.storage.models import OutboxMessage
    with container.uow() as uow:
        rows = list(uow.session.query(OutboxMessage).filter(OutboxMessage.kind == kind))
        uow.commit()  # nothing changed; leaves the rows loaded (a rollback would expire them)
        return rows


def _deliveries(container):
    from adapters.storage.models import WebhookDelivery
    with container.uow() as uow:
        rows = list(uow.session.query(WebhookDelivery))
        uow.commit()
        return rows


def _take_lease(container, clock, subject_id: str) -> str:
    """Claim and start the delivery's outbox row as a worker would, then "die" (do nothing more)."""
    (row,) = [r for r in _rows(container) if r.subject_id == subject_id]
    with container.uow() as uow:
        claimed = uow.outbox.claim_due(clock.now(), limit=100, claim_timeout=container.config.claim_timeout,
                                       max_attempts=container.config.max_attempts)
        assert row.id in [r.id for r in claimed]
        others = [r.id for r in claimed if r.id != row.id]
        for other in uow.outbox.get_many(others):  # give the rest back, untouched
            other.status, other.enqueued_at, other.attempts = "pending", None, other.attempts - 1
        assert uow.outbox.acquire(row.id, clock.now(), container.config.claim_timeout)
        uow.commit()
    return row.id


def test_every_event_arrives_with_one_id_per_fact_across_a_crash_and_an_outage(pipeline):
    container, broker, _calendars, _mailer, clock = pipeline
    with webhook_receiver() as receiver:
        with container.uow() as uow:
            s = uow.session
            program = make_program(s, session_count=4)
            coordinator = make_person(container, s, "cora@example.org", "Europe/Berlin", provider=None)
            from adapters.storage.models import Membership
            s.add(Membership(program_id=program.id, person_id=coordinator.id, role="coordinator"))
            mentor = make_person(container, s, "mina@example.org", "Europe/Berlin")
            mentee = make_person(container, s, "ezra@example.org", "Europe/Berlin")
            s.flush()
            program_id, coordinator_id = program.id, coordinator.id
            uow.commit()
        endpoint = outgoing_webhooks.register_endpoint(container, program_id, coordinator_id, receiver.url(),
                                                       list(EVENT_TYPES))
        with container.uow() as uow:
            pair = make_ready_pair(container, uow.session, uow.session.get(type(program), program_id),
                                   mentor, mentee, clock.now())
            pair_id = pair.id
            uow.commit()
        receiver.answers = [503] * 50  # the receiver is down while the pair is booked
        drain(container, broker)
        with container.uow() as uow:
            occurrences = [(o.id, o.end) for o in uow.occurrences.of_pair(pair_id)]
        assert len(occurrences) == 4
        clock.advance(occurrences[1][1] - clock.now() + timedelta(hours=1))
        for (occ_id, _end), verdict in zip(occurrences[:2], ("held", "missed")):
            correct_attendance(container, occ_id, verdict, "the coordinator asked them", coordinator_id)
        correct_attendance(container, occurrences[0][0], "held", "asked again", coordinator_id)  # no new fact
        deliveries = _deliveries(container)
        expected = {d.event_id for d in deliveries}
        assert sorted(d.event_type for d in deliveries) == ["pair.booked", "session.held", "session.missed"]

        # A worker takes the session.held row and dies before sending anything; another takes the
        # session.missed row, sends it (the receiver is back for that one) and dies before marking
        # its outbox row done.
        held = next(d for d in deliveries if d.event_type == "session.held")
        missed = next(d for d in deliveries if d.event_type == "session.missed")
        _take_lease(container, clock, held.id)
        _take_lease(container, clock, missed.id)
        receiver.answers = []
        outgoing_webhooks.deliver_webhook(container, missed.id)
        assert receiver.event_ids()[-1] == missed.event_id

        # The outage goes on: 503s (one with Retry-After), then recovery.
        receiver.answers = [(503, {"Retry-After": "120"}), 503, 503]
        for _ in range(20):
            drain(container, broker)
            if all(r.status == "done" for r in _rows(container)):
                break
            clock.advance(container.config.claim_timeout + timedelta(minutes=1))  # leases run out; retries due
        assert all(r.status == "done" for r in _rows(container)), [(r.status, r.last_error) for r in _rows(container)]
        assert {d.status for d in _deliveries(container)} == {"delivered"}

    got = receiver.received
    assert set(receiver.event_ids(accepted=True)) == expected  # every event was taken (at least once)
    ids_per_fact: dict[tuple, set] = {}
    for r in got:
        event = r.event
        fact = (event["type"], event["data"].get("session_id") or event["data"].get("series_id"))
        ids_per_fact.setdefault(fact, set()).add(event["id"])
    assert len(ids_per_fact) == 3 and all(len(ids) == 1 for ids in ids_per_fact.values())
    accepted = receiver.event_ids(accepted=True)
    assert accepted.count(missed.event_id) == 1  # taken before the crash, not sent again
    assert accepted.count(held.event_id) == 1  # its worker died before sending; re-driven once
    assert len(receiver.event_ids()) > len(accepted)  # the outage's 503s were real tries
    assert all(r.event["program_id"] == program_id and r.headers["tandem-webhook-id"] == r.event["id"]
               for r in got)
    assert all("@" not in r.body.decode() for r in got)  # no email addresses in payloads

    verify = documented_verify()
    for r in got:
        signed_at = int(r.headers["tandem-webhook-timestamp"])
        header = r.headers["tandem-signature"]
        assert header.startswith(f"t={signed_at},v1=")
        assert verify(endpoint.secret, r.body, header, now=signed_at + 30)
        assert not verify(endpoint.secret, r.body, header, now=signed_at + 3600)  # replayed an hour later
        assert not verify("whsec_someone_else", r.body, header, now=signed_at)  # forged with another key
        assert not verify(endpoint.secret, r.body.replace(b'"id":"evt_', b'"id":"evt_0'), header, now=signed_at)
        forged = f"t={signed_at + 3000},v1={header.split('v1=')[1]}"  # a fresh timestamp on an old signature
        assert not verify(endpoint.secret, r.body, forged, now=signed_at + 3000)


def test_a_410_disables_the_endpoint(pipeline):
    container, broker, _calendars, _mailer, clock = pipeline
    with webhook_receiver() as receiver:
        with container.uow() as uow:
            program = make_program(uow.session)
            admin = make_person(container, uow.session, "ada@example.org", "UTC", provider=None)
            admin.is_admin = True
            ids = program.id, admin.id
            uow.commit()
        endpoint = outgoing_webhooks.register_endpoint(container, *ids, receiver.url(), ["pair.booked"])
        outgoing_webhooks.send_test_event(container, ids[0], endpoint.id, ids[1])
        receiver.answers = [410]
        drain(container, broker)
        (view,) = outgoing_webhooks.webhooks_section(container, *ids).endpoints
    assert not view.enabled and "410" in view.disabled_reason and view.last_status == "HTTP 410"
    assert len(receiver.received) == 1


# --- destinations -------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.0.0.8/hook",
                                 "http://169.254.169.254/latest/meta-data", "http://[::1]/hook",
                                 "http://224.0.0.1/hook", "http://0.0.0.0/hook"])
def test_private_destinations_are_refused_with_a_clear_message(url):
    with pytest.raises(UnsafeUrl, match="non-public address"):
        HttpWebhookSender().check_destination(url)
    with pytest.raises(UnsafeUrl, match="non-public address"):
        HttpWebhookSender().post(url, b"{}", {})


@pytest.mark.parametrize("url, message", [("ftp://example.org/x", "must start with https"),
                                          ("file:///etc/passwd", "must start with https"),
                                          ("http://example.org/x", "https only")])
def test_only_http_schemes_and_https_in_production(url, message):
    with pytest.raises(UnsafeUrl, match=message):
        HttpWebhookSender(require_https=True).check_destination(url)


def test_a_name_that_resolves_to_a_private_address_at_delivery_is_refused_before_connecting():
    calls = []

    def rebinding(host, port, type=0, **_):  # noqa: A002 - the getaddrinfo keyword
        calls.append(host)
        import socket
        address = "93.184.216.34" if len(calls) == 1 else "127.0.0.1"  # public at registration, then not
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    sender = HttpWebhookSender(resolver=rebinding)
    sender.check_destination("http://hooks.example.org/h")
    with pytest.raises(UnsafeUrl, match="non-public address"):
        sender.post("http://hooks.example.org/h", b"{}", {})
    assert calls == ["hooks.example.org", "hooks.example.org"]


# --- the pages --------------------------------------------------------------------------------------
@pytest.fixture
def strict_app(settings):
    """The web app of an installation that does not allow private destinations."""
    container = bootstrap(settings.with_overrides({"webhooks.allow_private_destinations": False}))
    yield create_app(container=container), container
    container.dispose()


def test_a_private_destination_is_refused_on_the_page(strict_app):
    from tests.support.web import seed
    app, container = strict_app
    seeded = seed(container)
    client = app.test_client()
    token = sign_in_as(client, seeded.coordinator_id)
    page = client.post(f"/programs/{seeded.program_id}/webhooks/",
                       data={"csrf_token": token, "url": "http://127.0.0.1:8080/hook", "events": ["pair.booked"]})
    assert page.status_code == 400
    assert "non-public address" in page.get_data(as_text=True)
    assert outgoing_webhooks.webhooks_section(container, seeded.program_id, seeded.coordinator_id).endpoints == ()


def test_coordinators_manage_their_program_s_endpoints_only(app, client, container, seeded):
    with webhook_receiver() as receiver:
        token = sign_in_as(client, seeded.coordinator_id)
        assert client.post(f"/programs/{seeded.program_id}/webhooks/",
                           data={"url": receiver.url(), "events": ["pair.booked"]}).status_code in (400, 403)  # no CSRF
        page = client.post(f"/programs/{seeded.program_id}/webhooks/",
                           data={"csrf_token": token, "url": receiver.url(), "events": ["pair.booked", "session.held"]})
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
        secret = re.search(r'id="secret-value" readonly value="(whsec_[^"]+)"', html).group(1)
        (endpoint,) = outgoing_webhooks.webhooks_section(container, seeded.program_id, seeded.coordinator_id).endpoints
        listing = client.get(f"/programs/{seeded.program_id}/webhooks/").get_data(as_text=True)
        assert receiver.url() in listing and secret not in listing  # shown once only
        assert 'id="webhooks"' in client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)

        # the coordinator of the other program sees none of it and can change none of it
        with container.uow() as uow:
            from adapters.storage.models import Membership, Person
            other = Person(email="b-coord@example.org", name="Bea")
            uow.session.add(other)
            uow.session.flush()
            uow.session.add(Membership(program_id=seeded.other_program_id, person_id=other.id, role="coordinator"))
            other_id = other.id
            uow.commit()
        token = sign_in_as(client, other_id)
        assert client.get(f"/programs/{seeded.program_id}/webhooks/").status_code == 403
        for action in ("delete", "test", "enable"):
            assert client.post(f"/programs/{seeded.program_id}/webhooks/{endpoint.id}/{action}",
                               data={"csrf_token": token}).status_code == 403
            assert client.post(f"/programs/{seeded.other_program_id}/webhooks/{endpoint.id}/{action}",
                               data={"csrf_token": token}).status_code == 404
        other_page = client.get(f"/programs/{seeded.other_program_id}/webhooks/").get_data(as_text=True)
        assert receiver.url() not in other_page

        # back as the program's coordinator: test event, disable, delete
        token = sign_in_as(client, seeded.coordinator_id)
        base = f"/programs/{seeded.program_id}/webhooks/{endpoint.id}"
        assert client.post(f"{base}/test", data={"csrf_token": token}).status_code == 302
        assert client.post(f"{base}/enable", data={"csrf_token": token, "enabled": "0"}).status_code == 302
        (view,) = outgoing_webhooks.webhooks_section(container, seeded.program_id, seeded.coordinator_id).endpoints
        assert not view.enabled
        assert client.post(f"{base}/delete", data={"csrf_token": token}).status_code == 302
        assert outgoing_webhooks.webhooks_section(container, seeded.program_id, seeded.coordinator_id).endpoints == ()
