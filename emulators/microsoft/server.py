"""The WSGI application and the HTTPS server thread of the Graph emulator.

``GraphApp`` routes ``/{tenant}/...`` to the identity platform, ``/v1.0/...`` to Graph (after the
bearer token, throttling, injected faults and the permission check) and ``/_emulator/...`` to
the control API.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .batch import run_batch
from .calendar_api import Calendar, Ctx
from .control import Control
from .identity import Identity
from .replies import GraphError, OAuthError, graph_error_reply, json_reply, oauth_error_reply
from .store import Store
from .sync import Delta, Subscriptions

log = logging.getLogger(__name__)

READ_BASIC = frozenset({"Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite"})
READ = frozenset({"Calendars.Read", "Calendars.ReadWrite"})
WRITE = frozenset({"Calendars.ReadWrite"})


@dataclass(frozen=True)
class GraphRoute:
    handler: Callable[..., Response]
    scopes: frozenset[str]


REPLY_LOG_LIMIT = 20000  # replies are kept for tests of what a client receives; not in long runs


class GraphApp:
    """The WSGI callable; ``base_url`` is set once the server knows its port."""

    def __init__(self, store: Store, subscriptions: Subscriptions, control: Control):
        self.store = store
        self.base_url = ""
        self.identity = Identity(store)
        self.calendar = Calendar(store, self._on_change)
        self.delta = Delta(store)
        self.subscriptions = subscriptions
        self.control = control
        c, d, s = self.calendar, self.delta, self.subscriptions
        graph = {
            "schedule": GraphRoute(c.get_schedule, READ_BASIC),
            "view": GraphRoute(c.calendar_view, READ_BASIC),
            "delta": GraphRoute(d.delta, READ_BASIC),
            "list_events": GraphRoute(c.list_events, READ_BASIC),
            "create_event": GraphRoute(c.create_event, WRITE),
            "get_event": GraphRoute(c.get_event, READ_BASIC),
            "update_event": GraphRoute(c.update_event, WRITE),
            "delete_event": GraphRoute(c.delete_event, WRITE),
            "instances": GraphRoute(c.instances, READ_BASIC),
            "cancel_event": GraphRoute(c.cancel_event, WRITE),
            "respond_event": GraphRoute(c.respond, WRITE),
            "create_subscription": GraphRoute(s.create, READ),
            "get_subscription": GraphRoute(s.get, READ),
            "renew_subscription": GraphRoute(s.renew, READ),
            "delete_subscription": GraphRoute(s.delete, READ),
            "reauthorize_subscription": GraphRoute(s.reauthorize, READ),
        }
        self.graph_routes = graph
        self.url_map = Map([
            Rule("/v1.0/$batch", endpoint="batch", methods=["POST"]),
            Rule("/v1.0/me/calendar/getSchedule", endpoint="schedule", methods=["POST"]),
            Rule("/v1.0/me/calendarView", endpoint="view", methods=["GET"]),
            Rule("/v1.0/me/calendar/calendarView", endpoint="view", methods=["GET"]),
            Rule("/v1.0/me/calendarView/delta", endpoint="delta", methods=["GET"]),
            Rule("/v1.0/me/calendar/calendarView/delta", endpoint="delta", methods=["GET"]),
            Rule("/v1.0/me/events", endpoint="list_events", methods=["GET"]),
            Rule("/v1.0/me/events", endpoint="create_event", methods=["POST"]),
            Rule("/v1.0/me/calendar/events", endpoint="create_event", methods=["POST"]),
            Rule("/v1.0/me/events/<event_id>", endpoint="get_event", methods=["GET"]),
            Rule("/v1.0/me/events/<event_id>", endpoint="update_event", methods=["PATCH"]),
            Rule("/v1.0/me/events/<event_id>", endpoint="delete_event", methods=["DELETE"]),
            Rule("/v1.0/me/events/<event_id>/instances", endpoint="instances", methods=["GET"]),
            Rule("/v1.0/me/events/<event_id>/cancel", endpoint="cancel_event", methods=["POST"]),
            Rule("/v1.0/me/events/<event_id>/<any(accept, tentativelyAccept, decline):action>",
                 endpoint="respond_event", methods=["POST"]),
            Rule("/v1.0/subscriptions", endpoint="create_subscription", methods=["POST"]),
            Rule("/v1.0/subscriptions/<sub_id>", endpoint="get_subscription", methods=["GET"]),
            Rule("/v1.0/subscriptions/<sub_id>", endpoint="renew_subscription", methods=["PATCH"]),
            Rule("/v1.0/subscriptions/<sub_id>", endpoint="delete_subscription", methods=["DELETE"]),
            Rule("/v1.0/subscriptions/<sub_id>/reauthorize", endpoint="reauthorize_subscription", methods=["POST"]),
            Rule("/_emulator/<action>", endpoint="control", methods=["GET", "POST"]),
            Rule("/<tenant>/v2.0/.well-known/openid-configuration", endpoint="openid", methods=["GET"]),
            Rule("/<tenant>/oauth2/v2.0/authorize", endpoint="authorize", methods=["GET", "POST"]),
            Rule("/<tenant>/oauth2/v2.0/token", endpoint="token", methods=["POST"]),
            Rule("/<tenant>/discovery/v2.0/keys", endpoint="keys", methods=["GET"]),
        ], strict_slashes=False)

    def _on_change(self, user, event_id: str, kind: str) -> None:
        user.record_change(event_id, kind)
        self.subscriptions.on_change(user, event_id, kind)

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path.startswith("/v1.0/") and self.store.latency:
            time.sleep(self.store.latency)
        response = self._logged(request, batch_part=False)
        return response(environ, start_response)

    def _logged(self, request: Request, *, batch_part: bool) -> Response:
        started = time.monotonic()
        response = self._dispatch(request, batch_part)
        entry = {"method": request.method, "path": request.path, "query": request.query_string.decode(),
                 "status": response.status_code, "ms": round((time.monotonic() - started) * 1000, 1),
                 "batch_part": batch_part}
        keep_reply = len(self.store.request_log) < REPLY_LOG_LIMIT
        if request.path.startswith("/v1.0/") and not response.is_streamed and keep_reply:
            entry["reply"] = response.get_data(as_text=True)  # for tests of what a client is sent
        self.store.log_request(entry)
        return response

    def _dispatch(self, request: Request, batch_part: bool = False) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except MethodNotAllowed:
            return self._error_reply(GraphError(405, "Request_BadRequest", "The HTTP method is not allowed."))
        except (NotFound, HTTPException):
            return self._error_reply(GraphError(400, "BadRequest", f"Resource not found for the segment "
                                                                     f"'{request.path.rsplit('/', 1)[-1]}'."))
        if endpoint == "control":
            return self.control.handle(request, values["action"])
        if endpoint == "batch" and batch_part:
            return self._error_reply(GraphError(400, "BadRequest", "A $batch cannot hold another $batch."))
        try:
            fault = self.store.take_fault(request.path)
            delay = fault.delay if fault is not None else 0.0
            if fault is not None and fault.status is not None and not fault.after:
                time.sleep(delay)
                return self._fault_reply(request, fault)
            if endpoint == "batch":
                time.sleep(delay)
                response = json_reply(run_batch(request, lambda sub: self._logged(sub, batch_part=True)))
            elif endpoint in self.graph_routes:
                response = self._graph(request, endpoint, values, delay)
            else:
                time.sleep(delay)
                response = self._identity(request, endpoint, values)
            if fault is not None and fault.status is not None and fault.after:
                return self._fault_reply(request, fault)  # done, but the caller never hears of it
            return response
        except GraphError as err:
            return self._error_reply(err, request.headers.get("client-request-id"))
        except OAuthError as err:
            return oauth_error_reply(err, self.store.now())
        except Exception:  # a bug in the emulator: say so like Graph would, and log it
            log.exception("graph emulator failed on %s %s", request.method, request.path)
            return self._error_reply(GraphError(500, "ErrorInternalServerError", "An internal server error occurred."))

    def _error_reply(self, err: GraphError, client_request_id: str | None = None) -> Response:
        return graph_error_reply(err, self.store.now(), client_request_id)

    def _fault_reply(self, request: Request, fault) -> Response:
        if "/oauth2/" in request.path:
            if fault.status == 429 or fault.status >= 500:
                resp = json_reply({"error": "temporarily_unavailable",
                                   "error_description": "AADSTS90033: A transient error has occurred."}, fault.status)
                if fault.retry_after is not None:
                    resp.headers["Retry-After"] = str(fault.retry_after)
                return resp
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        codes = {429: ("ApplicationThrottled", "Application is over its MailboxConcurrency limit."),
                 500: ("ErrorInternalServerError", "An internal server error occurred."),
                 502: ("BadGateway", "Bad gateway."),
                 503: ("ServiceUnavailable", "The service is temporarily unavailable."),
                 504: ("GatewayTimeout", "The gateway timed out."),
                 401: ("InvalidAuthenticationToken", "Access token has expired or is not yet valid.")}
        code, message = codes.get(fault.status, ("ErrorInternalServerError", "Injected failure."))
        return self._error_reply(GraphError(fault.status, fault.code or code, message, headers))

    def _identity(self, request: Request, endpoint: str, values: dict) -> Response:
        tenant = values["tenant"]
        if endpoint == "openid":
            return self.identity.openid_configuration(tenant)
        if endpoint == "authorize":
            return self.identity.authorize(request, tenant)
        if endpoint == "token":
            return self.identity.token(request, tenant)
        return self.identity.keys()

    def _graph(self, request: Request, endpoint: str, values: dict, delay: float = 0.0) -> Response:
        """Authenticate, throttle, check the permission, then run the handler (after ``delay``,
        an injected slow reply that counts against the mailbox's concurrency)."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        with self.store.lock:
            at = self.store.access_tokens.get(token)
            if at is None:
                raise GraphError(401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
            if at.expires_at <= self.store.now():
                raise GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
            user = self.store.users_by_oid[at.oid]
            self._check_throttle(user.oid)
        route = self.graph_routes[endpoint]
        if not route.scopes & set(at.scopes):
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        ctx = Ctx(request, user, at.scopes, self.base_url)
        slot = (at.client_id, user.oid)
        with self.store.lock:
            limit = self.store.concurrency_limit
            if limit is not None and self.store.in_flight.get(slot, 0) >= limit:
                raise GraphError(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                                 {"Retry-After": "1"})
            self.store.in_flight[slot] = self.store.in_flight.get(slot, 0) + 1
        try:
            if delay:
                time.sleep(delay)
            return route.handler(ctx, **values)
        finally:
            with self.store.lock:
                self.store.in_flight[slot] -= 1

    def _check_throttle(self, oid: str) -> None:
        retry = self.store.quota.take(oid)
        if retry is not None:
            raise GraphError(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                             {"Retry-After": str(retry)})
