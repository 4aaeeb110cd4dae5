"""The emulator's in-memory state: users, OAuth grants, calendars with their events, sync
generations and push channels. One lock guards it all; the server is threaded."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

DEFAULT_CLIENT_ID = "tandem-emulator.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "emulator-secret"


@dataclass
class User:
    email: str
    time_zone: str = "UTC"
    name: str = ""


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()  # empty: any loopback redirect is accepted


@dataclass
class AuthCode:
    value: str
    client_id: str
    redirect_uri: str
    email: str
    scopes: tuple[str, ...]
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    offline: bool = False
    force_consent: bool = False
    used: bool = False


@dataclass
class Grant:
    """A refresh token: one person's consent for one client."""

    refresh_token: str
    email: str
    client_id: str
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class AccessToken:
    value: str
    grant: Grant
    expires_at: float
    expired_by_control: bool = False

    def usable(self, now: float) -> bool:
        return not self.grant.revoked and not self.expired_by_control and now < self.expires_at


@dataclass
class StoredEvent:
    """One event resource as stored (a series, a single event, or a series exception)."""

    calendar_id: str
    body: dict
    seq: int
    secret: bool = False  # seeded "other" event whose title must never leak

    @property
    def id(self) -> str:
        return self.body["id"]


@dataclass
class Calendar:
    id: str
    owner: str
    events: dict[str, StoredEvent] = field(default_factory=dict)
    sync_generation: int = 1


@dataclass
class Channel:
    id: str
    resource_id: str
    calendar_id: str
    address: str
    token: str | None
    expiration_ms: int
    owner: str
    message_number: int = 0
    stopped: bool = False


class Store:
    """All emulator state. Use ``with store.lock:`` around multi-step changes."""

    def __init__(self, *, clock: Callable[[], float] = time.time):
        self.lock = threading.RLock()
        self.clock = clock
        self.users: dict[str, User] = {}
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.calendars: dict[str, Calendar] = {}
        self.channels: dict[str, Channel] = {}
        self._seq = 0
        self.change_listeners: list[Callable[[str], None]] = []

    # --- users and clients -------------------------------------------------------------------
    def ensure_user(self, email: str, time_zone: str | None = None) -> User:
        """The user with this email and their primary calendar (id = email), created if new."""
        email = email.strip().lower()
        with self.lock:
            user = self.users.get(email)
            if user is None:
                user = self.users[email] = User(email, time_zone or "UTC", email.split("@")[0].title())
            elif time_zone:
                user.time_zone = time_zone
            self.calendars.setdefault(email, Calendar(email, email))  # again after a deleted calendar
            return user

    def register_client(self, client_id: str, client_secret: str, redirect_uris: tuple[str, ...] = ()) -> Client:
        with self.lock:
            client = self.clients[client_id] = Client(client_id, client_secret, tuple(redirect_uris))
            return client

    # --- tokens ------------------------------------------------------------------------------
    def issue_access_token(self, grant: Grant, lifetime_s: float) -> AccessToken:
        with self.lock:
            token = AccessToken("ya29.emu-" + secrets.token_urlsafe(24), grant, self.clock() + lifetime_s)
            self.access_tokens[token.value] = token
            return token

    def new_grant(self, email: str, client_id: str, scopes: tuple[str, ...]) -> Grant:
        with self.lock:
            grant = Grant("1//emu-" + secrets.token_urlsafe(32), email, client_id, scopes)
            self.grants[grant.refresh_token] = grant
            return grant

    def revoke_user(self, email: str) -> int:
        """Revoke every grant of ``email`` (like removing the app in the Google account)."""
        with self.lock:
            hit = [g for g in self.grants.values() if g.email == email.lower() and not g.revoked]
            for grant in hit:
                grant.revoked = True
            return len(hit)

    def expire_access_tokens(self, email: str | None = None) -> int:
        """Make current access tokens invalid server-side (the client still thinks they are good)."""
        with self.lock:
            hit = [t for t in self.access_tokens.values() if email is None or t.grant.email == email.lower()]
            for token in hit:
                token.expired_by_control = True
            return len(hit)

    # --- events and sync ---------------------------------------------------------------------
    def next_seq(self) -> int:
        with self.lock:
            self._seq += 1
            return self._seq

    @property
    def current_seq(self) -> int:
        return self._seq

    def save_event(self, calendar: Calendar, body: dict, *, secret: bool = False) -> StoredEvent:
        """Store (insert or replace) an event, stamp its change sequence and tell listeners."""
        with self.lock:
            existing = calendar.events.get(body["id"])
            stored = StoredEvent(calendar.id, body, self.next_seq(), secret or bool(existing and existing.secret))
            calendar.events[body["id"]] = stored
        for listener in list(self.change_listeners):
            listener(calendar.id)
        return stored

    def invalidate_sync_tokens(self, calendar_id: str | None = None) -> None:
        """Make every sync token issued so far answer 410 fullSyncRequired."""
        with self.lock:
            for calendar in self.calendars.values():
                if calendar_id is None or calendar.id == calendar_id.lower():
                    calendar.sync_generation += 1

    def secret_titles(self) -> set[str]:
        """Titles of seeded "other" events: tests check none of them leaves the emulator."""
        with self.lock:
            return {e.body.get("summary", "") for c in self.calendars.values() for e in c.events.values()
                    if e.secret and e.body.get("summary")}
