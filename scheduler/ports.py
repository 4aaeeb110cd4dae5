"""Ports: the interfaces use cases depend on. Adapters in ``adapters/`` implement them.

Values crossing a port are plain dataclasses with aware datetimes (UTC) and IANA zone names.
Nothing here holds a title or detail of anyone's *other* events: free/busy only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Literal, Protocol, Sequence, runtime_checkable

from scheduler.core.intervals import Interval

ProviderKind = Literal["google", "microsoft", "caldav", "ics", "memory"]
Response = Literal["needsAction", "accepted", "declined", "tentative"]


@dataclass
class CalendarAccount:
    """One person's connected calendar, as an adapter needs it.

    ``credentials`` is the decrypted token material (OAuth tokens, MSAL cache, CalDAV password,
    ICS URL). Adapters that rotate tokens call ``on_credentials_changed`` with the new material,
    and the caller persists it (encrypted) before anything else happens.
    """

    connection_id: str
    provider: ProviderKind
    email: str
    calendar_id: str = "primary"
    credentials: dict = field(default_factory=dict)
    on_credentials_changed: Callable[[dict], None] | None = None

    def credentials_changed(self, new: dict) -> None:
        self.credentials = new
        if self.on_credentials_changed is not None:
            self.on_credentials_changed(new)


RECONNECT_NEEDED = "reconnect_needed"  # prefix of FreeBusy.error when the person's consent is gone


@dataclass(frozen=True)
class FreeBusy:
    """Busy intervals of one account in a window. ``error`` set means *unknown*, not free; an
    error starting with ``reconnect_needed`` means consent is gone (the person must reconnect)."""

    busy: tuple[Interval, ...] = ()
    error: str | None = None

    @property
    def needs_reconnect(self) -> bool:
        return self.error is not None and self.error.startswith(RECONNECT_NEEDED)


@dataclass(frozen=True)
class SeriesSpec:
    """A recurring session series to create on the organizer's calendar.

    ``series_key`` is our stable idempotency key (derived from the series id): a retried create
    with the same key never makes a second event. ``rrule`` has no DTSTART (e.g.
    ``FREQ=WEEKLY;INTERVAL=1;COUNT=12;BYDAY=TU``); the series is wall-clock in ``tz``.
    """

    series_key: str
    title: str
    description: str
    organizer_email: str
    attendee_emails: tuple[str, ...]
    start_local: datetime  # naive wall-clock time in ``tz``
    tz: str
    duration_min: int
    rrule: str
    video: bool = True


@dataclass(frozen=True)
class SeriesRef:
    """Where a created series lives at the provider."""

    event_id: str
    video_url: str | None = None


@dataclass(frozen=True)
class OccurrenceState:
    """One occurrence as the provider holds it. ``original_start`` identifies it (RECURRENCE-ID)."""

    original_start: datetime
    start: datetime
    end: datetime
    cancelled: bool = False

    @property
    def moved(self) -> bool:
        return self.start != self.original_start


@dataclass(frozen=True)
class SeriesState:
    """A series as the provider holds it now."""

    event_id: str
    cancelled: bool
    description: str
    attendees: dict[str, Response]
    occurrences: tuple[OccurrenceState, ...]


@dataclass(frozen=True)
class Watch:
    """A push channel / subscription that delivers change notices to our webhook."""

    watch_id: str
    resource_id: str
    expires_at: datetime
    token: str


@dataclass(frozen=True)
class Changes:
    """Events changed since a cursor; ``cursor`` is what to pass next time."""

    cursor: str
    changed_event_ids: tuple[str, ...]
    full_resync: bool = False


@runtime_checkable
class CalendarProvider(Protocol):
    """What Tandem needs from a calendar service. Errors: see ``scheduler.errors`` (RateLimited,
    ProviderUnavailable, ReconnectNeeded, NotFound, SyncTokenExpired)."""

    kind: ProviderKind
    can_write: bool

    def free_busy(self, accounts: Sequence[CalendarAccount], start: datetime, end: datetime) -> dict[str, FreeBusy]:
        """Busy time of many accounts at once, keyed by ``connection_id`` (batched inside)."""

    def create_series(self, account: CalendarAccount, spec: SeriesSpec) -> SeriesRef:
        """Create the series idempotently: the same ``spec.series_key`` returns the same event."""

    def get_series(self, account: CalendarAccount, event_id: str, start: datetime, end: datetime) -> SeriesState:
        """Read the series and its occurrences inside ``[start, end)``."""

    def move_occurrence(self, account: CalendarAccount, event_id: str, original_start: datetime,
                        new_start: datetime, new_end: datetime) -> None:
        """Move one occurrence (identified by its original start) alone."""

    def cancel_occurrence(self, account: CalendarAccount, event_id: str, original_start: datetime) -> None:
        """Cancel one occurrence alone."""

    def update_description(self, account: CalendarAccount, event_id: str, description: str) -> None:
        """Replace the series description (the agenda)."""

    def cancel_series(self, account: CalendarAccount, event_id: str) -> None:
        """Cancel the whole series (idempotent: cancelling twice is fine)."""

    def changes(self, account: CalendarAccount, cursor: str | None) -> Changes:
        """Our events changed since ``cursor`` (None: start a cursor). Raises SyncTokenExpired."""

    def watch(self, account: CalendarAccount, webhook_url: str, token: str) -> Watch | None:
        """Start push notifications to ``webhook_url`` (None when the provider cannot push)."""

    def stop_watch(self, account: CalendarAccount, watch: Watch) -> None:
        """Stop a push channel / subscription."""

    def revoke(self, account: CalendarAccount) -> None:
        """Give back our access (OAuth revoke); local tokens are deleted by the caller."""


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""


@dataclass(frozen=True)
class OutgoingEmail:
    """One email; ``idempotency_key`` becomes the Message-ID so a resend is recognisable."""

    to: tuple[str, ...]
    subject: str
    text: str
    idempotency_key: str
    html: str | None = None
    ics: str | None = None  # an iTIP attachment (METHOD:REQUEST / CANCEL)
    ics_method: str | None = None


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> None:
        """Deliver one email or raise; the caller records success in the outbox row."""
