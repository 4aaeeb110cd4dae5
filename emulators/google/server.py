"""The Google Calendar v3 + Google OAuth emulator: a Flask app served on 127.0.0.1 in a
background thread, with a Python control API (and the same over HTTP under ``/_emulator``)."""
from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from emulators.google import scopes as scope_names
from emulators.quota import UserQuota
from emulators.serving import BackgroundServer
from emulators.google.batch import BATCH_PART, register_batch_routes
from emulators.google.control import register_control_routes
from emulators.google.errors import ApiError
from emulators.google.event_rules import build_new_event, new_event_id
from emulators.google.events_api import register_event_routes
from emulators.google.faults import Faults, fault_error
from emulators.google.fields import parse_fields, select
from emulators.google.freebusy_api import register_freebusy_routes
from emulators.google.keys import shared_signing_keys
from emulators.google.oauth import register_oauth_routes
from emulators.google.push import Notifier
from emulators.google.store import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Store
from emulators.google.sync_api import register_sync_routes

DEFAULT_SCOPES = ("openid", scope_names.USERINFO_EMAIL, scope_names.FREEBUSY, scope_names.EVENTS_OWNED)
API_PREFIXES = ("/calendar/v3", "/batch")
CONSUMER_DOMAINS = frozenset({"gmail.com", "googlemail.com"})  # personal accounts: no shared directory
RESPONSE_LOG_LIMIT = 5000


class GoogleEmulator:
    """A loopback Google Calendar + OAuth server.

    >>> emu = GoogleEmulator().start()      # doctest: +SKIP
    >>> emu.base_url                         # doctest: +SKIP
    'http://127.0.0.1:54321'
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, client_id: str = DEFAULT_CLIENT_ID,
                 client_secret: str = DEFAULT_CLIENT_SECRET, seed: int = 0, auto_approve: bool | str = False,
                 token_lifetime_s: float = 3600, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, redirect_uris: tuple[str, ...] = (),
                 directory: Callable[[str], bool] | None = None):
        # directory: who has an account. None: any address can consent (a Google account is
        # created on first consent); else an unknown address is looked up with directory(email),
        # which may create it (add_user, add_event) and answers whether it exists.
        self.directory = directory
        self.host, self.port = host, port
        self.client_id, self.client_secret = client_id, client_secret
        self.store = Store(clock=clock)  # a test may pass a fake clock (token expiry, channel expiry)
        # No registered redirect URIs: any loopback one is accepted; otherwise exactly these.
        self.store.register_client(client_id, client_secret, tuple(redirect_uris))
        self.faults = Faults(self.store, seed)
        self.keys = shared_signing_keys()
        self.auto_approve = auto_approve  # True: approve when login_hint is given; an email: always that user
        self.token_lifetime_s = token_lifetime_s
        self.sleep = sleep
        self.free_busy_errors: dict[str, str] = {}  # email -> reason answered in freeBusy ``errors``
        self.meet_pending_reads = 0  # >0: new Meet links stay "pending" for that many events.get reads
        self.pending_conferences: dict[tuple[str, str], list] = {}
        self.response_log: list[str] = []  # every Calendar API reply body, for privacy checks
        self.quota = UserQuota()  # per-user quota (off until ``set_quota``); batch parts count one each
        self.private_domains: set[str] = set()  # Workspace domains that do not share free/busy inside
        self.latency_s = 0.0  # added to every API round trip (a batch is one round trip)
        self.request_log: list[RequestRecord] = []  # every OAuth / API request (batch parts too)
        self.notifier = Notifier(self.store, lambda: self.base_url, self.now)
        self.app = create_app(self)
        self._http: BackgroundServer | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "GoogleEmulator":
        self._http = BackgroundServer(self.app, name="google-emulator", host=self.host, port=self.port).start()
        self.port = self._http.port
        self.notifier.start()
        return self

    def stop(self) -> None:
        self.notifier.stop()
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self) -> "GoogleEmulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.store.clock(), timezone.utc)

    # --- endpoints a client needs ------------------------------------------------------------
    @property
    def calendar_endpoint(self) -> str:
        return self.base_url + "/calendar/v3/"

    @property
    def batch_uri(self) -> str:
        return self.base_url + "/batch/calendar/v3"

    @property
    def token_uri(self) -> str:
        return self.base_url + "/token"

    @property
    def auth_uri(self) -> str:
        return self.base_url + "/o/oauth2/auth"

    @property
    def revoke_uri(self) -> str:
        return self.base_url + "/revoke"

    # --- control -----------------------------------------------------------------------------
    def add_user(self, email: str, time_zone: str | None = None) -> str:
        """Create a user (and their primary calendar, zone UTC unless given); returns the
        normalised email. For an existing user, a given ``time_zone`` replaces theirs."""
        return self.store.ensure_user(email, time_zone).email

    def knows(self, email: str) -> bool:
        """Whether ``email`` may consent: any address without a directory; else a known user or
        one the directory knows (asked outside the store's lock)."""
        key = email.strip().lower()
        if self.directory is None:
            return bool(key)
        with self.store.lock:
            if key in self.store.users:
                return True
        return bool(key) and bool(self.directory(key))

    def add_event(self, email: str, start: datetime, end: datetime, summary: str = "Busy", *,
                  rrule: str | None = None, tz: str | None = None, transparent: bool = False,
                  cancelled: bool = False, secret: bool = True, attendees: tuple[str, ...] = ()) -> str:
        """Put one of the person's *other* events straight into their calendar; returns its id.

        Timed events use aware ``start``/``end``; with ``rrule`` the series repeats in ``tz``.
        """
        owner = self.add_user(email)
        zone = tz or "UTC"
        incoming: dict = {"summary": summary, "start": _event_time(start, zone), "end": _event_time(end, zone)}
        if rrule:
            incoming["recurrence"] = [rrule if rrule.startswith(("RRULE:", "EXDATE", "RDATE")) else "RRULE:" + rrule]
        if transparent:
            incoming["transparency"] = "transparent"
        if cancelled:
            incoming["status"] = "cancelled"
        if attendees:
            incoming["attendees"] = [{"email": a} for a in attendees]
        with self.store.lock:
            calendar = self.store.calendars[owner]
            body = build_new_event(incoming, new_event_id(), owner, self.store.users[owner].time_zone,
                                   self.base_url, 0, self.now())
            self.store.save_event(calendar, body, secret=secret)
        return body["id"]

    def grant(self, email: str, scopes: tuple[str, ...] = DEFAULT_SCOPES, *, client_id: str | None = None) -> dict:
        """Consent without the browser: a fresh grant; returns token, refresh_token, expiry, scopes."""
        owner = self.add_user(email)
        grant = self.store.new_grant(owner, client_id or self.client_id, tuple(scope_names.normalize_scopes(scopes)))
        access = self.store.issue_access_token(grant, self.token_lifetime_s)
        expiry = datetime.fromtimestamp(access.expires_at, timezone.utc).replace(tzinfo=None)
        return {"token": access.value, "refresh_token": grant.refresh_token, "expiry": expiry.isoformat(),
                "scopes": list(grant.scopes)}

    def set_quota(self, per_user: int | None, window_s: float = 60.0) -> None:
        """At most ``per_user`` Calendar API calls per user per ``window_s`` seconds (each call
        inside a batch counts, as at Google), then 429 ``rateLimitExceeded`` with ``Retry-After``.
        ``None`` turns the quota off (the default)."""
        self.quota.set(per_user, window_s)

    def may_read_free_busy(self, reader: str, owner: str) -> bool:
        """Whose free/busy a user's token may read in ``freeBusy``: their own, and (as Google
        Workspace shares free/busy inside an organisation by default) a colleague's in the same
        Workspace domain unless that domain is in ``private_domains``. Others answer ``notFound``."""
        reader_domain, owner_domain = reader.rpartition("@")[2], owner.rpartition("@")[2]
        return reader == owner or (reader_domain == owner_domain and reader_domain not in CONSUMER_DOMAINS
                                   and reader_domain not in self.private_domains)

    def set_latency(self, seconds: float) -> None:
        """Add ``seconds`` to every API round trip (a whole batch is delayed once)."""
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        self.latency_s = float(seconds)

    def revoke(self, email: str) -> None:
        self.store.revoke_user(email)

    def expire_tokens(self, email: str | None = None) -> None:
        self.store.expire_access_tokens(email)

    def invalidate_sync_tokens(self, email: str | None = None) -> None:
        self.store.invalidate_sync_tokens(email)

    def set_response(self, organizer: str, event_id: str, attendee: str, status: str) -> None:
        """An attendee answers an invitation (accepted / declined / tentative)."""
        with self.store.lock:
            calendar = self.store.calendars[organizer.lower()]
            body = copy.deepcopy(calendar.events[event_id].body)
            for entry in body.get("attendees", []):
                if entry["email"] == attendee.lower():
                    entry["responseStatus"] = status
            self.store.save_event(calendar, body)

    def events(self, email: str) -> list[dict]:
        """Stored event bodies of a person's calendar (series, singles and exceptions)."""
        with self.store.lock:
            calendar = self.store.calendars.get(email.lower())
            return [copy.deepcopy(e.body) for e in calendar.events.values()] if calendar else []

    def delete_calendar(self, email: str) -> None:
        """Remove a person's calendar (channels on it get ``not_exists``)."""
        with self.store.lock:
            self.store.calendars.pop(email.lower(), None)
        self.notifier.calendar_deleted(email.lower())

    @property
    def deliveries(self):
        return list(self.notifier.deliveries)

    def wait_for_deliveries(self, count: int, timeout: float = 5.0):
        return self.notifier.wait_for(count, timeout)


@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator answered (for tests: what the client really sent)."""

    method: str
    path: str
    query: dict
    body: object
    batch_part: bool
    status: int


def _over_quota(emu: GoogleEmulator) -> Response | None:
    """429 when the calling user has used up their quota (calls, batch parts included; the
    batch envelope itself is not a call). Unknown tokens are left to the auth check."""
    if not request.path.startswith("/calendar/v3") or emu.quota.limit is None:
        return None
    token = (request.headers.get("Authorization") or "")[7:].strip()
    with emu.store.lock:
        access = emu.store.access_tokens.get(token)
        user = access.grant.email if access is not None else None
    if user is None:
        return None
    wait = emu.quota.take(user)
    if wait is None:
        return None
    return ApiError(429, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits",
                    headers={"Retry-After": str(wait)}).response()


def _json_or_none(text: str) -> object:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


def _event_time(instant: datetime, zone: str) -> dict:
    if not isinstance(instant, datetime):
        return {"date": instant.isoformat()}
    if instant.tzinfo is None:
        raise ValueError("add_event needs aware datetimes")
    return {"dateTime": instant.astimezone(ZoneInfo(zone)).isoformat(), "timeZone": zone}


def create_app(emu: GoogleEmulator) -> Flask:
    """The Flask app behind the emulator."""
    app = Flask("google_emulator")

    @app.before_request
    def inject_faults():
        if not request.path.startswith(API_PREFIXES):
            return None
        batch_part = bool(request.environ.get(BATCH_PART))
        if emu.latency_s and not batch_part:
            emu.sleep(emu.latency_s)
        fault = emu.faults.take("api", request.path, batch_part=batch_part)
        if fault is None:
            return _over_quota(emu)
        if fault.delay:
            emu.sleep(fault.delay)
        if fault.kind == "expired_token":
            token = (request.headers.get("Authorization") or "")[7:].strip()
            with emu.store.lock:
                if token in emu.store.access_tokens:
                    emu.store.access_tokens[token].expired_by_control = True
            return ApiError(401, "authError", "Invalid Credentials", location="Authorization",
                            location_type="header").response()
        error = fault_error(fault)
        return error.response() if error is not None else None

    @app.after_request
    def partial_response(response: Response):
        api = request.path.startswith(API_PREFIXES)
        if api and not request.environ.get(BATCH_PART):
            fault = emu.faults.take("api", request.path, when="after")
            error = fault_error(fault) if fault is not None else None
            if error is not None:
                response = error.response()
        if request.path.startswith("/calendar/v3") and response.is_json and response.status_code < 300:
            fields = request.args.get("fields")
            if fields:
                response.set_data(json.dumps(select(response.get_json(), parse_fields(fields))))
        if not request.path.startswith("/_emulator") and len(emu.request_log) < RESPONSE_LOG_LIMIT:
            emu.request_log.append(RequestRecord(request.method, request.path, request.args.to_dict(),
                                                 _json_or_none(request.get_data(as_text=True)),
                                                 bool(request.environ.get(BATCH_PART)), response.status_code))
        if api and len(emu.response_log) < RESPONSE_LOG_LIMIT:
            emu.response_log.append(response.get_data(as_text=True))
        return response

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return exc.response()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith(API_PREFIXES):
            reason = {404: "notFound", 405: "httpMethodNotAllowed"}.get(exc.code or 400, "invalid")
            return ApiError(exc.code or 400, reason, exc.description or exc.name).response()
        return exc

    register_oauth_routes(app, emu)
    register_freebusy_routes(app, emu)
    register_event_routes(app, emu)
    register_sync_routes(app, emu)
    register_batch_routes(app, emu)
    register_control_routes(app, emu)
    return app
