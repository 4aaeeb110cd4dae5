"""Render events and instances as Graph's ``event`` JSON, honouring ``$select``, ``$expand`` of
``singleValueExtendedProperties``, ``Prefer: outlook.timezone`` and the Calendars.ReadBasic rule
(no body)."""
from __future__ import annotations

import html
import re
from datetime import timezone

from .model import Event, Instance
from .zones import format_datetime_tz, format_instant, windows_name

_EXPAND_FILTER = re.compile(r"singleValueExtendedProperties\(\$filter=id eq '([^']+)'\)", re.IGNORECASE)


def _response_json(response: str, when) -> dict:
    return {"response": response, "time": format_instant(when) if when else "0001-01-01T00:00:00Z"}


_TAG = re.compile(r"<[^>]+>")


def body_as(ev: Event, wanted: str) -> tuple[str, str]:
    """The body in the wanted content type: Graph stores text bodies as HTML and returns HTML
    unless ``Prefer: outlook.body-content-type="text"``."""
    if ev.body_type == "html" and wanted == "text":
        text = _TAG.sub("", re.sub(r"<br\s*/?>", "\n", ev.body, flags=re.IGNORECASE))
        return "text", html.unescape(text).strip()
    if ev.body_type == "text" and wanted == "html":
        inner = html.escape(ev.body).replace("\n", "<br>")
        return "html", ('<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
                        f"\r\n</head>\r\n<body>\r\n<div>{inner}</div>\r\n</body>\r\n</html>\r\n")
    return ev.body_type, ev.body


def preferred_body_type(prefer: str | None) -> str:
    for part in (prefer or "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "outlook.body-content-type" and value.strip().strip('"').lower() == "text":
            return "text"
    return "html"


# Properties of microsoft.graph.event this emulator renders ($select may name only these).
EVENT_PROPERTIES = frozenset("""
id createdDateTime lastModifiedDateTime changeKey categories transactionId originalStartTimeZone
originalEndTimeZone iCalUId uid reminderMinutesBeforeStart isReminderOn hasAttachments subject bodyPreview
importance sensitivity isAllDay isCancelled isOrganizer responseRequested seriesMasterId showAs type webLink
onlineMeetingUrl isOnlineMeeting onlineMeetingProvider allowNewTimeProposals recurrence responseStatus body
start end location locations attendees organizer onlineMeeting originalStart cancelledOccurrences
singleValueExtendedProperties
""".split())


def event_json(ev: Event, zone: str, *, instance: Instance | None = None, select: set[str] | None = None,
               basic: bool = False, expand: str | None = None, body_type: str = "html") -> dict:
    """One event (or one instance of it) as Graph renders it."""
    start = instance.start if instance else ev.start
    end = instance.end if instance else ev.end
    content_type, content = body_as(ev, body_type)
    body_preview = body_as(ev, "text")[1][:255]
    data: dict = {
        "@odata.etag": f'W/"{ev.change_key}"',
        "id": instance.id if instance else ev.id,
        "createdDateTime": ev.created.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "lastModifiedDateTime": ev.modified.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "changeKey": ev.change_key,
        "categories": [],
        "transactionId": ev.transaction_id,
        "originalStartTimeZone": windows_name(ev.start.tzinfo.key) if hasattr(ev.start.tzinfo, "key") else ev.start_zone,
        "originalEndTimeZone": windows_name(ev.end.tzinfo.key) if hasattr(ev.end.tzinfo, "key") else ev.end_zone,
        "iCalUId": ev.ical_uid,
        "uid": ev.ical_uid,
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "subject": ev.subject,
        "bodyPreview": body_preview,
        "importance": "normal",
        "sensitivity": ev.sensitivity,
        "isAllDay": ev.is_all_day,
        "isCancelled": ev.is_cancelled,
        "isOrganizer": ev.organizer_email.lower() == ev.owner.lower(),
        "responseRequested": True,
        "seriesMasterId": ev.id if instance is not None and instance.type != "singleInstance" else None,
        "showAs": ev.show_as,
        "type": instance.type if instance else ev.type,
        "webLink": f"https://outlook.office365.com/owa/?itemid={ev.id}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": ev.is_online_meeting,
        "onlineMeetingProvider": ev.online_meeting_provider,
        "allowNewTimeProposals": True,
        "recurrence": _recurrence_json(ev) if instance is None or instance.type == "singleInstance" else None,
        "responseStatus": _response_json("organizer" if ev.organizer_email.lower() == ev.owner.lower()
                                         else "notResponded", None),
        "body": {"contentType": content_type, "content": content},
        "start": format_datetime_tz(start, zone),
        "end": format_datetime_tz(end, zone),
        "location": {"displayName": ev.location, "locationType": "default", "uniqueIdType": "unknown"},
        "locations": [{"displayName": ev.location}] if ev.location else [],
        "attendees": [{"type": a.type, "status": _response_json(a.response, a.response_time),
                       "emailAddress": {"name": a.name or a.email, "address": a.email}} for a in ev.attendees],
        "organizer": {"emailAddress": {"name": ev.organizer_email.split("@")[0], "address": ev.organizer_email}},
        "onlineMeeting": {"joinUrl": ev.join_url} if ev.join_url else None,
    }
    if instance is not None and instance.original_start is not None:
        data["originalStart"] = format_instant(instance.original_start)
    if instance is None and ev.recurrence is not None:
        data["cancelledOccurrences"] = [
            f"OID.{ev.id}.{orig.astimezone(ev.recurrence.zone).date().isoformat()}" for orig in sorted(ev.cancelled)]
    if basic:
        data.pop("body")
        data.pop("bodyPreview")
    if expand:
        match = _EXPAND_FILTER.search(expand)
        if match and match.group(1) in ev.extended:
            data["singleValueExtendedProperties"] = [{"id": match.group(1), "value": ev.extended[match.group(1)]}]
        elif "singlevalueextendedproperties" in expand.lower() and not match:
            data["singleValueExtendedProperties"] = [{"id": k, "value": v} for k, v in ev.extended.items()]
        else:
            data["singleValueExtendedProperties"] = []
    if select:
        keep = {"id", "@odata.etag", "singleValueExtendedProperties"} | select
        data = {k: v for k, v in data.items() if k in keep}
    return data


def _recurrence_json(ev: Event) -> dict | None:
    if ev.recurrence is None:
        return None
    raw = {"pattern": dict(ev.recurrence.raw["pattern"]), "range": dict(ev.recurrence.raw["range"])}
    raw["pattern"].setdefault("month", 0)
    raw["pattern"].setdefault("dayOfMonth", 0)
    raw["pattern"].setdefault("index", "first")
    raw["range"]["recurrenceTimeZone"] = windows_name(ev.recurrence.zone.key)
    raw["range"].setdefault("endDate", "0001-01-01")
    raw["range"].setdefault("numberOfOccurrences", 0)
    return raw


def parse_select(raw: str | None) -> set[str] | None:
    if not raw:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}
