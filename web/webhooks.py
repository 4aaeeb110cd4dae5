"""Webhook endpoints for calendar push notices: parse the request, hand it to
``scheduler.services.webhooks``, answer fast.

- Google push channels: ``X-Goog-Channel-Token`` must be our signed token for a connection
  (403 otherwise); ``X-Goog-Resource-State: sync`` is the handshake.
- Microsoft Graph subscriptions: the ``validationToken`` handshake is echoed as text/plain;
  a body without notifications is a 400; when no notification carries our ``clientState``
  the answer is 403, else 202.
Nothing is fetched from a calendar inside the request (Graph wants an answer within 3 s).
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from scheduler.services import webhooks
from web import deps
from web.security.csrf import exempt

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/google")
@exempt
def google():
    known = webhooks.receive_google_push(
        deps.container(), token=request.headers.get("X-Goog-Channel-Token"),
        state=request.headers.get("X-Goog-Resource-State", ""),
        channel_id=request.headers.get("X-Goog-Channel-ID", ""),
        message_number=request.headers.get("X-Goog-Message-Number"))
    if not known:
        return Response("unknown channel", status=403, mimetype="text/plain")
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
    if not webhooks.receive_graph_notices(deps.container(), notices):
        return Response("unknown subscription", status=403, mimetype="text/plain")
    return Response(status=202)


def init_app(app) -> None:
    app.register_blueprint(bp)
