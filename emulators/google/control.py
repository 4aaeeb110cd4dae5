"""The control API over HTTP (``/_emulator/...``), the same operations as the Python methods
of :class:`GoogleEmulator`, for the demo and for tests in other processes."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask import Flask, jsonify, request

if TYPE_CHECKING:
    from emulators.google.server import GoogleEmulator


def register_control_routes(app: Flask, emu: "GoogleEmulator") -> None:

    def body() -> dict:
        return request.get_json(silent=True) or {}

    @app.get("/_emulator/state")
    def control_state():
        store = emu.store
        with store.lock:
            return jsonify({
                "base_url": emu.base_url,
                "users": sorted(store.users),
                "events": {c.id: len(c.events) for c in store.calendars.values()},
                "channels": [{"id": c.id, "calendar": c.calendar_id, "stopped": c.stopped} for c in store.channels.values()],
                "deliveries": [d.__dict__ for d in emu.deliveries],
                "faults_fired": list(emu.faults.fired),
            })

    @app.post("/_emulator/users")
    def control_add_user():
        data = body()
        return jsonify({"email": emu.add_user(data["email"], data.get("time_zone"))})

    @app.post("/_emulator/events")
    def control_add_event():
        data = body()
        event_id = emu.add_event(
            data["email"], datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"]),
            data.get("summary", "Busy"), rrule=data.get("rrule"), tz=data.get("tz"),
            transparent=bool(data.get("transparent")), cancelled=bool(data.get("cancelled")))
        return jsonify({"id": event_id})

    @app.get("/_emulator/events/<path:email>")
    def control_list_events(email: str):
        return jsonify({"items": emu.events(email)})

    @app.post("/_emulator/grants")
    def control_grant():
        data = body()
        scopes = tuple(data["scopes"]) if data.get("scopes") else None
        return jsonify(emu.grant(data["email"], scopes) if scopes else emu.grant(data["email"]))

    @app.post("/_emulator/faults")
    def control_add_fault():
        data = body()
        kind = data.pop("kind")
        emu.faults.add(kind, **data)
        return jsonify({"armed": kind})

    @app.delete("/_emulator/faults")
    def control_clear_faults():
        emu.faults.clear()
        return jsonify({"cleared": True})

    @app.post("/_emulator/revoke")
    def control_revoke():
        emu.revoke(body()["email"])
        return jsonify({"revoked": True})

    @app.post("/_emulator/expire_tokens")
    def control_expire_tokens():
        emu.expire_tokens(body().get("email"))
        return jsonify({"expired": True})

    @app.post("/_emulator/stale_sync")
    def control_stale_sync():
        emu.invalidate_sync_tokens(body().get("email"))
        return jsonify({"invalidated": True})

    @app.post("/_emulator/auto_approve")
    def control_auto_approve():
        emu.auto_approve = body().get("login", True)
        return jsonify({"auto_approve": emu.auto_approve})

    @app.post("/_emulator/responses")
    def control_set_response():
        data = body()
        emu.set_response(data["organizer"], data["event_id"], data["attendee"], data["status"])
        return jsonify({"ok": True})

    @app.post("/_emulator/free_busy_errors")
    def control_free_busy_error():
        data = body()
        emu.free_busy_errors[data["email"].lower()] = data.get("reason", "internalError")
        return jsonify({"ok": True})

    @app.post("/_emulator/quota")
    def control_quota():
        data = body()
        emu.set_quota(data.get("per_user"), float(data.get("window_s", 60.0)))
        return jsonify({"quota": emu.quota.limit})

    @app.post("/_emulator/latency")
    def control_latency():
        emu.set_latency(float(body().get("seconds", 0.0)))
        return jsonify({"latency_s": emu.latency_s})
