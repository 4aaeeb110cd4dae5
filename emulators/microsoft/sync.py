"""Change tracking: ``calendarView/delta`` (pages, delta links, 410 for unknown sync state) and
``/subscriptions`` (validation handshake, renewal, change and lifecycle notifications)."""
from __future__ import annotations

import queue
import secrets
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urlparse

import requests
from werkzeug.wrappers import Response

from .calendar_api import PAGE_SIZE, Ctx, window_args
from .model import User, split_occurrence_id
from .replies import GraphError, bad_request, json_reply
from .serialize import EVENT_PROPERTIES, event_json, parse_select
from .store import DeltaState, Store, Subscription
from .zones import format_instant, parse_iso_naive

MAX_EVENT_SUBSCRIPTION_MINUTES = 10080
MAX_CLIENT_STATE = 128
VALIDATION_TIMEOUT = 10.0
NOTIFICATION_TIMEOUT = 3.0
CHANGE_TYPES = ("created", "updated", "deleted")


class Delta:
    """``GET /me/calendarView/delta``."""

    def __init__(self, store: Store):
        self.store = store

    def delta(self, ctx: Ctx) -> Response:
        """``GET /me/calendarView/delta``: first round, ``$skiptoken`` pages or a ``$deltatoken`` round."""
        args = {k.lower(): v for k, v in ctx.request.args.items()}
        page_size = _max_page_size(ctx.request.headers.get("Prefer"))
        with self.store.lock:
            if "$skiptoken" in args:
                state = self._state(args["$skiptoken"], ctx.user)
            elif "$deltatoken" in args:
                base = self._state(args["$deltatoken"], ctx.user)
                state = DeltaState(ctx.user.oid, ctx.user.change_seq, base.start, base.end,
                                   self._changed_items(ctx, base), base.select)
            else:
                unsupported = [k for k in ("$expand", "$filter", "$orderby", "$search") if k in args]
                if unsupported:
                    raise bad_request(f"The query parameter {unsupported[0]} is not supported on calendarView "
                                      "delta.", "ErrorInvalidParameter")
                start, end = window_args(ctx)
                select = _delta_select(args.get("$select"))  # kept in the tokens: later rounds honour it too
                items = [event_json(i.event, "UTC", instance=i, basic=ctx.basic, select=select)
                         for ev in ctx.user.events.values() for i in ev.instances(start, end)]
                state = DeltaState(ctx.user.oid, ctx.user.change_seq, start, end, items, select)
            page, state.pending = state.pending[:page_size], state.pending[page_size:]
            token = secrets.token_urlsafe(24)
            self.store.delta_states[token] = state
            path = ctx.request.path
            body = {"@odata.context": f"{ctx.base_url}/v1.0/$metadata#Collection(event)", "value": page}
            if state.pending:
                body["@odata.nextLink"] = f"{ctx.base_url}{path}?{urlencode({'$skiptoken': token})}"
            else:
                body["@odata.deltaLink"] = f"{ctx.base_url}{path}?{urlencode({'$deltatoken': token})}"
        return json_reply(body, headers={"Preference-Applied": "odata.track-changes"})

    def _state(self, token: str, user: User) -> DeltaState:
        state = self.store.delta_states.get(token)
        if state is None or state.oid != user.oid:
            raise GraphError(410, "SyncStateNotFound",
                             "The sync state generation is not found; resync required (resyncRequired).")
        return state

    def _changed_items(self, ctx: Ctx, base: DeltaState) -> list[dict]:
        user = ctx.user
        seen: dict[str, str] = {}
        for seq, event_id, kind in user.changes:
            if seq > base.seq:
                seen[event_id] = kind
        items: list[dict] = []
        for event_id, kind in seen.items():
            ev = user.events.get(event_id)
            inside = ev.instances(base.start, base.end) if ev is not None and kind != "deleted" else []
            if inside:
                items.extend(event_json(i.event, "UTC", instance=i, basic=ctx.basic, select=base.select)
                             for i in inside)
            else:  # deleted, or changed outside the window: Graph reports both as removed
                items.append({"@odata.type": "#microsoft.graph.event", "id": event_id,
                              "@removed": {"reason": "deleted"}})
        return items


def _delta_select(raw: str | None) -> frozenset[str] | None:
    """``$select`` of a first delta request; a property an event does not have is a 400, as in Graph."""
    select = parse_select(raw)
    if select is None:
        return None
    for name in sorted(select):
        if name not in EVENT_PROPERTIES:
            raise bad_request(f"Could not find a property named '{name}' on type 'microsoft.graph.event'.",
                              "BadRequest")
    return frozenset(select)


def _max_page_size(prefer: str | None) -> int:
    for part in (prefer or "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
            return max(1, int(value))
    return PAGE_SIZE


class Subscriptions:
    """``/subscriptions`` and the delivery of notifications (a background thread)."""

    def __init__(self, store: Store, ca_file: str, allow_http: bool = False):
        self.store = store
        self.allow_http = allow_http
        self._session = requests.Session()
        self._session.verify = ca_file
        self._session.trust_env = False
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self.redirects: dict[str, str] = {}  # URL prefix -> replacement (test-only DNS)

    def _target(self, url: str) -> str:
        for prefix, replacement in self.redirects.items():
            if url.startswith(prefix):
                return replacement + url[len(prefix):]
        return url

    # --- lifecycle of the delivery thread -----------------------------------------------------
    def start(self) -> None:
        """Start the notification delivery thread."""
        self._thread = threading.Thread(target=self._deliver_loop, name="graph-emulator-notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the delivery thread and close the HTTP session."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None
        self._session.close()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until queued notifications were delivered (or failed)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _deliver_loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                url, body = item
                entry = {"url": url, "body": body, "at": self.store.now().isoformat()}
                try:
                    resp = self._session.post(self._target(url), json=body, timeout=NOTIFICATION_TIMEOUT)
                    entry["status"] = resp.status_code
                    resp.close()
                except requests.RequestException as exc:
                    entry["error"] = type(exc).__name__
                with self.store.lock:
                    self.store.notification_log.append(entry)
            finally:
                self._queue.task_done()

    # --- REST ---------------------------------------------------------------------------------
    def create(self, ctx: Ctx) -> Response:
        """``POST /subscriptions`` (validates the endpoint first)."""
        body = ctx.json()
        change_types = tuple(t.strip() for t in str(body.get("changeType", "")).split(",") if t.strip())
        if not change_types or any(t not in CHANGE_TYPES for t in change_types):
            raise bad_request("changeType must be a comma-separated list of created, updated, deleted.",
                              "InvalidRequest")
        resource = str(body.get("resource", "")).strip("/")
        if resource.lower() not in ("me/events", "me/calendar/events", f"users/{ctx.user.oid}/events",
                                    f"users/{ctx.user.email.lower()}/events"):
            raise bad_request(f"Resource '{resource}' is not supported by this emulator or not yours.",
                              "InvalidRequest")
        notification_url = self._check_url(body.get("notificationUrl"), "notificationUrl")
        lifecycle_url = body.get("lifecycleNotificationUrl")
        if lifecycle_url is not None:
            lifecycle_url = self._check_url(lifecycle_url, "lifecycleNotificationUrl")
        client_state = body.get("clientState")
        if client_state is not None and (not isinstance(client_state, str) or len(client_state) > MAX_CLIENT_STATE):
            raise bad_request(f"clientState must be a string of at most {MAX_CLIENT_STATE} characters.",
                              "InvalidRequest")
        expires = self._check_expiration(body.get("expirationDateTime"))
        self._validate_endpoint(notification_url)
        if lifecycle_url and lifecycle_url != notification_url:
            self._validate_endpoint(lifecycle_url)
        client_id = self._client_id(ctx)
        sub = Subscription(str(uuid.uuid4()), ctx.user.oid, client_id, resource, change_types,
                           notification_url, lifecycle_url, client_state, expires)
        with self.store.lock:
            self.store.subscriptions[sub.id] = sub
        return json_reply(self._json(ctx, sub), 201)

    def get(self, ctx: Ctx, sub_id: str) -> Response:
        """``GET /subscriptions/{id}``."""
        return json_reply(self._json(ctx, self._own(ctx, sub_id)))

    def renew(self, ctx: Ctx, sub_id: str) -> Response:
        """``PATCH /subscriptions/{id}`` with a new ``expirationDateTime``."""
        body = ctx.json()
        sub = self._own(ctx, sub_id)
        expires = self._check_expiration(body.get("expirationDateTime"))
        with self.store.lock:
            sub.expires_at = expires
        return json_reply(self._json(ctx, sub))

    def reauthorize(self, ctx: Ctx, sub_id: str) -> Response:
        """``POST /subscriptions/{id}/reauthorize``: the answer to ``reauthorizationRequired``."""
        self._own(ctx, sub_id)
        return Response(status=204)

    def delete(self, ctx: Ctx, sub_id: str) -> Response:
        """``DELETE /subscriptions/{id}``."""
        sub = self._own(ctx, sub_id)
        with self.store.lock:
            self.store.subscriptions.pop(sub.id, None)
        return Response(status=204)

    def _own(self, ctx: Ctx, sub_id: str) -> Subscription:
        with self.store.lock:
            sub = self.store.subscriptions.get(sub_id)
            if sub is not None and sub.expires_at < self.store.now():
                del self.store.subscriptions[sub_id]
                sub = None
        if sub is None or sub.oid != ctx.user.oid:
            raise GraphError(404, "ResourceNotFound", "The object was not found.")
        return sub

    def _client_id(self, ctx: Ctx) -> str:
        token = ctx.request.headers.get("Authorization", "").partition(" ")[2]
        at = self.store.access_tokens.get(token)
        return at.client_id if at else ""

    def _check_url(self, url: object, field: str) -> str:
        if not isinstance(url, str) or not url:
            raise bad_request(f"{field} is required.", "InvalidRequest")
        scheme = urlparse(url).scheme
        if scheme != "https" and not (self.allow_http and scheme == "http"):
            raise bad_request(f"{field} must use https.", "InvalidRequest")
        return url

    def _check_expiration(self, raw: object) -> datetime:
        if not isinstance(raw, str):
            raise bad_request("expirationDateTime is required.", "InvalidRequest")
        try:
            expires = parse_iso_naive(raw)
        except ValueError as exc:
            raise bad_request("expirationDateTime is not a valid date.", "InvalidRequest") from exc
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)
        now = self.store.now()
        if expires <= now:
            raise bad_request("Subscription expiration must be in the future.", "InvalidRequest")
        if expires > now + timedelta(minutes=MAX_EVENT_SUBSCRIPTION_MINUTES):
            raise bad_request(f"Subscription expiration can only be {MAX_EVENT_SUBSCRIPTION_MINUTES} minutes in the "
                              "future.", "ExtensionError")
        return expires

    def _validate_endpoint(self, url: str) -> None:
        token = "Validation: Testing client application reachability for subscription Request-Id: " + str(uuid.uuid4())
        sep = "&" if "?" in url else "?"
        try:
            resp = self._session.post(self._target(f"{url}{sep}{urlencode({'validationToken': token})}"),
                                      headers={"Content-Type": "text/plain; charset=utf-8"}, data=b"",
                                      timeout=VALIDATION_TIMEOUT)
            ok = resp.status_code == 200 and resp.text == token
            resp.close()
        except requests.RequestException:
            ok = False
        if not ok:
            raise bad_request("Subscription validation request failed. Notification endpoint must respond with "
                              "200 OK to validation request.", "ValidationError")

    def _json(self, ctx: Ctx, sub: Subscription) -> dict:
        return {"@odata.context": f"{ctx.base_url}/v1.0/$metadata#subscriptions/$entity", "id": sub.id,
                "resource": sub.resource, "applicationId": sub.client_id, "changeType": ",".join(sub.change_types),
                "clientState": sub.client_state, "notificationUrl": sub.notification_url,
                "lifecycleNotificationUrl": sub.lifecycle_url,
                "expirationDateTime": format_instant(sub.expires_at), "creatorId": sub.oid,
                "latestSupportedTlsVersion": "v1_2", "notificationContentType": "application/json",
                "includeResourceData": False}

    # --- notifications ------------------------------------------------------------------------
    def on_change(self, user: User, event_id: str, kind: str) -> None:
        """Called under the store lock whenever an event of ``user`` changes."""
        if split_occurrence_id(event_id) is not None:
            return  # the master's own "updated" change covers it
        now = self.store.now()
        for sub in list(self.store.subscriptions.values()):
            if sub.oid != user.oid or sub.expires_at < now or kind not in sub.change_types:
                continue
            resource = f"Users/{user.oid}/Events/{event_id}"
            self._queue.put((sub.notification_url, {"value": [{
                "subscriptionId": sub.id, "subscriptionExpirationDateTime": format_instant(sub.expires_at),
                "changeType": kind, "resource": resource, "clientState": sub.client_state, "tenantId": user.tid,
                "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource, "id": event_id}}]}))

    def lifecycle(self, sub_id: str, event: str) -> None:
        """Send a lifecycle notification (reauthorizationRequired, subscriptionRemoved, missed)."""
        if event not in ("reauthorizationRequired", "subscriptionRemoved", "missed"):
            raise ValueError(f"unknown lifecycle event {event!r}")
        with self.store.lock:
            sub = self.store.subscriptions.get(sub_id)
            if sub is None:
                raise KeyError(f"no subscription {sub_id}")
            user = self.store.users_by_oid[sub.oid]
            if event == "subscriptionRemoved":
                del self.store.subscriptions[sub_id]
            self._queue.put((sub.lifecycle_url or sub.notification_url, {"value": [{
                "subscriptionId": sub.id, "subscriptionExpirationDateTime": format_instant(sub.expires_at),
                "tenantId": user.tid, "clientState": sub.client_state, "lifecycleEvent": event}]}))
