"""What Google does to an event body on insert and patch: id rules, time-zone rules for
recurring events, Meet links, private-property limits, attendees, server-set fields."""
from __future__ import annotations

import copy
import hashlib
import re
import uuid
from datetime import datetime, timezone

from emulators.google.errors import ApiError, bad_request
from emulators.google.events_model import event_span
from emulators.google.recurrence import check_recurrence, parse_event_time, rfc3339, zone_info

EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
MAX_PRIVATE_KEY = 44
SERVER_FIELDS = ("kind", "etag", "htmlLink", "created", "updated", "creator", "organizer", "iCalUID", "hangoutLink")


def check_event_id(event_id: str) -> None:
    """Google accepts client ids of base32hex characters (a-v, 0-9), 5 to 1024 long."""
    if not EVENT_ID.fullmatch(event_id):
        raise bad_request("Invalid resource id value.", reason="invalid")


def new_event_id() -> str:
    """A server-chosen id (uuid hex is base32hex-safe)."""
    return uuid.uuid4().hex


def check_times(body: dict, calendar_zone: str) -> None:
    """Start/end present and ordered; recurring timed events carry IANA zones; RRULE readable."""
    start, end = event_span(body, calendar_zone)
    if end.instant < start.instant:
        raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.", domain="calendar")
    if body.get("recurrence"):
        if not start.all_day:
            if not body["start"].get("timeZone"):
                raise bad_request("Missing time zone definition for start time.", reason="required")
            if not body["end"].get("timeZone"):
                raise bad_request("Missing time zone definition for end time.", reason="required")
        check_recurrence(body["recurrence"], start)


def normalize_times(body: dict, calendar_zone: str) -> None:
    """Show timed ``start``/``end``/``originalStartTime`` in their ``timeZone`` with its offset,
    as Google echoes them (``10:00`` + ``America/New_York`` -> ``10:00:00-05:00``)."""
    for which in ("start", "end", "originalStartTime"):
        value = body.get(which)
        if isinstance(value, dict) and value.get("dateTime"):
            parsed = parse_event_time(value, which, calendar_zone)
            value["dateTime"] = rfc3339(parsed.instant.astimezone(zone_info(value["timeZone"]))
                                        if value.get("timeZone") else parsed.instant)


def drop_long_private_keys(body: dict) -> None:
    """Google silently drops private extended properties whose key is longer than 44 chars."""
    private = body.get("extendedProperties", {}).get("private")
    if isinstance(private, dict):
        for key in [k for k in private if len(k) > MAX_PRIVATE_KEY]:
            del private[key]


def normalize_attendees(body: dict, organizer: str) -> None:
    for attendee in body.get("attendees", []):
        attendee["email"] = attendee.get("email", "").lower()
        if attendee["email"] == organizer:
            attendee.setdefault("organizer", True)
            attendee.setdefault("self", True)
            attendee.setdefault("responseStatus", "accepted")
        attendee.setdefault("responseStatus", "needsAction")


def apply_conference(body: dict, incoming: dict | None, version: int) -> None:
    """With ``conferenceDataVersion=1`` a ``createRequest`` makes a Meet link; otherwise Google
    ignores ``conferenceData`` in the request."""
    if incoming is None:
        return
    if version < 1:
        body.pop("conferenceData", None)
        return
    create = incoming.get("createRequest")
    if not create:
        body["conferenceData"] = incoming
        return
    key = create.get("conferenceSolutionKey", {}).get("type")
    if key != "hangoutsMeet":
        raise bad_request("Invalid conference type value.", reason="invalid")
    if not create.get("requestId"):
        raise bad_request("Missing conference request id.", reason="required")
    code = _meet_code(create["requestId"])
    body["conferenceData"] = {
        "createRequest": {"requestId": create["requestId"], "conferenceSolutionKey": {"type": key},
                          "status": {"statusCode": "success"}},
        "entryPoints": [{"entryPointType": "video", "uri": f"https://meet.google.com/{code}", "label": f"meet.google.com/{code}"}],
        "conferenceSolution": {"key": {"type": key}, "name": "Google Meet"},
        "conferenceId": code,
    }
    body["hangoutLink"] = f"https://meet.google.com/{code}"


def hold_conference(body: dict) -> dict | None:
    """Turn a just-made Meet link into ``pending`` (no link yet), as Google sometimes answers;
    returns what :func:`release_conference` puts back, or None when there is no Meet request."""
    conference = body.get("conferenceData")
    if not conference or "createRequest" not in conference:
        return None
    held = {"conferenceData": copy.deepcopy(conference), "hangoutLink": body.pop("hangoutLink", None)}
    body["conferenceData"] = {"createRequest": copy.deepcopy(conference["createRequest"])}
    body["conferenceData"]["createRequest"]["status"] = {"statusCode": "pending"}
    return held


def release_conference(body: dict, held: dict) -> None:
    """The Meet link is ready: status ``success``, entry points and ``hangoutLink`` appear."""
    body["conferenceData"] = held["conferenceData"]
    if held["hangoutLink"]:
        body["hangoutLink"] = held["hangoutLink"]


def _meet_code(request_id: str) -> str:
    digest = hashlib.sha256(request_id.encode()).digest()
    letters = "".join(chr(ord("a") + b % 26) for b in digest[:10])
    return f"{letters[:3]}-{letters[3:7]}-{letters[7:10]}"


def build_new_event(incoming: dict, event_id: str, owner: str, calendar_zone: str, base_url: str,
                    conference_version: int, now: datetime) -> dict:
    """The stored body of a new event made from a validated request body."""
    body = {k: copy.deepcopy(v) for k, v in incoming.items() if k not in SERVER_FIELDS}
    body["id"] = event_id
    body.setdefault("status", "confirmed")
    if body["status"] not in ("confirmed", "tentative", "cancelled"):
        raise bad_request("Invalid value for status.", reason="invalid")
    check_times(body, calendar_zone)
    normalize_times(body, calendar_zone)
    drop_long_private_keys(body)
    normalize_attendees(body, owner)
    apply_conference(body, incoming.get("conferenceData"), conference_version)
    stamp = rfc3339(now.astimezone(timezone.utc))
    body.update({
        "kind": "calendar#event", "created": stamp, "updated": stamp, "sequence": 0,
        "htmlLink": f"{base_url}/calendar/event?eid={event_id}", "iCalUID": f"{event_id}@google.com",
        "creator": {"email": owner, "self": True}, "organizer": {"email": owner, "self": True},
        "reminders": body.get("reminders", {"useDefault": True}), "eventType": body.get("eventType", "default"),
    })
    body["etag"] = etag_of(body)
    return body


def merge_patch(target: dict, patch: dict) -> None:
    """Patch semantics: given fields replace; nested objects merge; arrays replace."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict) and key != "conferenceData":
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def touch(body: dict, now: datetime, times_changed: bool) -> None:
    """Bump ``updated``, ``etag`` and (for time changes) ``sequence``."""
    body["updated"] = rfc3339(now.astimezone(timezone.utc))
    if times_changed:
        body["sequence"] = int(body.get("sequence", 0)) + 1
    body["etag"] = etag_of(body)


def etag_of(body: dict) -> str:
    digest = hashlib.sha256(repr(sorted((k, repr(v)) for k, v in body.items() if k != "etag")).encode()).hexdigest()
    return f'"{int(digest[:15], 16)}"'
