"""Webhook endpoints for calendar push notices: parse the request, hand it to
``scheduler.services.webhooks``, answer fast.

- Google push channels: ``X-Goog-Channel-Token`` must be the current channel's token of a
  connection; ``X-Goog-Resource-State: sync`` is the handshake. The answer is always an empty 200.
- Microsoft Graph subscriptions: the ``validationToken`` handshake is echoed as text/plain;
  a body that is not a JSON object with a ``value`` list of notification objects (``clientState``
  a string, ``resourceData`` an object) is a 400 saying so; any other body is an empty 202.
Unknown, forged, stale and replayed notices are ignored quietly (see
``scheduler.services.webhooks``): they get the same answer as good ones, so the endpoints are no
oracle for tokens, and a provider never retries them.
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
    webhooks.receive_google_push(
        deps.container(), token=request.headers.get("X-Goog-Channel-Token"),
        state=request.headers.get("X-Goog-Resource-State", ""),
        channel_id=request.headers.get("X-Goog-Channel-ID", ""),
        message_number=request.headers.get("X-Goog-Message-Number"))
    return Response(status=200)


@bp.post("/microsoft")
@exempt
def microsoft():
    token = request.args.get("validationToken")
    if token is not None:  # subscription handshake: echo within 10 s, as text/plain
        return Response(token, status=200, mimetype="text/plain")
    notices = _graph_notices(request.get_json(silent=True))
    if notices is None:
        return Response('no notifications: expected a JSON object with a "value" list of notification objects '
                        '(each with a string "clientState"), as Microsoft Graph sends', status=400,
                        mimetype="text/plain")
    webhooks.receive_graph_notices(deps.container(), notices)
    return Response(status=202)


def _graph_notices(body) -> list[dict] | None:
    """The notifications of a Graph body, or None when its shape is not Graph's."""
    notices = body.get("value") if isinstance(body, dict) else None
    if not isinstance(notices, list) or not notices:
        return None
    for notice in notices:
        if not isinstance(notice, dict):
            return None
        if not isinstance(notice.get("clientState", ""), str) or \
                not isinstance(notice.get("resourceData", {}), dict) or \
                not all(isinstance(notice.get(key, ""), str)
                        for key in ("subscriptionId", "changeType", "lifecycleEvent")):
            return None
    return notices


def init_app(app) -> None:
    app.register_blueprint(bp)
