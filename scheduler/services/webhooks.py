"""Calendar push notices as they arrive at the webhooks: verify, queue the work, answer fast.

- Every channel has its own secret (:func:`~scheduler.services.changes.channel_token`: the
  connection, a random per-channel value and the endpoint, HMAC-signed, compared in constant
  time); a notice counts only when its token names the connection's *current* channel (a
  replaced channel's token is dead) and, where the provider says which channel it is, that id.
- Google push channels: the ``sync`` resource state is the handshake and needs no work; other
  notices need a message number larger than the last one taken for the channel (kept in
  ``connection.watch["last_message"]``): a replayed or older number makes nothing.
- Microsoft Graph subscriptions: lifecycle notices (``reauthorizationRequired``,
  ``subscriptionRemoved``) make the channel be replaced now (once per channel and event); a
  change notice queues a re-read of the calendar once per what it reports (subscription,
  resource, change type and the resource's ``@odata.etag``, or the whole notice's digest).
- Unknown, forged or stale notices are ignored quietly: the endpoint answers them as it answers
  good ones, so the answer tells nothing about a token.
Nothing is fetched from a calendar here: outbox rows are written and the caller answers
(Graph wants an answer within 3 s). The HTTP handshakes themselves stay in ``web/webhooks.py``.
"""
from __future__ import annotations

import hashlib
import json
from typing import Iterable

from scheduler.ports import Dependencies
from scheduler.services.changes import (enqueue_change, expire_watch, live_channel, record_webhook_failure,
                                        verify_channel_token)

RENEWING_LIFECYCLE = ("reauthorizationRequired", "subscriptionRemoved")
FAILING_LIFECYCLE = ("subscriptionRemoved", "missed")  # the channel gone or notices lost: counted in health
MAX_MESSAGE_NUMBER_DIGITS = 20


def receive_google_push(deps: Dependencies, *, token: str | None, state: str, channel_id: str,
                        message_number: str | None) -> bool:
    """One Google push notice. True when it was a good notice of a live channel (work queued
    unless it was the handshake or a replay); False when it was ignored."""
    verified = verify_channel_token(deps.config.webhook_secret, "google", token)
    if verified is None:
        return False
    connection_id, channel = verified
    number = message_number or ""
    if state != "sync" and not (number.isdigit() and len(number) <= MAX_MESSAGE_NUMBER_DIGITS):
        return False
    with deps.uow() as uow:
        connection = live_channel(uow, connection_id, channel, channel_id)
        if connection is None:
            return False
        if state == "sync":  # the channel's handshake
            return True
        last = int(connection.watch.get("last_message") or 0)
        if int(number) <= last:
            return False  # a replay, or older than what was taken
        connection.watch = {**connection.watch, "last_message": int(number)}
        enqueue_change(uow, connection_id, deps.clock.now(), f"google:{channel_id}:{number}")
        uow.commit()
    return True


def _graph_dedupe(notice: dict) -> str:
    """What a Graph notification reports, as a key: the same report twice is one job."""
    data = notice.get("resourceData") or {}
    etag = data.get("@odata.etag") if isinstance(data, dict) else None
    what = etag if isinstance(etag, str) and etag else \
        hashlib.sha256(json.dumps(notice, sort_keys=True, default=str).encode()).hexdigest()
    return hashlib.sha256("\x1f".join((str(notice.get("subscriptionId", "")), str(data.get("id", "")),
                                        str(notice.get("changeType") or notice.get("lifecycleEvent") or ""),
                                        what)).encode()).hexdigest()[:40]


def receive_graph_notices(deps: Dependencies, notices: Iterable[dict]) -> int:
    """A batch of Microsoft Graph notifications; how many came from a live channel of ours
    (forged, stale or replayed ones are ignored, never acted on)."""
    accepted = 0
    with deps.uow() as uow:
        now = deps.clock.now()
        for notice in notices:
            verified = verify_channel_token(deps.config.webhook_secret, "microsoft", notice.get("clientState"))
            if verified is None:
                continue
            connection_id, channel = verified
            if live_channel(uow, connection_id, channel, str(notice.get("subscriptionId") or "")) is None:
                continue
            accepted += 1
            lifecycle = notice.get("lifecycleEvent")
            if lifecycle in FAILING_LIFECYCLE:
                record_webhook_failure(uow, connection_id, f"Microsoft Graph sent {lifecycle}")
            if lifecycle in RENEWING_LIFECYCLE:
                # Either way the channel is replaced now, whatever its expiry said (once per channel).
                expire_watch(uow, connection_id, now, forget=lifecycle == "subscriptionRemoved")
                uow.outbox.add_once("renew_watch", connection_id,
                                    f"renew_watch:{connection_id}:{lifecycle}:{channel}", now)
            enqueue_change(uow, connection_id, now, f"graph:{_graph_dedupe(notice)}")
        uow.commit()
    return accepted
