"""Change tracking: ``events.list`` with ``syncToken``/``nextSyncToken`` (410 fullSyncRequired
for stale tokens), ``events.watch`` push channels, and ``channels.stop``."""
from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, request

from emulators.google.api_auth import authenticate, own_calendar
from emulators.google.errors import ApiError, bad_request, not_found
from emulators.google.events_model import event_span, materialize
from emulators.google.request_body import bool_param, int_param, json_body
from emulators.google.schema import parse_rfc3339, validate
from emulators.google.scopes import ANY_CALENDAR, READ_EVENTS
from emulators.google.store import Calendar, Channel

if TYPE_CHECKING:
    from emulators.google.server import GoogleEmulator

NOT_WITH_SYNC_TOKEN = ("iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty",
                       "timeMin", "timeMax", "updatedMin")
DEFAULT_CHANNEL_TTL = timedelta(days=7)
MAX_CHANNEL_TTL = timedelta(days=30)
SINGLE_EVENTS_SPAN = timedelta(days=366)


def encode_cursor(kind: str, payload: dict) -> str:
    return kind + base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(kind: str, value: str, param: str) -> dict:
    try:
        if not value.startswith(kind):
            raise ValueError(value)
        raw = value[len(kind):]
        return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        raise bad_request(f"Invalid {param} value.", reason="invalid", location=param) from None


def resource_id_for(calendar_id: str) -> str:
    return "emu" + hashlib.sha256(calendar_id.encode()).hexdigest()[:24]


def deleted_view(body: dict) -> dict:
    """What an incremental sync shows of a deleted event: id and status (and instance identity)."""
    keep = ("kind", "etag", "id", "status", "recurringEventId", "originalStartTime")
    return {k: copy.deepcopy(body[k]) for k in keep if k in body}


def register_sync_routes(app: Flask, emu: "GoogleEmulator") -> None:
    store = emu.store

    @app.get("/calendar/v3/calendars/<path:calendar_id>/events")
    def events_list(calendar_id: str):
        caller = authenticate(store, READ_EVENTS)
        calendar = own_calendar(store, caller, calendar_id)
        zone = store.users[calendar.owner].time_zone
        max_results = int_param("maxResults", 250, low=1, high=2500)
        sync_token, page_token = request.args.get("syncToken"), request.args.get("pageToken")
        with store.lock:
            if page_token:
                page = decode_cursor("P", page_token, "pageToken")
                since, snapshot, offset = page["since"], page["snap"], page["o"]
            else:
                since, snapshot, offset = None, store.current_seq, 0
                if sync_token:
                    clash = [p for p in NOT_WITH_SYNC_TOKEN if p in request.args]
                    if clash:
                        raise bad_request(f"The syncToken cannot be combined with {', '.join(clash)}.",
                                          reason="invalid", location="syncToken")
                    since = _check_sync_token(calendar, sync_token)
            items = _changed_since(calendar, since) if since is not None else _full_listing(calendar, zone)
            if since is None:
                items = _filter_private(items, request.args.getlist("privateExtendedProperty"))
            reply_items = items[offset:offset + max_results]
            reply = {"kind": "calendar#events", "summary": calendar.id, "timeZone": zone, "accessRole": "owner",
                     "updated": None, "defaultReminders": [{"method": "popup", "minutes": 10}], "items": reply_items}
            if offset + max_results < len(items):
                reply["nextPageToken"] = encode_cursor("P", {"since": since, "snap": snapshot, "o": offset + max_results})
            else:
                reply["nextSyncToken"] = encode_cursor("CP", {"c": calendar.id, "s": snapshot, "g": calendar.sync_generation})
        reply["updated"] = max((i.get("updated", "") for i in reply_items), default="") or None
        if reply["updated"] is None:
            del reply["updated"]
        return jsonify(reply)

    def _check_sync_token(calendar: Calendar, token: str) -> int:
        data = decode_cursor("CP", token, "syncToken")
        if data.get("c") != calendar.id:
            raise bad_request("Invalid sync token value.", reason="invalid", location="syncToken")
        if data.get("g") != calendar.sync_generation or data.get("s", 0) > store.current_seq:
            raise ApiError(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.",
                           domain="calendar")
        return int(data["s"])

    def _changed_since(calendar: Calendar, since: int) -> list[dict]:
        changed = sorted((e for e in calendar.events.values() if e.seq > since), key=lambda e: e.seq)
        return [deleted_view(e.body) if e.body.get("status") == "cancelled" else copy.deepcopy(e.body) for e in changed]

    def _full_listing(calendar: Calendar, zone: str) -> list[dict]:
        show_deleted = bool_param("showDeleted")
        time_min = parse_rfc3339(request.args["timeMin"], "timeMin") if request.args.get("timeMin") else None
        time_max = parse_rfc3339(request.args["timeMax"], "timeMax") if request.args.get("timeMax") else None
        if bool_param("singleEvents"):
            start = time_min or emu.now() - SINGLE_EVENTS_SPAN
            items = materialize(calendar, zone, start, time_max or start + 2 * SINGLE_EVENTS_SPAN)
            return [copy.deepcopy(i) for i in sorted(items, key=lambda b: event_span(b, zone)[0].instant)]
        out = []
        for stored in sorted(calendar.events.values(), key=lambda e: e.seq):
            body = stored.body
            if body.get("status") == "cancelled" and not show_deleted:
                continue
            if not body.get("recurrence") and (time_min or time_max):
                start, end = event_span(body, zone)
                if (time_max and start.instant >= time_max) or (time_min and end.instant <= time_min):
                    continue
            out.append(copy.deepcopy(body))
        return out

    @app.post("/calendar/v3/calendars/<path:calendar_id>/events/watch")
    def events_watch(calendar_id: str):
        caller = authenticate(store, READ_EVENTS)
        calendar = own_calendar(store, caller, calendar_id)
        body = json_body()
        validate(body, "Channel")
        channel_id, address = body.get("id"), body.get("address")
        if not channel_id or not address:
            raise bad_request("Missing channel id or address.", reason="required")
        if body.get("type", "web_hook") not in ("web_hook", "webhook"):
            raise bad_request(f"Invalid channel type {body.get('type')}.", reason="invalid")
        target = urlsplit(address)
        if target.scheme != "https" and target.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise bad_request(f"WebHook callback must be HTTPS: {address}", reason="push.webhookUrlNotHttps",
                              domain="global")
        now_ms = int(emu.now().timestamp() * 1000)
        wanted = int(body.get("expiration") or 0)
        latest = now_ms + int(MAX_CHANNEL_TTL.total_seconds() * 1000)
        expiration = min(wanted, latest) if wanted > now_ms else now_ms + int(DEFAULT_CHANNEL_TTL.total_seconds() * 1000)
        with store.lock:
            if channel_id in store.channels:
                raise bad_request(f"Channel id {channel_id} not unique", reason="channelIdNotUnique")
            channel = store.channels[channel_id] = Channel(channel_id, resource_id_for(calendar.id), calendar.id, address,
                                                           body.get("token"), expiration, caller.email)
        emu.notifier.announce(channel, "sync")
        return jsonify({"kind": "api#channel", "id": channel.id, "resourceId": channel.resource_id,
                        "resourceUri": f"{emu.base_url}/calendar/v3/calendars/{calendar.id}/events?alt=json",
                        "token": channel.token, "expiration": str(channel.expiration_ms)})

    @app.post("/calendar/v3/channels/stop")
    def channels_stop():
        caller = authenticate(store, ANY_CALENDAR)
        body = json_body()
        validate(body, "Channel")
        with store.lock:
            channel = store.channels.get(body.get("id", ""))
            if channel is None or channel.stopped or channel.resource_id != body.get("resourceId") \
                    or channel.owner != caller.email:
                raise not_found(f"Channel '{body.get('id')}' not found for project 'tandem-emulator'")
            channel.stopped = True
        return Response(status=204)


def _filter_private(items: list[dict], wanted: list[str]) -> list[dict]:
    pairs = [w.split("=", 1) for w in wanted if "=" in w]
    if not pairs:
        return items
    return [i for i in items
            if all(i.get("extendedProperties", {}).get("private", {}).get(k) == v for k, v in pairs)]

