"""Webhook endpoints for calendar push notices: verify, answer fast, queue the work.

- Google push channels: ``X-Goog-Channel-Token`` must be our signed token for a connection;
  ``X-Goog-Resource-State: sync`` is the handshake and needs no work.
- Microsoft Graph subscriptions: the ``validationToken`` handshake is echoed as text/plain;
  every notification's ``clientState`` must be our signed token; lifecycle notices
  (``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``) renew or re-read.
Nothing is fetched from a calendar inside the request: an outbox row is written and the
reply goes out (Graph wants an answer within 3 s).
"""
from __future__ import annotations

import uuid

from flask import Blueprint, Response, current_app, request

from adapters.storage.outbox import add_outbox
from scheduler.services.changes import enqueue_change, verify_channel_token
from web.security.csrf import exempt

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def _container():
    return current_app.extensions["tandem"]


def _secret() -> str:
    return _container().settings.security.webhook_secret


@bp.post("/google")
@exempt
def google():
    connection_id = verify_channel_token(_secret(), request.headers.get("X-Goog-Channel-Token"))
    if connection_id is None:
        return Response("unknown channel", status=403, mimetype="text/plain")
    state = request.headers.get("X-Goog-Resource-State", "")
    if state == "sync":
        return Response(status=200)
    container = _container()
    number = request.headers.get("X-Goog-Message-Number") or uuid.uuid4().hex
    with container.uow() as uow:
        enqueue_change(uow.session, connection_id, container.clock.now(),
                       f"google:{request.headers.get('X-Goog-Channel-ID', '')}:{number}")
        uow.commit()
    return Response(status=200)


@bp.post("/microsoft")
@exempt
def microsoft():
    token = request.args.get("validationToken")
    if token is not None:  # subscription handshake: echo within 10 s, as text/plain
        return Response(token, status=200, mimetype="text/plain")
    body = request.get_json(silent=True) or {}
    notices = body.get("value")
    if not isinstance(notices, list) or not notices:
        return Response("no notifications", status=400, mimetype="text/plain")
    container = _container()
    accepted = 0
    with container.uow() as uow:
        now = container.clock.now()
        for notice in notices:
            connection_id = verify_channel_token(_secret(), notice.get("clientState"))
            if connection_id is None:
                continue  # forged or stale: ignored, never acted on
            accepted += 1
            lifecycle = notice.get("lifecycleEvent")
            if lifecycle in ("reauthorizationRequired", "subscriptionRemoved"):
                # Either way the channel is replaced now, whatever its expiry said.
                _expire_watch(uow.session, connection_id, now, forget=lifecycle == "subscriptionRemoved")
                add_outbox(uow.session, "renew_watch", connection_id,
                           f"renew_watch:{connection_id}:{lifecycle}:{uuid.uuid4().hex}", now)
            dedupe = f"graph:{notice.get('subscriptionId', '')}:{notice.get('resourceData', {}).get('id', '')}:" \
                     f"{notice.get('changeType', lifecycle or '')}:{uuid.uuid4().hex}"
            enqueue_change(uow.session, connection_id, now, dedupe)
        uow.commit()
    if not accepted:
        return Response("unknown subscription", status=403, mimetype="text/plain")
    return Response(status=202)


def _expire_watch(session, connection_id: str, now, *, forget: bool) -> None:
    """Make ``ensure_watch`` replace the channel: drop it (removed) or mark it expired now."""
    from adapters.storage.models import CalendarConnection

    connection = session.get(CalendarConnection, connection_id)
    if connection is None:
        return
    if forget or not connection.watch:
        connection.watch = None
    else:
        connection.watch = {**connection.watch, "expires_at": now.isoformat()}


def init_app(app) -> None:
    app.register_blueprint(bp)
