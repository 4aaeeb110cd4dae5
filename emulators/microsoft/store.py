"""All emulator state behind one lock: users and calendars, OAuth clients, codes and tokens,
delta cursors, subscriptions, injected faults and a request log."""
from __future__ import annotations

import random

import secrets
import threading
import time
import uuid
from typing import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from emulators.quota import UserQuota

from .model import PERSONAL_TENANT, User

WORK_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
_TENANT_NAMESPACE = uuid.UUID("5b1f0a3e-2c7d-4e8a-9b6f-0d4c3a2e1f70")


def tenant_id(name: str) -> str:
    """The tenant id of an organisation named ``name`` (stable): users of one tenant see each
    other's free/busy through getSchedule, users of others do not."""
    return str(uuid.uuid5(_TENANT_NAMESPACE, name.lower()))


@dataclass
class Client:
    client_id: str
    secret: str | None  # None: a public client
    redirect_uris: tuple[str, ...] = ()  # empty: any loopback redirect is accepted


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    oid: str
    scopes: tuple[str, ...]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: datetime
    used: bool = False


@dataclass
class RefreshToken:
    token: str
    client_id: str
    oid: str
    scopes: tuple[str, ...]
    expires_at: datetime
    state: str = "active"  # active | rotated | revoked | expired


@dataclass
class AccessToken:
    token: str
    client_id: str
    oid: str
    scopes: tuple[str, ...]
    expires_at: datetime


@dataclass
class DeltaState:
    oid: str
    seq: int
    start: datetime
    end: datetime
    pending: list[dict] = field(default_factory=list)  # items not yet paged out (skiptoken state)
    select: frozenset[str] | None = None  # the first request's $select, kept for the whole round (as Graph does)


@dataclass
class Subscription:
    id: str
    oid: str
    client_id: str
    resource: str
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires_at: datetime


@dataclass
class Fault:
    """Answer the next ``count`` matching requests with ``status`` (or delay them). With
    ``after=True`` the request is carried out first and only its reply is lost."""

    status: int | None
    count: int
    path_contains: str = "/v1.0/"
    retry_after: int | None = None
    delay: float = 0.0
    code: str | None = None
    after: bool = False


class Store:
    """Mutable state of one emulator. Handlers take ``lock`` for every read and write.

    ``clock`` (seconds since the epoch) is the emulator's time: every expiry and every stamp it
    writes reads it (a test or a sandbox may pass its own, so a jump ahead expires tokens and
    subscriptions as the real service would)."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}  # by lower-cased email
        self.users_by_oid: dict[str, User] = {}
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, AuthCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.pending_authorizations: dict[str, dict] = {}
        self.delta_states: dict[str, DeltaState] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.faults: list[Fault] = []
        self.random_faults: tuple[float, tuple[int, ...], str, random.Random] | None = None
        self.request_log: list[dict] = []
        self.notification_log: list[dict] = []
        self.auto_approve = False
        # accounts synced from an outside directory on first sign-in (see GraphEmulator.directory)
        self.directory: Callable[[str], bool] | None = None
        self.deliver_invitations = False  # copy meetings into attendees' mailboxes (see invitations.py)
        self.access_token_lifetime = timedelta(seconds=3599)
        self.refresh_token_lifetime = timedelta(days=90)
        self.quota = UserQuota()  # requests per mailbox per window (off by default); $batch parts count
        self.hidden: set[str] = set()  # mailboxes hidden from the address list: colleagues cannot look them up
        self.latency = 0.0  # seconds added to every Graph round trip (a $batch is one)
        self.concurrency_limit: int | None = 4  # Graph: 4 concurrent requests per app per mailbox
        self.in_flight: dict[tuple[str, str], int] = {}  # (client id, oid) -> requests being served

    def now(self) -> datetime:
        """The emulator's current time (aware, UTC)."""
        return datetime.fromtimestamp(self.clock(), timezone.utc)

    # --- users and clients ---------------------------------------------------------------
    def add_user(self, email: str, *, personal: bool = False, display_name: str = "",
                 time_zone: str = "UTC", tenant: str | None = None) -> User:
        with self.lock:
            key = email.lower()
            if key in self.users:  # already there: unchanged
                return self.users[key]
            tid = PERSONAL_TENANT if personal else tenant_id(tenant) if tenant else WORK_TENANT
            user = User(email=email, oid=str(uuid.uuid4()), tid=tid,
                        personal=personal, display_name=display_name or email.split("@")[0].title(),
                        time_zone=time_zone)
            self.users[key] = user
            self.users_by_oid[user.oid] = user
            return user

    def account(self, email: str) -> User | None:
        """The user signing in as ``email``: a known one, or one the outside directory (if any)
        provisions now; None when the directory does not know the address either. The directory is
        asked outside the lock (it may call back into the emulator to create the mailbox)."""
        key = email.strip().lower()
        if not key:
            return None
        with self.lock:
            user = self.users.get(key)
        if user is None and self.directory is not None and self.directory(key):
            with self.lock:
                user = self.users.get(key)
        return user

    def user(self, email: str) -> User:
        with self.lock:
            try:
                return self.users[email.lower()]
            except KeyError:
                raise KeyError(f"no emulator user {email!r}; add it with add_user") from None

    def register_client(self, client_id: str, secret: str | None, redirect_uris: tuple[str, ...] = ()) -> Client:
        with self.lock:
            client = Client(client_id, secret, tuple(redirect_uris))
            self.clients[client_id] = client
            return client

    # --- tokens ---------------------------------------------------------------------------
    def issue_tokens(self, client_id: str, oid: str, scopes: tuple[str, ...]) -> tuple[AccessToken, RefreshToken]:
        now = self.now()
        with self.lock:
            at = AccessToken("eyJ0eXAiOiJKV1QiLCJub25jZSI6" + secrets.token_urlsafe(48), client_id, oid, scopes,
                             now + self.access_token_lifetime)
            rt = RefreshToken("0.AXEA" + secrets.token_urlsafe(64), client_id, oid, scopes,
                              now + self.refresh_token_lifetime)
            self.access_tokens[at.token] = at
            self.refresh_tokens[rt.token] = rt
            return at, rt

    def expire_access_tokens(self, email: str | None = None) -> int:
        with self.lock:
            past = self.now() - timedelta(seconds=1)
            n = 0
            for at in self.access_tokens.values():
                if email is None or at.oid == self.user(email).oid:
                    at.expires_at = past
                    n += 1
            return n

    def set_refresh_state(self, email: str, state: str) -> int:
        with self.lock:
            oid = self.user(email).oid
            n = 0
            for rt in self.refresh_tokens.values():
                if rt.oid == oid and rt.state == "active":
                    rt.state = state
                    n += 1
            if state == "revoked":  # revoking sessions also kills issued access tokens
                for token in [t for t, at in self.access_tokens.items() if at.oid == oid]:
                    del self.access_tokens[token]
            return n

    # --- faults ---------------------------------------------------------------------------
    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.path_contains in path:
                    fault.count -= 1
                    if fault.count == 0:
                        self.faults.remove(fault)
                    return fault
            if self.random_faults is not None:
                probability, statuses, path_contains, rng = self.random_faults
                if path_contains in path and rng.random() < probability:
                    status = rng.choice(statuses)
                    return Fault(status, 1, path_contains, retry_after=1 if status == 429 else None)
            return None

    def log_request(self, entry: dict) -> None:
        with self.lock:
            self.request_log.append(entry)
