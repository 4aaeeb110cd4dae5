"""``GraphEmulator``: Microsoft Graph v1.0 calendar endpoints and an MSAL-compatible authority,
served over HTTPS on 127.0.0.1 from a background thread, with a Python control API.

    emu = GraphEmulator().start()
    emu.add_user("ada@contoso.example")
    app = msal.ConfidentialClientApplication(emu.client_id, client_credential=emu.client_secret,
        authority=emu.authority, instance_discovery=False, http_client=client_session(emu.ca_file))
    ...
    emu.stop()
"""
from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from typing import Callable, Iterable


from emulators.serving import BackgroundServer
from emulators.tls import LocalTls, shared_tls

from .control import Control
from .invitations import RESPONSES
from .model import Attendee, Event, User, new_id
from .recurrence import parse_recurrence
from .server import GraphApp
from .store import Fault, Store, Subscription
from .sync import Subscriptions

DEFAULT_CLIENT_ID = "3f6c2b1e-7a5d-4c1e-9f0a-5b8e2d4c6a10"
DEFAULT_CLIENT_SECRET = "emulator-secret~not-for-production"
DEFAULT_TENANT = "organizations"


class GraphEmulator:
    """A loopback Microsoft Graph + identity platform. See the module docstring."""

    def __init__(self, *, port: int = 0, tenant: str = DEFAULT_TENANT, tls: LocalTls | None = None,
                 allow_http_webhooks: bool = False, deliver_invitations: bool = False,
                 directory: Callable[[str], bool] | None = None, clock: Callable[[], float] = time.time):
        """``directory``: an outside directory the tenant syncs its accounts from (as a tenant
        synced from an organisation's own directory knows everyone in it). When someone signs in
        with an address the emulator does not know, ``directory(email)`` is asked (outside the
        emulator's lock); it may create the mailbox (``add_user``, ``add_event``) and answers
        whether the account exists. Without one, only accounts added with ``add_user`` (or the
        ``users`` control action) can sign in, and others get AADSTS50034 as on a real tenant.

        ``clock`` (seconds since the epoch, default ``time.time``) is the emulator's time: the
        expiry of codes, tokens and subscriptions, the ``iat``/``exp`` of ID tokens, events'
        created/modified stamps, response times and the stamps of notifications and errors all
        follow it, so a test or a sandbox that jumps its clock ahead sees what Graph would then."""
        self.tls = tls or shared_tls()
        self.tenant = tenant
        self._port = port
        self.store = Store(clock=clock)
        self.store.directory = directory
        self._control = Control()
        self._subs = Subscriptions(self.store, self.tls.ca_file, allow_http=allow_http_webhooks)
        self.app = GraphApp(self.store, self._subs, self._control)
        self._control.emulator = self
        self._http = BackgroundServer(self.app, name="graph-emulator", port=port, ssl_context=self.tls.server_context())
        self.client_id, self.client_secret = DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
        self.register_client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        self.set_deliver_invitations(deliver_invitations)

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "GraphEmulator":
        """Bind a free port (or the one given) and serve in a background thread; returns self."""
        self._http.start()
        self.app.base_url = self.base_url
        self.app.identity.issuer_base = self.origin
        self._subs.start()
        return self

    def stop(self) -> None:
        """Stop serving and the notification thread."""
        self._http.stop()
        self._subs.stop()

    def __enter__(self) -> "GraphEmulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def now(self) -> datetime:
        """The emulator's time (its ``clock``), aware UTC."""
        return self.store.now()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._http.port

    @property
    def origin(self) -> str:
        """``https://127.0.0.1:PORT``."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Graph root; requests go to ``{base_url}/v1.0/...``."""
        return self.origin

    @property
    def graph_url(self) -> str:
        """``{origin}/v1.0``."""
        return f"{self.origin}/v1.0"

    @property
    def authority(self) -> str:
        """The MSAL authority, ``{origin}/{tenant}``."""
        return f"{self.origin}/{self.tenant}"

    @property
    def ca_file(self) -> str:
        """PEM of the CA that signed the server certificate (give it to clients)."""
        return self.tls.ca_file

    # --- directory ----------------------------------------------------------------------------
    def add_user(self, email: str, *, personal: bool = False, time_zone: str = "UTC",
                 tenant: str | None = None) -> User:
        """Create a mailbox (an existing one is returned unchanged); ``personal=True`` makes it an
        outlook.com (Microsoft account) mailbox in the consumer tenant. Work mailboxes share one
        tenant unless ``tenant`` names their organisation (getSchedule sees only one's own tenant)."""
        return self.store.add_user(email, personal=personal, time_zone=time_zone, tenant=tenant)

    def register_client(self, client_id: str, secret: str | None, redirect_uris: Iterable[str] = ()) -> None:
        """Register an app; no redirect URIs means any loopback redirect URI is accepted."""
        self.store.register_client(client_id, secret, tuple(redirect_uris))

    def set_auto_approve(self, enabled: bool = True) -> None:
        """Authorize requests with a known ``login_hint`` redirect at once (no consent page)."""
        with self.store.lock:
            self.store.auto_approve = enabled

    def set_deliver_invitations(self, enabled: bool = True) -> None:
        """Copy meetings into the mailboxes of attendees who have one here (tentative until they
        answer), like Exchange within a tenant. Off by default."""
        with self.store.lock:
            self.store.deliver_invitations = enabled

    # --- calendar back door -------------------------------------------------------------------
    def add_event(self, email: str, subject: str, start: datetime, end: datetime, *, show_as: str = "busy",
                  recurrence: dict | None = None, sensitivity: str = "normal", cancelled: bool = False,
                  body: str = "") -> str:
        """Put one of the person's own events straight into their calendar; returns its id.

        ``start``/``end`` are aware datetimes; ``recurrence`` is a Graph ``patternedRecurrence``.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("add_event needs aware datetimes")
        with self.store.lock:
            user = self.store.user(email)
            zone = getattr(start.tzinfo, "key", "UTC")
            # a cancelled meeting still in someone's calendar is an attendee copy (the organizer's own
            # cancelled copy would be in Deleted Items, not in the calendar)
            organizer = "organizer@elsewhere.example" if cancelled else user.email
            ev = Event(id=new_id(), owner=user.email, subject=subject, start=start, end=end, start_zone=zone,
                       end_zone=zone, show_as=show_as, organizer_email=organizer, sensitivity=sensitivity,
                       is_cancelled=cancelled, body=body, created=self.store.now())
            if recurrence is not None:
                ev.recurrence = parse_recurrence(recurrence, start, zone)
            user.events[ev.id] = ev
            self.app._on_change(user, ev.id, "created")
            return ev.id

    def events(self, email: str) -> list[Event]:
        """The events of a mailbox (live objects, for inspection)."""
        with self.store.lock:
            return list(self.store.user(email).events.values())

    def respond(self, email: str, event_id: str, attendee: str, response: str) -> None:
        """Record an attendee's answer (accepted, declined, tentativelyAccepted) on an event."""
        if response not in ("accepted", "declined", "tentativelyAccepted", "none"):
            raise ValueError(f"unknown response {response!r}")
        with self.store.lock:
            user = self.store.user(email)
            ev = user.events[event_id]
            copy_owner = self.store.users.get(attendee.lower())
            copy = copy_owner.events.get(ev.copies.get(attendee.lower(), "")) if copy_owner else None
            if copy is not None and response != "none":  # answered from the attendee's own calendar
                action = {v: k for k, v in RESPONSES.items()}[response]
                self.app.calendar.invitations.respond(copy_owner, copy, action)
                return
            now = self.store.now().astimezone()
            for a in ev.attendees:
                if a.email.lower() == attendee.lower():
                    a.response, a.response_time = response, now
                    break
            else:
                ev.attendees.append(Attendee(attendee, response=response, response_time=now))
            ev.touch(now)
            self.app._on_change(user, ev.id, "updated")

    # --- faults -------------------------------------------------------------------------------
    def fail_next(self, status: int | None, *, count: int = 1, path_contains: str = "/v1.0/",
                  retry_after: int | None = None, delay: float = 0.0, code: str | None = None,
                  after: bool = False) -> None:
        """Answer the next ``count`` requests whose path contains ``path_contains`` with ``status``
        (429 gets ``Retry-After`` when given); ``status=None`` with ``delay`` only slows them;
        ``after=True`` carries the request out and then loses the reply (a timeout after success)."""
        with self.store.lock:
            self.store.faults.append(Fault(status, count, path_contains, retry_after, delay, code, after))

    def fail_rate(self, probability: float, *, statuses: tuple[int, ...] = (503, 429), seed: int = 0,
                  path_contains: str = "/v1.0/") -> None:
        """From now on answer a ``probability`` share of matching requests with one of
        ``statuses`` (429 with ``Retry-After: 1``), drawn from a seeded RNG; 0 turns it off."""
        with self.store.lock:
            self.store.random_faults = None if probability <= 0 else (
                probability, tuple(statuses), path_contains, random.Random(seed))

    def slow_next(self, delay: float, *, count: int = 1, path_contains: str = "/v1.0/") -> None:
        """Delay the next ``count`` matching requests by ``delay`` seconds."""
        self.fail_next(None, count=count, path_contains=path_contains, delay=delay)

    def expire_access_tokens(self, email: str | None = None) -> int:
        """Make issued access tokens expired: Graph answers 401 InvalidAuthenticationToken."""
        return self.store.expire_access_tokens(email)

    def revoke_refresh_tokens(self, email: str) -> int:
        """The person revoked consent / reset their password: refresh gives invalid_grant AADSTS50173."""
        return self.store.set_refresh_state(email, "revoked")

    def expire_refresh_tokens(self, email: str) -> int:
        """Refresh tokens unused for 90 days: invalid_grant AADSTS700082."""
        return self.store.set_refresh_state(email, "expired")

    def invalidate_delta_tokens(self) -> None:
        """Forget every delta/skip token: the next delta call answers 410 SyncStateNotFound."""
        with self.store.lock:
            self.store.delta_states.clear()

    def set_concurrency_limit(self, limit: int | None) -> None:
        """Concurrent Graph requests allowed per app and mailbox (Graph: 4; None: unlimited)."""
        with self.store.lock:
            self.store.concurrency_limit = limit

    def set_token_lifetime(self, seconds: int) -> None:
        """Lifetime of access tokens issued from now on (``expires_in``; default 3599 s)."""
        with self.store.lock:
            self.store.access_token_lifetime = timedelta(seconds=seconds)

    def set_throttle(self, limit: int | None, window: float = 600.0) -> None:
        """At most ``limit`` Graph requests per mailbox per ``window`` seconds (each request inside
        a ``$batch`` counts), then 429 ``ApplicationThrottled`` with ``Retry-After``. None: off."""
        self.store.quota.set(limit, window)

    set_quota = set_throttle  # the same per-user quota under the Google emulator's name

    def hide_from_address_list(self, email: str) -> None:
        """Hide a mailbox from the address list (Exchange's HiddenFromAddressListsEnabled):
        colleagues' getSchedule answers ErrorMailRecipientNotFound for it; its owner still reads it."""
        with self.store.lock:
            self.store.hidden.add(email.lower())

    def set_latency(self, seconds: float) -> None:
        """Add ``seconds`` to every Graph round trip (a ``$batch`` is delayed once)."""
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        with self.store.lock:
            self.store.latency = float(seconds)

    # --- subscriptions ------------------------------------------------------------------------
    def redirect_webhooks(self, prefix: str, target: str) -> None:
        """Deliver webhook calls for URLs starting with ``prefix`` to ``target`` instead (a test-only
        stand-in for DNS, e.g. ``https://tandem.example.org`` -> ``https://127.0.0.1:PORT``)."""
        self._subs.redirects[prefix] = target

    def subscriptions(self) -> list[Subscription]:
        """Live subscriptions (those not yet expired on the emulator's clock)."""
        with self.store.lock:
            now = self.store.now()
            return [sub for sub in self.store.subscriptions.values() if sub.expires_at >= now]

    def trigger_lifecycle(self, subscription_id: str, event: str) -> None:
        """Send a lifecycle notification: reauthorizationRequired, subscriptionRemoved or missed."""
        self._subs.lifecycle(subscription_id, event)

    def flush_notifications(self, timeout: float = 5.0) -> None:
        """Wait until queued notifications have been delivered (or failed)."""
        self._subs.flush(timeout)

    def notifications(self) -> list[dict]:
        """Every notification delivery: url, body, status or error."""
        with self.store.lock:
            return list(self.store.notification_log)

    # --- logs ---------------------------------------------------------------------------------
    def requests(self) -> list[dict]:
        """Every request served: method, path, query, status, ms, and the reply body of Graph calls (``reply``)."""
        with self.store.lock:
            return list(self.store.request_log)

    def reset_logs(self) -> None:
        """Forget logged requests and notifications, and pending faults."""
        with self.store.lock:
            self.store.request_log.clear()
            self.store.notification_log.clear()
            self.store.faults.clear()
