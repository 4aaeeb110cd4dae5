"""``POST /calendar/v3/freeBusy``: busy spans only, never titles, per-calendar ``errors``."""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from flask import Flask, jsonify

from emulators.google.api_auth import authenticate
from emulators.google.errors import ApiError, bad_request
from emulators.google.events_model import busy_intervals
from emulators.google.recurrence import rfc3339, zone_info
from emulators.google.request_body import json_body
from emulators.google.schema import parse_rfc3339, validate
from emulators.google.scopes import READ_FREEBUSY

if TYPE_CHECKING:
    from emulators.google.server import GoogleEmulator

MAX_WINDOW = timedelta(days=90)
MAX_CALENDARS = 50


def register_freebusy_routes(app: Flask, emu: "GoogleEmulator") -> None:
    store = emu.store

    @app.post("/calendar/v3/freeBusy")
    def free_busy_query():
        caller = authenticate(store, READ_FREEBUSY)
        body = json_body()
        validate(body, "FreeBusyRequest")
        for name in ("timeMin", "timeMax"):
            if not body.get(name):
                raise bad_request(f"Missing {name} parameter.", reason="required", location=name)
        time_min, time_max = parse_rfc3339(body["timeMin"], "timeMin"), parse_rfc3339(body["timeMax"], "timeMax")
        if time_max <= time_min:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.", domain="calendar",
                           location="timeMax")
        if time_max - time_min > MAX_WINDOW:
            raise ApiError(400, "timeRangeTooLong", "The requested time range is too long.", domain="calendar",
                           location="timeMax")
        expansion = int(body.get("calendarExpansionMax", MAX_CALENDARS))
        if expansion > MAX_CALENDARS or int(body.get("groupExpansionMax", 100)) > 100:
            raise bad_request("Invalid value for calendarExpansionMax / groupExpansionMax (max 50 / 100).",
                              reason="invalidParameter")
        items = body.get("items", [])
        if len(items) > expansion:
            raise ApiError(400, "tooManyCalendarsRequested", "Too many calendars requested.", domain="calendar")
        zone = zone_info(body.get("timeZone") or "UTC")
        calendars: dict[str, dict] = {}
        for item in items:
            wanted = item.get("id", "")
            email = caller.email if wanted == "primary" else wanted.lower()
            forced = emu.free_busy_errors.get(email)
            if email not in store.calendars or forced or not emu.may_read_free_busy(caller.email, email):
                calendars[wanted] = {"errors": [{"domain": "global", "reason": forced or "notFound"}], "busy": []}
                continue
            spans = busy_intervals(store, email, time_min, time_max)
            calendars[wanted] = {"busy": [{"start": rfc3339(s.astimezone(zone)), "end": rfc3339(e.astimezone(zone))}
                                          for s, e in spans]}
        return jsonify({"kind": "calendar#freeBusy", "timeMin": rfc3339(time_min.astimezone(zone)),
                        "timeMax": rfc3339(time_max.astimezone(zone)), "calendars": calendars})
