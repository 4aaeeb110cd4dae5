"""Webhook endpoints: handshakes, verification, and fast enqueueing (SQLite and PostgreSQL)."""
from sqlalchemy import select

from adapters.storage.models import CalendarConnection, OutboxMessage, Person
from datetime import datetime, timedelta, timezone

from scheduler.services.changes import channel_token, verify_channel_token
from web import create_app


def _app_with_connection(container):
    with container.uow() as uow:
        person = Person(email="ada@example.org", tz="UTC")
        conn = CalendarConnection(person=person, provider="google", account_email="ada@example.org")
        conn.watch = {"watch_id": "ch1", "resource_id": "r1", "channel": "chan1",
                      "expires_at": (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()}
        uow.session.add(conn)
        uow.commit()
        conn_id = conn.id
    return create_app(container=container).test_client(), conn_id


def _rows(container):
    with container.uow() as uow:
        return [(r.kind, r.subject_id) for r in uow.session.scalars(select(OutboxMessage))]


def test_channel_tokens_name_and_prove_their_connection():
    token = channel_token("s3cret", "google", "abc123", "chan1")
    assert verify_channel_token("s3cret", "google", token) == ("abc123", "chan1")
    assert verify_channel_token("other", "google", token) is None
    assert verify_channel_token("s3cret", "google", "abc123.chan1.forged") is None
    assert verify_channel_token("s3cret", "google", "xyz." + token.split(".", 1)[1]) is None
    assert verify_channel_token("s3cret", "google", None) is None


def test_google_push_is_verified_and_queued(container):
    client, conn_id = _app_with_connection(container)
    token = channel_token(container.settings.security.webhook_secret, "google", conn_id, "chan1")
    headers = {"X-Goog-Channel-ID": "ch1", "X-Goog-Channel-Token": token, "X-Goog-Resource-State": "sync"}
    assert client.post("/webhooks/google", headers=headers).status_code == 200
    assert _rows(container) == []  # the handshake needs no work
    headers.update({"X-Goog-Resource-State": "exists", "X-Goog-Message-Number": "2"})
    assert client.post("/webhooks/google", headers=headers).status_code == 200
    assert client.post("/webhooks/google", headers=headers).status_code == 200  # a redelivery
    assert _rows(container) == [("handle_calendar_change", conn_id)]
    forged = dict(headers, **{"X-Goog-Channel-Token": conn_id + ".chan1.nope", "X-Goog-Message-Number": "3"})
    assert client.post("/webhooks/google", headers=forged).status_code == 200  # ignored quietly
    assert len(_rows(container)) == 1


def test_graph_validation_handshake_is_echoed_as_text(container):
    client, _ = _app_with_connection(container)
    reply = client.post("/webhooks/microsoft?validationToken=Validation%3A+abc+123")
    assert reply.status_code == 200 and reply.mimetype == "text/plain"
    assert reply.get_data(as_text=True) == "Validation: abc 123"


def test_graph_notifications_need_our_client_state(container):
    client, conn_id = _app_with_connection(container)
    good = channel_token(container.settings.security.webhook_secret, "microsoft", conn_id, "chan1")
    body = {"value": [{"subscriptionId": "ch1", "clientState": good, "changeType": "updated",
                       "resourceData": {"id": "e1"}},
                      {"subscriptionId": "s2", "clientState": "someone-else", "changeType": "updated"}]}
    assert client.post("/webhooks/microsoft", json=body).status_code == 202
    assert _rows(container) == [("handle_calendar_change", conn_id)]
    assert client.post("/webhooks/microsoft", json={"value": [{"clientState": "x"}]}).status_code == 202
    assert len(_rows(container)) == 1  # ignored quietly
    lifecycle = {"value": [{"subscriptionId": "ch1", "clientState": good, "lifecycleEvent": "reauthorizationRequired"}]}
    assert client.post("/webhooks/microsoft", json=lifecycle).status_code == 202
    kinds = sorted(kind for kind, _ in _rows(container))
    assert kinds == ["handle_calendar_change", "handle_calendar_change", "renew_watch"]
    assert client.post("/webhooks/microsoft", json={}).status_code == 400
