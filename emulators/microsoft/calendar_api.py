"""Graph calendar endpoints: getSchedule, calendarView, events (create, get, update, delete,
instances, cancel). Validation follows Graph: what it rejects, this rejects with 400."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .invitations import RESPONSES, Invitations
from .model import SHOW_AS, Attendee, Event, Instance, User, new_id, split_occurrence_id
from .recurrence import RecurrenceError, parse_recurrence
from .replies import GraphError, bad_request, json_reply, not_found
from .serialize import event_json, parse_select, preferred_body_type
from .store import Store
from .zones import (UnsupportedZone, ZoneError, check_writable_zone, format_datetime_tz, parse_datetime_tz,
                    parse_query_instant, preferred_zone)

MAX_SCHEDULE_DAYS = 62
AVAILABILITY_DIGITS = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4", "unknown": "0"}
BUSIEST_LAST = ("unknown", "free", "workingElsewhere", "tentative", "busy", "oof")
PAGE_SIZE = 10  # Graph's default page size for calendarView and instances


@dataclass
class Ctx:
    """One authenticated Graph request."""

    request: Request
    user: User
    scopes: tuple[str, ...]
    base_url: str

    @property
    def basic(self) -> bool:
        """Only Calendars.ReadBasic granted: Graph leaves out body and attachments."""
        return not ({"Calendars.Read", "Calendars.ReadWrite"} & set(self.scopes))

    def body_type(self) -> str:
        return preferred_body_type(self.request.headers.get("Prefer"))

    def zone(self) -> str:
        try:
            return preferred_zone(self.request.headers.get("Prefer"))
        except ZoneError as exc:
            raise bad_request(str(exc), "ErrorInvalidTimeZone") from exc

    def json(self) -> dict:
        body = self.request.get_json(silent=True)
        if not isinstance(body, dict):
            raise bad_request("Empty Payload. JSON content expected.", "BadRequest")
        return body


def check_written_zones(body: dict) -> None:
    """Create and update take Windows ids and the documented IANA names only (400 otherwise)."""
    values = [body[k].get("timeZone") or "UTC" for k in ("start", "end") if isinstance(body.get(k), dict)]
    recurrence = body.get("recurrence")
    if isinstance(recurrence, dict) and isinstance(recurrence.get("range"), dict):
        if recurrence["range"].get("recurrenceTimeZone"):
            values.append(recurrence["range"]["recurrenceTimeZone"])
    try:
        for value in values:
            check_writable_zone(value)
    except UnsupportedZone as exc:
        raise bad_request(str(exc), "TimeZoneNotSupportedException") from exc


def window_args(ctx: Ctx) -> tuple[datetime, datetime]:
    """The required ``startDateTime``/``endDateTime`` query window (400 when missing)."""
    args = ctx.request.args
    lowered = {k.lower(): v for k, v in args.items()}
    try:
        start = parse_query_instant(lowered.get("startdatetime"))
        end = parse_query_instant(lowered.get("enddatetime"))
    except ValueError as exc:
        raise bad_request(f"The value of startDateTime or endDateTime is not a valid date: {exc}",
                          "ErrorInvalidParameter") from exc
    if start is None or end is None:
        raise bad_request("This request requires a time window specified by the query string parameters "
                          "StartDateTime and EndDateTime.", "ErrorInvalidParameter")
    if end < start:
        raise bad_request("The EndDateTime must be later than StartDateTime.", "ErrorInvalidParameter")
    return start, end


class Calendar:
    """Calendar handlers; ``on_change(user, event_id, kind)`` feeds delta and subscriptions."""

    def __init__(self, store: Store, on_change: Callable[[User, str, str], None]):
        self.store = store
        self.on_change = on_change
        self.invitations = Invitations(store, on_change)

    # --- free/busy --------------------------------------------------------------------------
    def get_schedule(self, ctx: Ctx) -> Response:
        """``POST /me/calendar/getSchedule``."""
        if ctx.user.personal:
            raise GraphError(400, "ErrorNotSupported",
                             "getSchedule is not supported for personal Microsoft accounts.")
        body = ctx.json()
        schedules = body.get("schedules")
        if not isinstance(schedules, list) or not schedules or len(schedules) > 100:
            raise bad_request("schedules must list between 1 and 100 SMTP addresses.", "ErrorInvalidParameter")
        try:
            start = parse_datetime_tz(body.get("startTime"), "startTime")
            end = parse_datetime_tz(body.get("endTime"), "endTime")
        except (ValueError, ZoneError) as exc:
            raise bad_request(str(exc), "ErrorInvalidParameter") from exc
        interval = body.get("availabilityViewInterval", 30)
        if not isinstance(interval, int) or not 5 <= interval <= 1440:
            raise bad_request("availabilityViewInterval must be between 5 and 1440 minutes.", "ErrorInvalidParameter")
        if end <= start:
            raise bad_request("The end time must be later than the start time.", "ErrorInvalidParameter")
        if end - start > timedelta(days=MAX_SCHEDULE_DAYS):
            days = -(-(end - start) // timedelta(days=1))
            raise bad_request("The requested time duration specified for FreeBusyViewOptions.TimeWindow is too long. "
                              f"The allowed limit = {MAX_SCHEDULE_DAYS} days; the actual limit = {days} days.",
                              "ErrorTimeIntervalTooBig")
        zone = ctx.zone()
        value = []
        with self.store.lock:
            for address in schedules:
                target = self.store.users.get(str(address).lower())
                hidden = target is not None and target is not ctx.user and target.email.lower() in self.store.hidden
                if target is None or target.tid != ctx.user.tid or hidden:
                    value.append({"scheduleId": address, "availabilityView": "", "scheduleItems": [],
                                  "error": {"message": "The user or the mailbox was not found.",
                                            "responseCode": "ErrorMailRecipientNotFound"}})
                    continue
                value.append(self._schedule(target, start, end, interval, zone, own=target is ctx.user))
        return json_reply({"@odata.context": f"{ctx.base_url}/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)",
                           "value": value})

    def _schedule(self, user: User, start: datetime, end: datetime, interval: int, zone: str, own: bool) -> dict:
        items = []
        for ev in user.events.values():
            if ev.is_cancelled:
                continue
            for inst in ev.instances(start, end):
                item = {"isPrivate": ev.sensitivity == "private", "status": ev.show_as,
                        "start": format_datetime_tz(inst.start, zone), "end": format_datetime_tz(inst.end, zone)}
                if own or ev.sensitivity != "private":
                    item.update({"subject": ev.subject, "location": ev.location})
                items.append((inst.start, inst.end, ev.show_as, item))
        items.sort(key=lambda t: t[0])
        view = []
        step = timedelta(minutes=interval)
        slot = start
        while slot < end:
            slot_end = min(slot + step, end)
            statuses = [s for s0, e0, s, _ in items if s0 < slot_end and slot < e0]
            busiest = max(statuses, key=BUSIEST_LAST.index, default="free")
            view.append(AVAILABILITY_DIGITS[busiest])
            slot = slot_end
        return {"scheduleId": user.email, "availabilityView": "".join(view),
                "scheduleItems": [item for *_, item in items],
                "workingHours": {"daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                                 "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                                 "timeZone": {"name": user.time_zone}}}

    def calendar_view(self, ctx: Ctx) -> Response:
        """``GET /me/calendarView`` (window required, paged)."""
        start, end = window_args(ctx)
        with self.store.lock:
            instances = [inst for ev in ctx.user.events.values() for inst in ev.instances(start, end)]
            instances.sort(key=lambda i: (i.start, i.id))
            return self._paged(ctx, instances, "calendarView")

    def _paged(self, ctx: Ctx, instances: list, what: str) -> Response:
        args = ctx.request.args
        zone, select = ctx.zone(), parse_select(args.get("$select"))
        try:
            top = int(args.get("$top", PAGE_SIZE))
            skip = int(args.get("$skip", 0))
        except ValueError as exc:
            raise bad_request("$top and $skip must be integers.", "BadRequest") from exc
        top = max(1, min(top, 1000))
        page = instances[skip:skip + top]
        body = {"@odata.context": f"{ctx.base_url}/v1.0/$metadata#users('{ctx.user.oid}')/{what}",
                "value": [event_json(i.event, zone, instance=i, select=select, basic=ctx.basic,
                                     expand=args.get("$expand"), body_type=ctx.body_type()) for i in page]}
        if skip + top < len(instances):
            query = {k: v for k, v in args.items() if k not in ("$skip",)}
            query["$skip"] = str(skip + top)
            body["@odata.nextLink"] = f"{ctx.base_url}{ctx.request.path}?{urlencode(query)}"
        return json_reply(body)

    # --- events -----------------------------------------------------------------------------
    def create_event(self, ctx: Ctx) -> Response:
        """``POST /me/events`` (idempotent on ``transactionId``)."""
        body = ctx.json()
        with self.store.lock:
            txn = body.get("transactionId")
            if txn and txn in ctx.user.by_transaction and ctx.user.by_transaction[txn] in ctx.user.events:
                existing = ctx.user.events[ctx.user.by_transaction[txn]]
                return json_reply(event_json(existing, ctx.zone(), basic=ctx.basic), 201)
            ev = self._build_event(ctx.user, body)
            ctx.user.events[ev.id] = ev
            if txn:
                ctx.user.by_transaction[txn] = ev.id
            self.on_change(ctx.user, ev.id, "created")
            self.invitations.deliver(ctx.user, ev)
            return json_reply(event_json(ev, ctx.zone(), basic=ctx.basic), 201)

    def _build_event(self, user: User, body: dict) -> Event:
        check_written_zones(body)
        try:
            start = parse_datetime_tz(body.get("start"), "start")
            end = parse_datetime_tz(body.get("end"), "end")
        except (ValueError, ZoneError) as exc:
            raise bad_request(f"Invalid start or end: {exc}", "ErrorInvalidRequest") from exc
        if end < start:
            raise bad_request("The end time of the event must be after its start time.", "ErrorInvalidRequest")
        show_as = body.get("showAs", "busy")
        if show_as not in SHOW_AS:
            raise bad_request(f"Invalid showAs value {show_as!r}.", "ErrorInvalidRequest")
        txn = body.get("transactionId")
        if txn is not None and (not isinstance(txn, str) or len(txn) > 100 or not txn):
            raise bad_request("transactionId must be a non-empty string of at most 100 characters.")
        ev = Event(id=new_id(), owner=user.email, subject=str(body.get("subject") or ""),
                   start=start, end=end, start_zone=body["start"].get("timeZone") or "UTC",
                   end_zone=body["end"].get("timeZone") or "UTC", show_as=show_as,
                   organizer_email=user.email, transaction_id=txn,
                   sensitivity=body.get("sensitivity", "normal"), is_all_day=bool(body.get("isAllDay")),
                   created=self.store.now())
        self._apply_common(ev, body, user)
        if body.get("recurrence") is not None:
            try:
                ev.recurrence = parse_recurrence(body["recurrence"], start, ev.start_zone)
            except (RecurrenceError, ZoneError) as exc:
                raise bad_request(str(exc), "ErrorInvalidRecurrence") from exc
        return ev

    def _apply_common(self, ev: Event, body: dict, user: User) -> None:
        if "body" in body and isinstance(body["body"], dict):
            ev.body_type = str(body["body"].get("contentType", "text")).lower()
            ev.body = str(body["body"].get("content", ""))
        if "subject" in body:
            ev.subject = str(body["subject"] or "")
        if "location" in body and isinstance(body["location"], dict):
            ev.location = str(body["location"].get("displayName", ""))
        if "showAs" in body:
            if body["showAs"] not in SHOW_AS:
                raise bad_request(f"Invalid showAs value {body['showAs']!r}.")
            ev.show_as = body["showAs"]
        if "attendees" in body:
            attendees = []
            for a in body["attendees"] or []:
                address = (a.get("emailAddress") or {}).get("address") if isinstance(a, dict) else None
                if not address:
                    raise bad_request("Each attendee needs emailAddress.address.", "ErrorInvalidRecipients")
                attendees.append(Attendee(address, (a.get("emailAddress") or {}).get("name", ""),
                                          a.get("type", "required")))
            ev.attendees = attendees
        if "isOnlineMeeting" in body:
            ev.is_online_meeting = bool(body["isOnlineMeeting"])
            provider = body.get("onlineMeetingProvider", "teamsForBusiness")
            if provider not in ("teamsForBusiness", "skypeForBusiness", "skypeForConsumer", "unknown"):
                raise bad_request(f"Invalid onlineMeetingProvider {provider!r}.")
            if user.personal:  # consumer calendars silently ignore Teams meetings
                ev.is_online_meeting, ev.online_meeting_provider, ev.join_url = False, "unknown", None
            elif ev.is_online_meeting and provider == "teamsForBusiness":
                ev.online_meeting_provider = provider
                ev.join_url = ev.join_url or ("https://teams.microsoft.com/l/meetup-join/19%3ameeting_"
                                              + new_id("")[:40] + "%40thread.v2/0")
        for prop in body.get("singleValueExtendedProperties") or []:
            if not isinstance(prop, dict) or not prop.get("id") or "value" not in prop:
                raise bad_request("singleValueExtendedProperties need id and value.")
            ev.extended[str(prop["id"])] = str(prop["value"])

    def _locate(self, ctx: Ctx, event_id: str) -> tuple[Event, datetime | None]:
        """The event an id names, and the original start when it names an occurrence."""
        ev = ctx.user.events.get(event_id)
        if ev is not None:
            return ev, None
        master_id = split_occurrence_id(event_id)
        master = ctx.user.events.get(master_id or "")
        if master is not None and not master.hidden:
            original = master.find_original(event_id)
            if original is not None and original not in master.cancelled:
                return master, original
        raise not_found()

    def _instance(self, ev: Event, original: datetime):
        start, end = ev.exceptions.get(original, (original, original + ev.duration))
        kind = "exception" if original in ev.exceptions else "occurrence"
        return Instance(ev.occurrence_id(original), ev, kind, start, end, original)

    def get_event(self, ctx: Ctx, event_id: str) -> Response:
        """``GET /me/events/{id}`` (a series, single event or occurrence)."""
        with self.store.lock:
            ev, original = self._locate(ctx, event_id)
            inst = self._instance(ev, original) if original else None
            return json_reply(event_json(ev, ctx.zone(), instance=inst, select=parse_select(ctx.request.args.get("$select")),
                                         basic=ctx.basic, expand=ctx.request.args.get("$expand"),
                                         body_type=ctx.body_type()))

    def update_event(self, ctx: Ctx, event_id: str) -> Response:
        """``PATCH /me/events/{id}``; on an occurrence id this makes an exception."""
        body = ctx.json()
        with self.store.lock:
            ev, original = self._locate(ctx, event_id)
            if ev.hidden:
                raise bad_request("The meeting was cancelled and can't be changed.", "ErrorInvalidRequest")
            check_written_zones(body)
            if original is not None:
                start, end = ev.exceptions.get(original, (original, original + ev.duration))
                try:
                    if "start" in body:
                        start = parse_datetime_tz(body["start"], "start")
                    if "end" in body:
                        end = parse_datetime_tz(body["end"], "end")
                except (ValueError, ZoneError) as exc:
                    raise bad_request(str(exc)) from exc
                if end < start:
                    raise bad_request("The end time of the event must be after its start time.")
                ev.exceptions[original] = (start, end)
                ev.touch(self.store.now())
                self.on_change(ctx.user, ev.id, "updated")
                self.invitations.sync(ev)
                return json_reply(event_json(ev, ctx.zone(), instance=self._instance(ev, original), basic=ctx.basic))
            try:
                if "start" in body:
                    ev.start = parse_datetime_tz(body["start"], "start")
                    ev.start_zone = body["start"].get("timeZone") or ev.start_zone
                if "end" in body:
                    ev.end = parse_datetime_tz(body["end"], "end")
                    ev.end_zone = body["end"].get("timeZone") or ev.end_zone
                if "recurrence" in body:
                    ev.recurrence = (parse_recurrence(body["recurrence"], ev.start, ev.start_zone)
                                     if body["recurrence"] is not None else None)
            except (ValueError, ZoneError, RecurrenceError) as exc:
                raise bad_request(str(exc)) from exc
            self._apply_common(ev, body, ctx.user)
            ev.touch(self.store.now())
            self.on_change(ctx.user, ev.id, "updated")
            self.invitations.deliver(ctx.user, ev)  # attendees added by this change are invited
            self.invitations.sync(ev)
            return json_reply(event_json(ev, ctx.zone(), basic=ctx.basic))

    def delete_event(self, ctx: Ctx, event_id: str) -> Response:
        """``DELETE /me/events/{id}``."""
        with self.store.lock:
            ev, original = self._locate(ctx, event_id)
            self._remove(ctx.user, ev, original)
        return Response(status=204)

    def cancel_event(self, ctx: Ctx, event_id: str) -> Response:
        """``POST /me/events/{id}/cancel`` (organizer only)."""
        body = ctx.request.get_json(silent=True) or {}
        comment = body.get("comment", "") if isinstance(body, dict) else ""
        if len(str(comment)) > 10000:
            raise bad_request("comment is too long.")
        with self.store.lock:
            ev, original = self._locate(ctx, event_id)
            if ev.organizer_email.lower() != ctx.user.email.lower():
                raise bad_request("Your request can't be completed. You need to be an organizer to cancel a meeting.",
                                  "ErrorAccessDenied")
            if ev.hidden:
                raise bad_request("The meeting has already been cancelled.", "ErrorInvalidRequest")
            if original is not None:
                self._remove(ctx.user, ev, original)
            else:  # the organizer's copy goes to Deleted Items; attendees get a cancellation
                ev.is_cancelled = True
                ev.touch(self.store.now())
                self.on_change(ctx.user, ev.id, "deleted")
                self.invitations.cancel(ev)
        return Response(status=202)

    def _remove(self, user: User, ev: Event, original: datetime | None) -> None:
        if original is not None:
            ev.cancelled.add(original)
            ev.exceptions.pop(original, None)
            ev.touch(self.store.now())
            self.on_change(user, ev.occurrence_id(original), "deleted")
            self.on_change(user, ev.id, "updated")
            self.invitations.sync(ev)
        else:
            del user.events[ev.id]
            if ev.transaction_id:
                user.by_transaction.pop(ev.transaction_id, None)
            self.on_change(user, ev.id, "deleted")
            if ev.organizer_email.lower() == user.email.lower():  # deleting a meeting cancels it
                self.invitations.cancel(ev)

    def respond(self, ctx: Ctx, event_id: str, action: str) -> Response:
        """``POST /me/events/{id}/accept|tentativelyAccept|decline`` by an attendee."""
        body = ctx.request.get_json(silent=True) or {}
        if not isinstance(body, dict) or len(str(body.get("comment", ""))) > 10000:
            raise bad_request("Invalid response body.")
        with self.store.lock:
            ev, original = self._locate(ctx, event_id)
            if ev.organizer_email.lower() == ctx.user.email.lower():
                raise bad_request("Your request can't be completed. You can't respond to a meeting you organized.",
                                  "ErrorInvalidRequest")
            if original is not None:
                raise bad_request("This emulator answers invitations for the whole series only.",
                                  "ErrorInvalidRequest")
            self.invitations.respond(ctx.user, ev, action)
        return Response(status=202)

    def instances(self, ctx: Ctx, event_id: str) -> Response:
        """``GET /me/events/{id}/instances`` (window required)."""
        start, end = window_args(ctx)
        with self.store.lock:
            ev, original = self._locate(ctx, event_id)
            if original is not None or ev.recurrence is None:
                raise bad_request("The instances request is only supported on a recurring series master.",
                                  "ErrorInvalidRequest")
            return self._paged(ctx, ev.instances(start, end), f"events('{ev.id}')/instances")

    def list_events(self, ctx: Ctx) -> Response:
        """``GET /me/events``: series masters and single events."""
        with self.store.lock:
            events = sorted(ctx.user.events.values(), key=lambda e: e.created)
            zone, select = ctx.zone(), parse_select(ctx.request.args.get("$select"))
            return json_reply({"value": [event_json(e, zone, select=select, basic=ctx.basic,
                                                    expand=ctx.request.args.get("$expand")) for e in events]})

