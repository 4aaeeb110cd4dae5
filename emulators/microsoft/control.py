"""The HTTP control API at ``/_emulator/<action>``: the same back door as the Python methods
of :class:`emulators.microsoft.GraphEmulator`, for tests and tools in other processes.

Every action takes a JSON body (POST) and answers JSON. Actions:

- ``users`` ``{email, personal?, time_zone?}`` -> ``{email, oid, tid}``
- ``clients`` ``{client_id, client_secret?, redirect_uris?}``
- ``auto-approve`` ``{enabled}``; ``invitations`` ``{enabled}`` (copy meetings to attendees)
- ``events`` ``{email, subject, start, end, show_as?, recurrence?, sensitivity?}`` (ISO instants) -> ``{id}``
- ``faults`` ``{status?, count?, path_contains?, retry_after?, delay?, after?}``
- ``expire-access-tokens`` ``{email?}``; ``revoke-refresh-tokens`` / ``expire-refresh-tokens`` ``{email}``
- ``invalidate-delta-tokens`` ``{}``
- ``lifecycle`` ``{subscription_id, event}``
- ``throttle`` ``{limit, window}`` (``limit: null`` turns it off); ``latency`` ``{seconds}``
- ``respond`` ``{email, event_id, attendee, response}``
- ``requests`` / ``notifications`` / ``subscriptions`` (GET): logs and state
- ``reset`` ``{}``: forget requests, notifications and faults
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from .replies import json_reply

if TYPE_CHECKING:  # pragma: no cover
    from .emulator import GraphEmulator


class Control:
    """Dispatches ``/_emulator/<action>`` requests to the emulator's Python control methods."""
    def __init__(self) -> None:
        self.emulator: "GraphEmulator | None" = None

    def handle(self, request: Request, action: str) -> Response:
        """Run one control action; 400 with the reason when it fails."""
        emu = self.emulator
        assert emu is not None, "control API used before the emulator was attached"
        body = request.get_json(silent=True) or {}
        try:
            result = self._run(emu, action, body)
        except (KeyError, ValueError, TypeError) as exc:
            return json_reply({"error": type(exc).__name__, "message": str(exc)}, 400)
        if result is None:
            return json_reply({"ok": True})
        return json_reply(result)

    def _run(self, emu: "GraphEmulator", action: str, body: dict):
        if action == "users":
            user = emu.add_user(body["email"], personal=bool(body.get("personal")),
                                time_zone=body.get("time_zone", "UTC"), tenant=body.get("tenant"))
            return {"email": user.email, "oid": user.oid, "tid": user.tid}
        if action == "clients":
            emu.register_client(body["client_id"], body.get("client_secret"), tuple(body.get("redirect_uris", ())))
            return None
        if action == "auto-approve":
            emu.set_auto_approve(bool(body.get("enabled", True)))
            return None
        if action == "invitations":
            emu.set_deliver_invitations(bool(body.get("enabled", True)))
            return None
        if action == "events":
            event_id = emu.add_event(body["email"], body.get("subject", ""),
                                     datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["end"]),
                                     show_as=body.get("show_as", "busy"), recurrence=body.get("recurrence"),
                                     sensitivity=body.get("sensitivity", "normal"))
            return {"id": event_id}
        if action == "faults":
            emu.fail_next(body.get("status"), count=int(body.get("count", 1)),
                          path_contains=body.get("path_contains", "/v1.0/"),
                          retry_after=body.get("retry_after"), delay=float(body.get("delay", 0)),
                          after=bool(body.get("after", False)))
            return None
        if action == "expire-access-tokens":
            return {"expired": emu.expire_access_tokens(body.get("email"))}
        if action == "revoke-refresh-tokens":
            return {"revoked": emu.revoke_refresh_tokens(body["email"])}
        if action == "expire-refresh-tokens":
            return {"expired": emu.expire_refresh_tokens(body["email"])}
        if action == "invalidate-delta-tokens":
            emu.invalidate_delta_tokens()
            return None
        if action == "lifecycle":
            emu.trigger_lifecycle(body["subscription_id"], body["event"])
            return None
        if action == "throttle":
            emu.set_throttle(body.get("limit"), float(body.get("window", 600)))
            return None
        if action == "latency":
            emu.set_latency(float(body.get("seconds", 0)))
            return None
        if action == "respond":
            emu.respond(body["email"], body["event_id"], body["attendee"], body["response"])
            return None
        if action == "requests":
            return {"value": emu.requests()}
        if action == "notifications":
            emu.flush_notifications()
            return {"value": emu.notifications()}
        if action == "subscriptions":
            return {"value": [{"id": s.id, "resource": s.resource, "expirationDateTime": s.expires_at.isoformat(),
                               "notificationUrl": s.notification_url} for s in emu.subscriptions()]}
        if action == "reset":
            emu.reset_logs()
            return None
        raise KeyError(f"unknown control action {action!r}")
