"""Issue 15, Low 8: webhook tokens were static (one captured token replayed 200 times made 200
jobs) and the Google token was accepted as a Graph ``clientState``.

Each push channel now has its own secret (a random channel value in the token, HMAC-bound to the
connection and to the endpoint: Google or Graph), which dies when the channel is replaced; Google
message numbers must grow; Graph notifications are de-duplicated by what they report; unknown or
stale channels are ignored quietly (the same answer as a good notice: no oracle for tokens).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from adapters.storage.models import CalendarConnection, OutboxMessage, Person
from scheduler.services.changes import channel_token, new_channel, verify_channel_token
from web import create_app

SECRET_OF = lambda container: container.settings.security.webhook_secret  # noqa: E731


def _connection(container, provider: str):
    channel = new_channel()
    with container.uow() as uow:
        conn = CalendarConnection(person=Person(email=f"{provider}@example.org", tz="UTC"), provider=provider,
                                  account_email=f"{provider}@example.org")
        conn.watch = {"watch_id": "w1", "resource_id": "r1", "channel": channel,
                      "expires_at": (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()}
        uow.session.add(conn)
        uow.commit()
        conn_id = conn.id
    return create_app(container=container).test_client(), conn_id, channel


def _jobs(container, kind="handle_calendar_change"):
    with container.uow() as uow:
        return list(uow.session.scalars(select(OutboxMessage.idempotency_key).where(OutboxMessage.kind == kind)))


def _google(client, token, number, channel_id="w1"):
    return client.post("/webhooks/google", headers={
        "X-Goog-Channel-ID": channel_id, "X-Goog-Channel-Token": token, "X-Goog-Resource-State": "exists",
        "X-Goog-Message-Number": str(number)})


def test_a_token_is_bound_to_its_endpoint_connection_and_channel():
    token = channel_token("s3cret", "google", "c1", "chan")
    assert verify_channel_token("s3cret", "google", token) == ("c1", "chan")
    assert verify_channel_token("s3cret", "microsoft", token) is None  # not a Graph clientState
    assert verify_channel_token("other", "google", token) is None
    assert verify_channel_token("s3cret", "google", token.replace("chan", "chan2")) is None
    assert verify_channel_token("s3cret", "google", "c1.chan") is None
    assert verify_channel_token("s3cret", "google", "x" * 5000) is None
    assert new_channel() != new_channel()


def test_a_captured_google_token_replayed_200_times_makes_one_job(container):
    client, conn_id, channel = _connection(container, "google")
    token = channel_token(SECRET_OF(container), "google", conn_id, channel)
    for _ in range(200):
        assert _google(client, token, 5).status_code == 200
    for number in (4, 3, 5):  # older numbers are replays too
        assert _google(client, token, number).status_code == 200
    assert len(_jobs(container)) == 1
    assert _google(client, token, 6).status_code == 200  # the next real message
    assert len(_jobs(container)) == 2


def test_a_google_notice_without_a_message_number_or_for_another_channel_id_makes_no_job(container):
    client, conn_id, channel = _connection(container, "google")
    token = channel_token(SECRET_OF(container), "google", conn_id, channel)
    assert _google(client, token, "").status_code == 200
    assert _google(client, token, 9, channel_id="someone-elses").status_code == 200
    assert _jobs(container) == []


def test_the_google_token_is_not_a_graph_client_state(container):
    client, conn_id, channel = _connection(container, "microsoft")
    google_token = channel_token(SECRET_OF(container), "google", conn_id, channel)
    body = {"value": [{"subscriptionId": "w1", "clientState": google_token, "changeType": "updated",
                       "resourceData": {"id": "e1", "@odata.etag": "W/\"1\""}}]}
    assert client.post("/webhooks/microsoft", json=body).status_code == 202
    assert _jobs(container) == []


def test_a_replayed_graph_notification_makes_one_job_and_a_new_change_another(container):
    client, conn_id, channel = _connection(container, "microsoft")
    token = channel_token(SECRET_OF(container), "microsoft", conn_id, channel)
    notice = {"subscriptionId": "w1", "clientState": token, "changeType": "updated",
              "resourceData": {"id": "e1", "@odata.etag": "W/\"1\""}}
    for _ in range(50):
        assert client.post("/webhooks/microsoft", json={"value": [notice]}).status_code == 202
    assert len(_jobs(container)) == 1
    changed = dict(notice, resourceData={"id": "e1", "@odata.etag": "W/\"2\""})
    client.post("/webhooks/microsoft", json={"value": [changed]})
    assert len(_jobs(container)) == 2
    lifecycle = {"subscriptionId": "w1", "clientState": token, "lifecycleEvent": "reauthorizationRequired"}
    for _ in range(20):
        client.post("/webhooks/microsoft", json={"value": [lifecycle]})
    assert len(_jobs(container, "renew_watch")) == 1


def test_a_replaced_channels_token_is_dead(container):
    client, conn_id, channel = _connection(container, "google")
    old = channel_token(SECRET_OF(container), "google", conn_id, channel)
    with container.uow() as uow:
        conn = uow.session.get(CalendarConnection, conn_id)
        conn.watch = {**conn.watch, "channel": new_channel()}
        uow.commit()
    assert _google(client, old, 7).status_code == 200
    assert _jobs(container) == []


def test_unknown_and_forged_channels_get_the_same_quiet_answer(container):
    client, conn_id, channel = _connection(container, "google")
    good = channel_token(SECRET_OF(container), "google", conn_id, channel)
    answers = {(r.status_code, r.get_data()) for r in (
        _google(client, good, 1), _google(client, conn_id + ".x.forged", 2), _google(client, "", 3))}
    assert len(answers) == 1
    graph = {(r.status_code, r.get_data()) for r in (
        client.post("/webhooks/microsoft", json={"value": [{"subscriptionId": "w1", "clientState": "x"}]}),
        client.post("/webhooks/microsoft", json={"value": [{"subscriptionId": "zz", "clientState": good}]}))}
    assert graph == {(202, b"")}
