"""Calendar push notices as they arrive at the webhooks: verify, queue the work, answer fast.

- Google push channels: the channel token must be our signed token for a connection; the
  ``sync`` resource state is the handshake and needs no work.
- Microsoft Graph subscriptions: every notification's ``clientState`` must be our signed token;
  lifecycle notices (``reauthorizationRequired``, ``subscriptionRemoved``) make the channel be
  replaced now, and every accepted notice (``missed`` too) queues a re-read of the calendar.
Nothing is fetched from a calendar here: outbox rows are written and the caller answers
(Graph wants an answer within 3 s). The HTTP handshakes themselves stay in ``web/webhooks.py``.
"""
from __future__ import annotations

import uuid
from typing import Iterable

from scheduler.ports import Dependencies
from scheduler.services.changes import enqueue_change, expire_watch, record_webhook_failure, verify_channel_token

RENEWING_LIFECYCLE = ("reauthorizationRequired", "subscriptionRemoved")
FAILING_LIFECYCLE = ("subscriptionRemoved", "missed")  # the channel gone or notices lost: counted in health


def receive_google_push(deps: Dependencies, *, token: str | None, state: str, channel_id: str,
                        message_number: str | None) -> bool:
    """One Google push notice. False when the channel token is not ours (refuse it)."""
    connection_id = verify_channel_token(deps.config.webhook_secret, token)
    if connection_id is None:
        return False
    if state == "sync":  # the channel's handshake
        return True
    number = message_number or uuid.uuid4().hex
    with deps.uow() as uow:
        enqueue_change(uow, connection_id, deps.clock.now(), f"google:{channel_id}:{number}")
        uow.commit()
    return True


def receive_graph_notices(deps: Dependencies, notices: Iterable[dict]) -> int:
    """A batch of Microsoft Graph notifications; how many carried our client state (forged or
    stale ones are ignored, never acted on)."""
    accepted = 0
    with deps.uow() as uow:
        now = deps.clock.now()
        for notice in notices:
            connection_id = verify_channel_token(deps.config.webhook_secret, notice.get("clientState"))
            if connection_id is None:
                continue
            accepted += 1
            lifecycle = notice.get("lifecycleEvent")
            if lifecycle in FAILING_LIFECYCLE:
                record_webhook_failure(uow, connection_id, f"Microsoft Graph sent {lifecycle}")
            if lifecycle in RENEWING_LIFECYCLE:
                # Either way the channel is replaced now, whatever its expiry said.
                expire_watch(uow, connection_id, now, forget=lifecycle == "subscriptionRemoved")
                uow.outbox.add_once("renew_watch", connection_id,
                                    f"renew_watch:{connection_id}:{lifecycle}:{uuid.uuid4().hex}", now)
            dedupe = f"graph:{notice.get('subscriptionId', '')}:{notice.get('resourceData', {}).get('id', '')}:" \
                     f"{notice.get('changeType', lifecycle or '')}:{uuid.uuid4().hex}"
            enqueue_change(uow, connection_id, now, dedupe)
        uow.commit()
    return accepted
