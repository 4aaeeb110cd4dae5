"""Push notices as the webhooks hand them over, on the in-memory unit of work."""
from __future__ import annotations

from datetime import timedelta

from scheduler.services import webhooks
from scheduler.services.changes import channel_token
from tests.unit.services.booked import outbox


def _connection(deps, seed, endpoint="microsoft"):
    seeded = seed(connected=True)
    with deps.uow() as uow:
        connection = uow.connections.usable_of(seeded.mentor_id)[0]
        connection.watch = {"watch_id": "w1", "resource_id": "r1", "channel": "chan1",
                            "expires_at": (deps.clock.now() + timedelta(days=5)).isoformat()}
        uow.commit()
    return connection.id, channel_token(deps.config.webhook_secret, endpoint, connection.id, "chan1")


def test_google_push_is_verified_and_queued_once_per_message(deps, seed):
    connection_id, token = _connection(deps, seed, "google")
    notice = dict(state="exists", channel_id="w1", message_number="7")
    assert not webhooks.receive_google_push(deps, token=connection_id + ".forged", **notice)
    assert not webhooks.receive_google_push(deps, token=None, **notice)
    assert webhooks.receive_google_push(deps, token=token, **dict(notice, state="sync"))
    assert outbox(deps) == []  # neither a forgery nor the handshake makes work
    assert webhooks.receive_google_push(deps, token=token, **notice)
    assert not webhooks.receive_google_push(deps, token=token, **notice)  # a redelivery: ignored
    [row] = outbox(deps)
    assert (row.kind, row.subject_id, row.idempotency_key) == (
        "handle_calendar_change", connection_id, f"change:{connection_id}:google:w1:7")


def test_graph_notices_need_our_client_state(deps, seed):
    connection_id, token = _connection(deps, seed)
    accepted = webhooks.receive_graph_notices(deps, [
        {"subscriptionId": "w1", "clientState": token, "changeType": "updated", "resourceData": {"id": "e1"}},
        {"subscriptionId": "s2", "clientState": "someone-else", "changeType": "updated"}])
    assert accepted == 1
    assert [(m.kind, m.subject_id) for m in outbox(deps)] == [("handle_calendar_change", connection_id)]
    assert webhooks.receive_graph_notices(deps, [{"clientState": "x"}]) == 0
    assert len(outbox(deps)) == 1


def test_graph_reauthorization_expires_the_channel_and_queues_its_renewal(deps, seed):
    connection_id, token = _connection(deps, seed)
    webhooks.receive_graph_notices(deps, [{"subscriptionId": "w1", "clientState": token,
                                           "lifecycleEvent": "reauthorizationRequired"}])
    with deps.uow() as uow:
        watch = uow.connections.get(connection_id).watch
    assert watch["watch_id"] == "w1" and watch["expires_at"] == deps.clock.now().isoformat()
    assert sorted(m.kind for m in outbox(deps)) == ["handle_calendar_change", "renew_watch"]


def test_graph_subscription_removed_forgets_the_channel(deps, seed):
    connection_id, token = _connection(deps, seed)
    webhooks.receive_graph_notices(deps, [{"subscriptionId": "w1", "clientState": token,
                                           "lifecycleEvent": "subscriptionRemoved"}])
    with deps.uow() as uow:
        assert uow.connections.get(connection_id).watch is None
    assert [m.kind for m in outbox(deps, "renew_watch")] == ["renew_watch"]


def test_graph_notices_of_lost_notifications_or_a_removed_subscription_count_in_health(deps, seed):
    connection_id, token = _connection(deps, seed)
    notices = [{"clientState": token, "lifecycleEvent": "missed", "subscriptionId": "w1"},
               {"clientState": token, "lifecycleEvent": "reauthorizationRequired", "subscriptionId": "w1"},
               {"clientState": connection_id + ".forged", "lifecycleEvent": "missed", "subscriptionId": "w1"}]
    assert webhooks.receive_graph_notices(deps, notices) == 2
    with deps.uow() as uow:
        watch = uow.connections.get(connection_id).watch
    assert watch["failures"] == 1 and "missed" in watch["error"]  # reauthorization is routine, not a failure
