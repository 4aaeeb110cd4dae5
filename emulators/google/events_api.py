"""Calendar v3 event methods: insert, get, patch, delete, instances (one occurrence = an
instance id ``{series}_{YYYYMMDDTHHMMSSZ}``; patching or deleting it stores an exception)."""
from __future__ import annotations

import base64
import copy
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from flask import Flask, Response, jsonify, request

from emulators.google.api_auth import Caller, authenticate, own_calendar
from emulators.google.errors import ApiError, bad_request, not_found
from emulators.google.event_rules import (SERVER_FIELDS, apply_conference, build_new_event, check_event_id,
                                          check_times, drop_long_private_keys, merge_patch, new_event_id,
                                          hold_conference, normalize_attendees, normalize_times, release_conference,
                                          touch)
from emulators.google.events_model import event_span, instances, make_instance
from emulators.google.recurrence import occurrence_starts, parse_instance_suffix
from emulators.google.request_body import bool_param, enum_param, int_param, json_body
from emulators.google.schema import parse_rfc3339, validate
from emulators.google.scopes import READ_EVENTS, WRITE_EVENTS
from emulators.google.store import Calendar, StoredEvent

if TYPE_CHECKING:
    from emulators.google.server import GoogleEmulator

EVENTS = "/calendar/v3/calendars/<path:calendar_id>/events"
SEND_UPDATES = ("all", "externalOnly", "none")
DEFAULT_INSTANCE_SPAN = timedelta(days=366)
# What an update (PUT) keeps from the stored event: server-set fields, identity, the Meet link.
KEPT_ON_UPDATE = SERVER_FIELDS + ("id", "sequence", "status", "recurringEventId", "originalStartTime",
                                  "conferenceData", "reminders", "eventType")


def find_event(calendar: Calendar, event_id: str, zone: str) -> tuple[StoredEvent | None, dict | None]:
    """The stored event with this id, or else the generated instance it names (never both)."""
    stored = calendar.events.get(event_id)
    if stored is not None:
        return stored, None
    series_id, _, suffix = event_id.rpartition("_")
    series = calendar.events.get(series_id)
    original = parse_instance_suffix(suffix)
    if series is None or not series.body.get("recurrence") or original is None:
        return None, None
    start, end = event_span(series.body, zone)
    duration = end.instant - start.instant
    hits = [o for o in occurrence_starts(series.body["recurrence"], start, duration, original, original + timedelta(seconds=1))
            if o.astimezone(timezone.utc) == original]
    if not hits:
        return None, None
    return None, make_instance(series.body, hits[0], start, duration)


def register_event_routes(app: Flask, emu: "GoogleEmulator") -> None:
    store = emu.store

    def calendar_zone(calendar: Calendar) -> str:
        return store.users[calendar.owner].time_zone

    def caller_and_calendar(calendar_id: str, scopes: frozenset[str]) -> tuple[Caller, Calendar]:
        caller = authenticate(store, scopes)
        return caller, own_calendar(store, caller, calendar_id)

    def conference_version() -> int:
        return int_param("conferenceDataVersion", 0, low=0, high=1)

    @app.post(EVENTS)
    def events_insert(calendar_id: str):
        caller, calendar = caller_and_calendar(calendar_id, WRITE_EVENTS)
        incoming = json_body()
        validate(incoming, "Event")
        enum_param("sendUpdates", SEND_UPDATES)
        event_id = incoming.get("id") or new_event_id()
        check_event_id(event_id)
        with store.lock:
            if event_id in calendar.events:
                raise ApiError(409, "duplicate", "The requested identifier already exists.")
            body = build_new_event(incoming, event_id, caller.email, calendar_zone(calendar), emu.base_url,
                                   conference_version(), emu.now())
            if emu.meet_pending_reads > 0:
                held = hold_conference(body)
                if held is not None:
                    emu.pending_conferences[(calendar.id, event_id)] = [emu.meet_pending_reads, held]
            store.save_event(calendar, body)
        return jsonify(body)

    @app.get(EVENTS + "/<event_id>")
    def events_get(calendar_id: str, event_id: str):
        _, calendar = caller_and_calendar(calendar_id, READ_EVENTS)
        with store.lock:
            stored, instance = find_event(calendar, event_id, calendar_zone(calendar))
            if stored is None and instance is None:
                raise not_found()
            if stored is not None:
                stored = _advance_pending_conference(emu, calendar, stored)
            return jsonify(copy.deepcopy(stored.body) if stored else instance)

    @app.patch(EVENTS + "/<event_id>")
    def events_patch(calendar_id: str, event_id: str):
        return write_event(calendar_id, event_id, replace=False)

    @app.put(EVENTS + "/<event_id>")
    def events_update(calendar_id: str, event_id: str):
        return write_event(calendar_id, event_id, replace=True)

    def write_event(calendar_id: str, event_id: str, *, replace: bool):
        """PATCH merges the given fields; PUT (update) replaces every field it may set."""
        caller, calendar = caller_and_calendar(calendar_id, WRITE_EVENTS)
        incoming = json_body()
        validate(incoming, "Event")
        enum_param("sendUpdates", SEND_UPDATES)
        if incoming.get("id", event_id) != event_id:
            raise bad_request("The event id cannot be changed.", reason="invalid")
        zone = calendar_zone(calendar)
        with store.lock:
            stored, instance = find_event(calendar, event_id, zone)
            if stored is None and instance is None:
                raise not_found()
            body = copy.deepcopy(stored.body) if stored else instance
            if body.get("recurringEventId") and "recurrence" in incoming:
                raise bad_request("An instance of a recurring event cannot have a recurrence.", reason="invalid")
            before = copy.deepcopy((body.get("start"), body.get("end")))
            changes = {k: v for k, v in incoming.items() if k not in SERVER_FIELDS and k != "conferenceData"}
            if replace:
                body = {k: v for k, v in body.items() if k in KEPT_ON_UPDATE} | copy.deepcopy(changes)
            else:
                merge_patch(body, changes)
            if "conferenceData" in incoming:
                apply_conference(body, incoming["conferenceData"], conference_version())
            check_times(body, zone)
            normalize_times(body, zone)
            drop_long_private_keys(body)
            normalize_attendees(body, caller.email)
            touch(body, emu.now(), (body.get("start"), body.get("end")) != before)
            store.save_event(calendar, body)
        return jsonify(body)

    @app.delete(EVENTS + "/<event_id>")
    def events_delete(calendar_id: str, event_id: str):
        _, calendar = caller_and_calendar(calendar_id, WRITE_EVENTS)
        enum_param("sendUpdates", SEND_UPDATES)
        with store.lock:
            stored, instance = find_event(calendar, event_id, calendar_zone(calendar))
            if stored is None and instance is None:
                raise not_found()
            if stored is not None and stored.body.get("status") == "cancelled":
                raise ApiError(410, "deleted", "Resource has been deleted")
            body = copy.deepcopy(stored.body) if stored else instance
            body["status"] = "cancelled"
            touch(body, emu.now(), False)
            store.save_event(calendar, body)
        return Response(status=204)

    @app.get(EVENTS + "/<event_id>/instances")
    def events_instances(calendar_id: str, event_id: str):
        _, calendar = caller_and_calendar(calendar_id, READ_EVENTS)
        zone = calendar_zone(calendar)
        max_results = int_param("maxResults", 250, low=1, high=2500)
        offset = _page_offset(request.args.get("pageToken"))
        with store.lock:
            series = calendar.events.get(event_id)
            if series is None:
                raise not_found()
            items: list[dict] = []
            if series.body.get("recurrence"):
                start, _ = event_span(series.body, zone)
                window_start = _time_arg("timeMin") or start.instant
                window_end = _time_arg("timeMax") or window_start + DEFAULT_INSTANCE_SPAN
                items = instances(calendar, series, zone, window_start, window_end,
                                  show_cancelled=bool_param("showDeleted"))
                original = _time_arg("originalStart")
                if original is not None:
                    items = [i for i in items if parse_rfc3339(i["originalStartTime"].get("dateTime") or
                                                               i["originalStartTime"]["date"] + "T00:00:00Z") == original]
        page = items[offset:offset + max_results]
        reply = {"kind": "calendar#events", "summary": calendar.id, "timeZone": zone, "accessRole": "owner",
                 "updated": series.body.get("updated"), "defaultReminders": [], "items": page}
        if offset + max_results < len(items):
            reply["nextPageToken"] = _page_token(offset + max_results)
        return jsonify(reply)


def _advance_pending_conference(emu: "GoogleEmulator", calendar: Calendar, stored: StoredEvent) -> StoredEvent:
    """Each read of an event with a pending Meet link brings it closer to ready."""
    pending = emu.pending_conferences.get((calendar.id, stored.id))
    if pending is None:
        return stored
    pending[0] -= 1
    if pending[0] > 0:
        return stored
    del emu.pending_conferences[(calendar.id, stored.id)]
    body = copy.deepcopy(stored.body)
    release_conference(body, pending[1])
    touch(body, emu.now(), False)
    return emu.store.save_event(calendar, body)


def _time_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    return parse_rfc3339(raw, name) if raw else None


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode()


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode()[1:])
    except ValueError:
        raise bad_request("Invalid page token value.", reason="invalid", location="pageToken") from None
