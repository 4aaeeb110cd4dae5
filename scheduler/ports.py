"""Ports: the interfaces use cases depend on. Adapters in ``adapters/`` implement them.

Values crossing a port are plain dataclasses with aware datetimes (UTC) and IANA zone names.
Nothing here holds a title or detail of anyone's *other* events: free/busy only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Generic, Iterable, Literal, Mapping, Protocol, Sequence, TypeVar, runtime_checkable

from scheduler.core.entities import (AgendaTemplate, ApiToken, CalendarConnection, Entity, Feedback, Goal, Membership,
                                     Notification, Occurrence, OutboxMessage, Pair, PairRiskMark, Person, Program,
                                     Series, WebhookDelivery, WebhookEndpoint, WebSession)
from scheduler.core.intervals import Interval
from scheduler.core.rate_limit import RecentRequests, signin_clients

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
    """One occurrence as the provider holds it. ``original_start`` identifies it (RECURRENCE-ID).
    ``declined_by``: the (lower-case) addresses of attendees who declined this occurrence (Google
    ``responseStatus``, Graph ``status.response``, iCalendar ``PARTSTAT=DECLINED``, which is where
    an iTIP REPLY lands in the organizer's calendar) — nothing else of their answer is kept."""

    original_start: datetime
    start: datetime
    end: datetime
    cancelled: bool = False
    declined_by: frozenset[str] = frozenset()

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
    # ``move_occurrence`` also brings back a cancelled occurrence (resuming a pause puts the same
    # sessions back in the same series). Microsoft Graph cannot: a cancelled occurrence is gone.
    can_restore: bool

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

    def renew_watch(self, account: CalendarAccount, watch: Watch) -> Watch | None:
        """Extend a live channel in place (Graph: PATCH the subscription's expiry) and return it;
        None when the provider cannot (a Google channel cannot be extended: a new one replaces it).
        Raises NotFound when the channel is gone."""

    def stop_watch(self, account: CalendarAccount, watch: Watch) -> None:
        """Stop a push channel / subscription."""

    def revoke(self, account: CalendarAccount) -> None:
        """Give back our access (OAuth revoke); local tokens are deleted by the caller."""

    def verify(self, account: CalendarAccount, now: datetime) -> None:
        """Check the connection works before it is stored: raise InvalidInput, ReconnectNeeded or
        ProviderUnavailable with a message saying what to do. ``now`` is the caller's clock (for
        a provider that reads a window of time to check). A no-op where nothing can be checked."""


class Clock(Protocol):
    """The time. The sandbox's clock (``adapters.clock.SandboxClock``) also has ``reload()``: forget
    the offset it read a moment ago, so a process that just moved it sees the new time at once."""

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


# --- emails as plain contexts: one renderer per notification kind (``adapters.mail.renderers``) ----
@dataclass(frozen=True)
class MovedSession:
    """One occurrence moved alone: it was due at ``original_start`` and now runs ``start``-``end``."""

    original_start: datetime
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SeriesInvitation:
    """What an emailed iTIP ``METHOD:REQUEST`` for a series carries."""

    spec: SeriesSpec
    now: datetime
    sequence: int = 0
    video_url: str | None = None
    skipped: tuple[datetime, ...] = ()  # original starts that will not take place
    moved: tuple[MovedSession, ...] = ()


@dataclass(frozen=True)
class SeriesCancellation:
    """What an emailed iTIP ``METHOD:CANCEL`` for a whole series carries."""

    spec: SeriesSpec
    now: datetime
    sequence: int = 1


@dataclass(frozen=True)
class SessionTime:
    """One session of a booked series; ``original_start`` is set when it was moved alone."""

    start: datetime
    original_start: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class EmailContext:
    """What every email needs: the reader and the key that becomes the Message-ID."""

    to: str
    idempotency_key: str
    recipient_name: str


@dataclass(frozen=True, kw_only=True)
class ReminderContext(EmailContext):
    other_name: str
    start: datetime
    duration_min: int
    recipient_tz: str
    other_tz: str
    agenda: tuple[str, ...] = ()
    goals: tuple[str, ...] = ()
    video_url: str | None = None
    reschedule_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class FeedbackRequestContext(EmailContext):
    other_name: str
    start: datetime
    recipient_tz: str
    met_url: str
    not_met_url: str
    moved_url: str
    form_url: str


@dataclass(frozen=True, kw_only=True)
class SeriesBookedContext(EmailContext):
    other_name: str
    recipient_tz: str
    other_tz: str
    sessions: tuple[SessionTime, ...]
    duration_min: int
    video_url: str | None = None
    manage_url: str | None = None
    invitation: SeriesInvitation | None = None  # set: an iTIP REQUEST is attached


@dataclass(frozen=True, kw_only=True)
class MovedContext(EmailContext):
    other_name: str
    original_start: datetime
    new_start: datetime
    duration_min: int
    recipient_tz: str
    other_tz: str
    cause: str  # MOVE_CAUSES: says *that* a calendar is busy, never what the other meeting is
    video_url: str | None = None
    moved_by_name: str | None = None  # cause "moved_by_person": who moved it
    moved_by_you: bool = False  # cause "moved_by_person": the recipient moved it themself


# Why a session was moved, as the "moved" email may say it (the renderer words it): by Tandem
# (a conflict, working hours) or by one of the pair on the pair page ("moved_by_person").
MOVE_CAUSES = ("calendar_conflict", "outside_working_hours", "moved_by_person")


@dataclass(frozen=True, kw_only=True)
class ReconnectContext(EmailContext):
    provider: str | None  # the connection's provider kind; the renderer names it for people
    reconnect_url: str


@dataclass(frozen=True, kw_only=True)
class PairAttentionContext(EmailContext):
    program_name: str
    mentor_name: str
    mentee_name: str
    signals: tuple[str, ...]  # what the coordinator should look at (may be empty)
    pair_url: str


@dataclass(frozen=True)
class DigestPair:
    """One pair in a coordinator's weekly digest: who, why (sentences), and its coordinator page."""

    mentor_name: str
    mentee_name: str
    reasons: tuple[str, ...]
    pair_url: str


@dataclass(frozen=True, kw_only=True)
class DigestContext(EmailContext):
    """The weekly digest to one coordinator about one program. ``week_label`` names the past week
    the numbers count (e.g. "23–29 Nov 2026"); ``at_risk`` holds at most ``DIGEST_MAX_PAIRS`` pairs
    and ``more_at_risk`` how many were left out; ``broken`` the pairs with a broken calendar
    connection (same limit, ``more_broken``)."""

    program_name: str
    week_label: str
    held: int
    missed: int
    missed_rate: float | None  # missed / (held + missed); None without either
    at_risk: tuple[DigestPair, ...]
    more_at_risk: int
    broken: tuple[DigestPair, ...]
    more_broken: int
    broken_connections: int  # connections not ok among the program's people
    dashboard_url: str
    unsubscribe_url: str
    settings_url: str


@dataclass(frozen=True)
class InvitedPair:
    """One pair an invitation is about: the reader's ``role`` in it and the other person's name."""

    role: str  # mentor | mentee
    other_name: str


@dataclass(frozen=True, kw_only=True)
class InvitationContext(EmailContext):
    program_name: str | None  # None: the renderer says "a mentoring program"
    coordinator_name: str | None
    role: str | None
    join_url: str
    pairs: tuple[InvitedPair, ...] = ()  # every pair this one email invites the reader to (may be empty)


@dataclass(frozen=True, kw_only=True)
class MagicLinkContext(EmailContext):
    url: str


@dataclass(frozen=True, kw_only=True)
class NoticeContext(EmailContext):
    """A short plain notice (conflict, move proposed, skipped, paused, ended, anything else)."""

    other_name: str
    recipient_tz: str
    url: str
    start: datetime | None = None
    new_start: datetime | None = None
    cancellation: SeriesCancellation | None = None  # set: an iTIP CANCEL is attached
    by_name: str | None = None  # a coordinator who made the change (None: one of the pair, or Tandem)
    detail: str | None = None  # the kind's one detail: a former or new mentor's name, the program's name


@dataclass(frozen=True, kw_only=True)
class PartnerLeftContext(EmailContext):
    """To the person who stays when the other one of their pair had their data erased: the pair
    has ended and these upcoming sessions were cancelled. ``left_role`` is the role of the one
    who left (mentor | mentee); the email never names them (their name is gone by then)."""

    left_role: str
    program_name: str
    recipient_tz: str
    cancelled: tuple[datetime, ...]
    url: str


class EmailRenderer(Protocol):
    """Turns a notification of ``kind`` with its context into an email (``adapters.mail`` holds
    one renderer per kind; an unknown kind becomes a short notice)."""

    def render(self, kind: str, context: EmailContext) -> OutgoingEmail: ...


class LinkSigner(Protocol):
    """Signed, expiring links, one purpose each (``invite``, ``signin``, ``feedback``, ``digest_unsubscribe``)."""

    def sign(self, purpose: str, data: dict) -> str: ...

    def sign_magic(self, person_id: str) -> str:
        """A single-use sign-in token for ``person_id`` (its data carries a nonce ``n``)."""

    def read(self, purpose: str, token: str) -> dict:
        """The data in a valid token of ``purpose``; ``scheduler.services.links.LinkError`` otherwise."""


class TokenCipher(Protocol):
    """Encrypts calendar credentials at rest (``adapters.tokens`` implements it)."""

    def encrypt(self, credentials: dict) -> bytes: ...

    def decrypt(self, blob: bytes) -> dict: ...

    def is_current(self, blob: bytes) -> bool:
        """Whether ``blob`` is encrypted with the newest key."""

    def rotate(self, blob: bytes) -> bytes:
        """``blob`` re-encrypted with the newest key."""


@dataclass(frozen=True)
class WebhookResponse:
    """What a webhook endpoint answered: its status and lower-cased headers (the body is read
    up to a small limit and dropped)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)


class WebhookSender(Protocol):
    """POSTs outgoing webhooks (``adapters.webhooks`` implements it over the safe fetcher)."""

    def check_destination(self, url: str) -> None:
        """Raise ``UnsafeUrl`` when ``url`` may not receive webhooks on this installation (not
        http(s), https required, or it resolves to a loopback, private, link-local, multicast or
        reserved address while those are not allowed)."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> WebhookResponse:
        """POST ``body``, checking the destination again and connecting to the checked address;
        redirects are not followed. ``ProviderUnavailable`` when nothing answered in time."""


# --- storage: a unit of work whose repositories speak the domain's words ------------------------
E = TypeVar("E", bound=Entity)


class DuplicateKey(Exception):
    """An insert collided with a unique key (e.g. a single-use link used twice at once)."""


class Repository(Protocol, Generic[E]):
    """What every repository offers. ``get(id, lock=True)`` also locks the row until the unit of
    work ends (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serialises writers anyway)."""

    def get(self, id: str, *, lock: bool = False) -> E | None: ...

    def get_many(self, ids: Iterable[str], *, lock: bool = False) -> list[E]:
        """The rows with these ids, ordered by id (a stable lock order)."""

    def add(self, entity: E) -> E: ...

    def add_many(self, entities: Sequence[E]) -> None:
        """Insert many new rows at once (one statement, for bulk loads such as seeded programs);
        the entities are not tracked afterwards: later changes to them are not saved."""

    def delete(self, entity: E) -> None: ...


class ProgramRepository(Repository[Program], Protocol):
    def sandbox(self) -> Program | None:
        """The sandbox program (``make run``), if it was created."""

    def all_oldest_first(self) -> list[Program]:
        """Every program, oldest first."""

    def coordinated_by(self, person_id: str) -> list[Program]:
        """The programs the person coordinates, oldest first."""


class PersonRepository(Repository[Person], Protocol):
    def by_email(self, email: str) -> Person | None: ...

    def by_emails(self, emails: Sequence[str]) -> list[Person]:
        """The people with these exact (stored) addresses."""


class MembershipRepository(Repository[Membership], Protocol):
    def coordinated_by(self, person_id: str) -> list[str]:
        """Ids of the programs the person coordinates."""

    def coordinator_ids(self, program_id: str) -> list[str]:
        """People who coordinate the program."""

    def not_accepted(self, program_id: str, person_ids: Sequence[str]) -> set[str]:
        """Those of ``person_ids`` asked to join the program who have not accepted (a pending or
        declined membership there and no accepted one): nothing about them may be read, planned
        or shown there."""

    def roles_in(self, program_id: str) -> dict[str, set[str]]:
        """person id -> their roles in the program."""

    def of_person(self, person_id: str) -> list[Membership]:
        """Every role the person has in any program, by program id then role."""

    def of_program(self, program_id: str) -> list[Membership]:
        """Every role anyone has in the program."""


@dataclass(frozen=True)
class PairRow:
    """One pair as the coordinator's table lists it (plain values, no entity loaded)."""

    pair_id: str
    mentor_id: str
    mentor_name: str
    mentor_email: str
    mentee_id: str
    mentee_name: str
    mentee_email: str
    status: str
    status_reason: str | None
    updated_at: datetime | None


@dataclass(frozen=True)
class PairAttendance:
    """One pair's past and next sessions summed up in SQL (see ``occurrences.attendance_by_pair``)."""

    first_start: datetime | None = None  # its first session (any status)
    last_held: datetime | None = None  # its latest past session with the verdict ``held``
    next_start: datetime | None = None  # its next session still to be held (active series)
    misses_in_a_row: int = 0
    unanswered_in_a_row: int = 0


@dataclass(frozen=True)
class PairCounts:
    """A program's pairs counted for the dashboard's headline (``pairs.counts_in``)."""

    by_state: dict[str, int]  # status -> pairs, states with pairs only
    at_risk: int  # pairs with at least one at-risk reason
    by_rule: dict[str, int]  # every rule of scheduler.core.at_risk.RULES -> pairs it flags


@dataclass(frozen=True)
class BrokenConnectionRow:
    person_id: str
    provider: str
    status: str


class PairRepository(Repository[Pair], Protocol):
    def of_person(self, person_id: str, *, states: Sequence[str] | None = None) -> list[Pair]:
        """Pairs where the person is mentor or mentee (in one of ``states`` when given), oldest first."""

    def of_program(self, program_id: str, *, states: Sequence[str] | None = None,
                   limit: int | None = None) -> list[Pair]:
        """The program's pairs (in one of ``states`` when given), oldest first; the first ``limit``."""

    def ready_of_mentor(self, program_id: str, mentor_id: str) -> list[Pair]:
        """The mentor's pairs in the program waiting to be planned (``ready``), oldest first."""

    def count_by_state(self) -> dict[str, int]:
        """How many pairs are in each state, over every program (states with none are left out)."""

    def counts_in(self, program_id: str, now: datetime) -> PairCounts:
        """The program's pairs by state and how many are at risk at ``now`` (in all and per rule of
        ``scheduler.core.at_risk``, the same rules), without loading the pairs. SQL reads the
        pairs' summaries: call :meth:`refresh_summaries` first in the same unit of work."""

    def refresh_summaries(self, program_id: str, now: datetime) -> None:
        """Bring the program's per-pair attendance summaries up to date at ``now`` (those missing —
        new pairs, pairs whose sessions changed — or whose next session has started are computed
        again from ``occurrences.attendance_by_pair``); a store that computes them on each read
        has nothing to do. Writes: commit the unit of work to keep them."""

    def table_page(self, program_id: str, now: datetime, *, state: str = "", risk: str = "", mentor: str = "",
                   sort: str = "name", descending: bool = False, offset: int = 0, limit: int = 50
                   ) -> tuple[list[PairRow], int]:
        """One page of the dashboard's pairs table and how many pairs match, filtered, sorted and
        paged in the store. ``state``: a pair status or ""; ``risk``: "", "yes", "no" or an
        at-risk rule key (judged at ``now``); ``mentor``: a mentor's id (when a pair of the
        program has that mentor), else a piece of a mentor's name or email (case-insensitive);
        ``sort``: name (mentor's, mentee's, then id), last_held, next (pairs without one last
        either way, then by name) or misses (then by name); ``descending`` reverses the order
        (only the name order reverses its tie-breaks). SQL reads the summaries (refresh first)."""

    def table_rows(self, program_id: str) -> list[PairRow]:
        """Every pair of the program with its two people's names, oldest first (one joined SELECT)."""

    def table_rows_after(self, program_id: str, *, after: str | None, limit: int,
                         states: Sequence[str] | None = None) -> list[PairRow]:
        """At most ``limit`` pairs of the program (in one of ``states`` when given) whose id is
        greater than ``after``, by id: one page of a keyset pagination (the API's pairs list)."""

    def mentioning(self, texts: Sequence[str]) -> list[Pair]:
        """Pairs whose ``status_reason`` or stored ``history`` (JSON text) contains one of
        ``texts`` (exact, case-sensitive substrings; empty texts are ignored), oldest first: a
        diagnosis or a history entry that names someone."""


class ConnectionRepository(Repository[CalendarConnection], Protocol):
    def of_people(self, person_ids: Iterable[str]) -> list[CalendarConnection]:
        """Every connection of these people (healthy or not), oldest first."""

    def usable_of(self, person_id: str) -> list[CalendarConnection]:
        """The person's healthy connections, oldest first."""

    def with_tokens(self) -> list[CalendarConnection]:
        """Every connection that holds an encrypted token blob (for key rotation)."""

    def usable_with_provider(self, kinds: Sequence[str]) -> list[CalendarConnection]:
        """Everyone's healthy connections whose provider is one of ``kinds`` (e.g. those that push)."""

    def broken_in_program(self, program_id: str) -> list[BrokenConnectionRow]:
        """Connections that are not ``ok`` (nor still ``checking``) of people who are a mentor or a
        mentee of one of the program's pairs, by person id then oldest first."""


class SeriesRepository(Repository[Series], Protocol):
    def active_of_pair(self, pair_id: str) -> list[Series]:
        """The pair's series that are planned, being booked or booked."""

    def booked_by_event_ids(self, event_ids: Sequence[str]) -> list[Series]:
        """Booked series whose provider event is one of ``event_ids``."""

    def booked_ids(self, person_id: str | None = None) -> list[str]:
        """Ids of booked series (of pairs where ``person_id`` is mentor or mentee, when given)."""

    def booked_organizer_connection_ids(self, person_ids: Sequence[str]) -> set[str]:
        """Connections of these people that organize booked series (their calendars hold them)."""

    def count_of_pair(self, pair_id: str) -> int:
        """How many series the pair has had (any state): the generation of its next one."""


@dataclass(frozen=True)
class ProgramSession:
    """One occurrence of a program's pair with its people, as the coordinator's reports read it
    (``occurrences.of_program_between``). ``signals`` is the stored JSON list of the verdict's
    signals; ``note`` the coordinator's correction note; ``series_tz`` the series' wall-clock zone."""

    occurrence_id: str
    pair_id: str
    start: datetime
    end: datetime
    status: str
    verdict: str
    signals: list
    note: str | None
    series_tz: str
    mentor_id: str
    mentor_name: str
    mentor_email: str
    mentor_tz: str | None
    mentee_id: str
    mentee_name: str
    mentee_email: str


class OccurrenceRepository(Repository[Occurrence], Protocol):
    def by_original_start(self, series_id: str, original_start: datetime) -> Occurrence | None:
        """The occurrence of a series that the provider knows by this original start (RECURRENCE-ID)."""

    def busy_intervals_of(self, person_id: str, *, exclude_series_id: str | None = None
                          ) -> list[tuple[datetime, datetime]]:
        """``(start, end)`` of the person's held Tandem sessions (as mentor or mentee; scheduled or
        moved, in an active series), except those of ``exclude_series_id``. Busy even before they
        are on a calendar."""

    def count_held(self, pair_id: str, until: datetime) -> int:
        """The pair's sessions held so far: scheduled or moved, starting at or before ``until``."""

    def of_pair(self, pair_id: str) -> list[Occurrence]:
        """Every occurrence of every series of the pair, in time order."""

    def attendance_to_resolve(self, *, ended_after: datetime, ended_before: datetime, resolved_before: datetime,
                              limit: int) -> list[Occurrence]:
        """Occurrences whose attendance verdict is still ``unknown``, that ended in ``[ended_after,
        ended_before)`` and were not resolved since ``resolved_before`` (never, or earlier),
        oldest end first: the daily attendance sweep's work."""

    def of_program_between(self, program_id: str, *, start_from: datetime, start_before: datetime,
                           verdicts: Sequence[str] | None = None, after: tuple[datetime, str] | None = None,
                           limit: int | None = None) -> list[ProgramSession]:
        """The program's occurrences (of every series of every pair) starting in ``[start_from,
        start_before)`` (with an attendance verdict in ``verdicts`` when given), with the pair's
        mentor and mentee, in time order (id breaks ties): what the reports are computed from.
        ``after`` (start, id) and ``limit`` give one page of a keyset pagination (the API)."""

    def attendance_by_pair(self, program_id: str, now: datetime, *, pair_ids: Sequence[str] | None = None
                           ) -> dict[str, PairAttendance]:
        """Pair id -> its sessions summed up (GROUP BY pair), for the program's pairs that have any
        session (only the pairs ``pair_ids`` when given: one page of pairs). Past means started at or before ``now``. Misses in a row: past ``missed`` sessions
        after the latest past held/moved/disputed one. Unanswered in a row: sessions with a
        ``no_answer`` signal after the latest past session with a held/missed/moved/disputed
        verdict and no ``no_answer`` signal. Next: the earliest start after ``now`` of a scheduled
        or moved session of an active series."""

    def verdict_counts(self, program_id: str, edges: Sequence[datetime]) -> dict[tuple[int, str], int]:
        """``(i, verdict) -> count`` of the program's sessions that started in ``[edges[i],
        edges[i+1])`` (GROUP BY period and verdict; verdicts with none are left out)."""

    def verdicts_by_mentor(self, program_id: str, since: datetime, until: datetime
                           ) -> dict[tuple[str, str], int]:
        """``(mentor id, verdict) -> count`` of the program's sessions that started in ``[since,
        until)`` (GROUP BY mentor and verdict)."""


class AgendaTemplateRepository(Repository[AgendaTemplate], Protocol):
    pass


class GoalRepository(Repository[Goal], Protocol):
    pass


class FeedbackRepository(Repository[Feedback], Protocol):
    def given_by(self, person_id: str, occurrence_id: str) -> Feedback | None:
        """The person's answer about the occurrence (one each), if any."""

    def notes_written_before(self, cutoff: datetime, *, limit: int) -> list[Feedback]:
        """Answers written before ``cutoff`` that still hold free text (``notes`` or ``action_items``), oldest
        first: the retention sweep's work."""

    def of_occurrences(self, occurrence_ids: Iterable[str]) -> list[Feedback]:
        """Every answer about these occurrences, oldest first."""

    def written_by(self, person_id: str) -> list[Feedback]:
        """Every answer the person gave, oldest first."""


class NotificationRepository(Repository[Notification], Protocol):
    def add_once(self, notification: Notification) -> bool:
        """Insert unless a row with its ``idempotency_key`` exists; True when inserted."""

    def count_for_occurrence(self, occurrence_id: str) -> int: ...

    def count_for_person(self, person_id: str, kind: str, *, due_since: datetime) -> int:
        """How many notifications of ``kind`` the person has that are due at or after ``due_since``."""

    def count_pending_of_pair(self, pair_id: str) -> int:
        """How many notifications about the pair are still to be sent (``pending``)."""

    def cancel_pending(self, *, occurrence_id: str | None = None, pair_id: str | None = None,
                       kinds: Sequence[str] = ("reminder", "feedback")) -> None:
        """Pending rows of these kinds for the occurrence (or the pair) become ``cancelled``."""

    def has_key(self, idempotency_key: str) -> bool:
        """A notification with this key exists (sent, pending or cancelled)."""

    def load_for_delivery(self, ids: Sequence[str]) -> list[Notification]:
        """The notifications with these ids (any status; unknown ids left out), sorted by id,
        with what rendering them reads — the person, the pair with its two people and goals,
        the occurrence with its series — loaded at once, so a batch of emails costs a few
        queries instead of several per email."""

    def mark_sent(self, notification_id: str, now: datetime) -> bool:
        """A ``pending`` row becomes ``sent`` at ``now``; False when it was not pending."""

    def of_person(self, person_id: str) -> list[Notification]:
        """Every notification addressed to the person (any status), oldest due first."""

    def payload_mentioning(self, texts: Sequence[str]) -> list[Notification]:
        """Notifications whose stored JSON payload contains one of ``texts`` (exact substrings of
        the JSON text, so pass a non-ASCII text JSON-escaped too), oldest due first."""


class OutboxRepository(Repository[OutboxMessage], Protocol):
    def add_once(self, kind: str, subject_id: str, idempotency_key: str, due_at: datetime) -> bool:
        """Queue an effect in this unit of work; False when that key was queued before."""

    def claim_due(self, now: datetime, *, limit: int, claim_timeout: timedelta,
                  max_attempts: int) -> list[OutboxMessage]:
        """Mark due rows ``enqueued`` and return them (pending and due, enqueued longer ago than
        ``claim_timeout``, or running with an expired lease). Rows over ``max_attempts`` become
        ``dead``. Two claimers never take the same row."""

    def count_unfinished(self, subject_ids: Sequence[str], *, due_by: datetime) -> int:
        """How many rows about these subjects (of any kind) are pending, enqueued or running and
        due at or before ``due_by`` (a row due later, e.g. a re-check before a session, is not
        work under way)."""

    def count_unfinished_for(self, subject_ids: Iterable[str]) -> int:
        """How many rows about these subjects are not finished (pending, enqueued or running)."""

    def count_with_key_prefix(self, prefix: str) -> int:
        """How many rows (in any state) have an idempotency key starting with ``prefix``."""

    def errors_mentioning(self, texts: Sequence[str]) -> list[OutboxMessage]:
        """Rows whose ``last_error`` contains one of ``texts`` (exact substrings), oldest first."""

    def acquire(self, outbox_id: str, now: datetime, lease: timedelta) -> bool:
        """Take the row for one run; False when done, dead, not due, or running elsewhere."""

    def acquire_many(self, outbox_ids: Sequence[str], now: datetime, lease: timedelta) -> list[OutboxMessage]:
        """Take each row :meth:`acquire` would take, in one statement; returns the rows taken
        (as they are after taking them), in the order of ``outbox_ids``."""

    def mark_done(self, outbox_id: str, now: datetime) -> bool:
        """Finish a row; False when it was done already."""

    def record_failure(self, outbox_id: str, error: str, *, retry_at: datetime | None) -> None:
        """Keep the error; ``retry_at`` puts the row back to pending then, None makes it dead."""

    def running_of(self, kind: str, subject_ids: Iterable[str], now: datetime) -> list[OutboxMessage]:
        """Rows of ``kind`` for these subjects being run now (``running`` with a lease that has
        not run out at ``now``), the earliest lease first (``id`` breaks ties)."""

    def dead(self) -> list[OutboxMessage]:
        """Rows that gave up, newest first."""

    def count_by_status(self) -> dict[str, int]:
        """How many rows are in each status except ``done`` (statuses with none are left out)."""

    def oldest_due(self, now: datetime) -> datetime | None:
        """The earliest ``due_at`` of a row that is due at ``now`` and not finished (pending,
        enqueued or running): how far behind the outbox is. None when nothing is due."""


class ApiTokenRepository(Repository[ApiToken], Protocol):
    def by_hash(self, token_hash: str) -> ApiToken | None:
        """The token whose SHA-256 is ``token_hash`` (revoked or not)."""

    def count_request(self, token_id: str, window_start: datetime, now: datetime) -> int:
        """Count one request of the token in the minute starting at ``window_start`` and return how
        many it made in that minute, in ONE atomic update of its row (every process shares it); a
        new minute restarts the count at 1 and sets ``last_used_at`` to ``now``. 0 for no such token."""

    def of_program(self, program_id: str | None) -> list[ApiToken]:
        """The program's tokens (revoked ones too), newest first; ``None``: the administrators'
        tokens for every program."""


class PairRiskMarkRepository(Repository[PairRiskMark], Protocol):
    def of_program(self, program_id: str) -> list[PairRiskMark]:
        """The program's pairs marked at risk, by pair id."""


class WebhookDeliveryRepository(Repository[WebhookDelivery], Protocol):
    def mentioning(self, texts: Sequence[str]) -> list[WebhookDelivery]:
        """Deliveries whose JSON ``payload`` or ``last_error`` contains one of ``texts`` (exact
        substrings of the stored text), oldest first."""

    def recent_of_program(self, program_id: str, *, limit: int) -> list[WebhookDelivery]:
        """The program's latest deliveries (every endpoint), newest first (id breaks ties)."""


class WebhookEndpointRepository(Repository[WebhookEndpoint], Protocol):
    def of_program(self, program_id: str) -> list[WebhookEndpoint]:
        """The program's endpoints (enabled or not), oldest first."""

    def programs_subscribed_to(self, event_type: str) -> list[str]:
        """Ids of the programs with an enabled endpoint subscribed to ``event_type``, sorted."""

    def subscribed(self, program_id: str, event_type: str) -> list[WebhookEndpoint]:
        """The program's enabled endpoints subscribed to ``event_type``, oldest first."""


class UsedLinkRepository(Protocol):
    def use(self, nonce: str, purpose: str, now: datetime) -> bool:
        """Record the link as used; False when it was used before (also by a concurrent use)."""


class WebSessionRepository(Repository[WebSession], Protocol):
    def delete_expired(self, before: datetime) -> int:
        """Delete the sessions that expired before ``before`` (ended ones included); how many."""

    def revoke_all(self, person_id: str, now: datetime) -> int:
        """End every session of the person not ended yet (``revoked_at = now``); how many."""


class ClockOffsetRepository(Protocol):
    """The sandbox clock's offset from the real clock (one row; ``app.demo`` only)."""

    def offset(self) -> timedelta:
        """How far the sandbox clock runs ahead (zero before the first skip)."""

    def advance(self, by: timedelta, now: datetime) -> timedelta:
        """Move the sandbox clock forward ``by`` (taking the row's lock: two skips at once add up,
        neither is lost); returns the new offset. ``now`` is the real time, kept as ``updated_at``."""


class UnitOfWork(Protocol):
    """One transaction: ``with deps.uow() as uow: ...; uow.commit()``. Leaving without
    ``commit()`` rolls back. A use case opens its own, and never holds one across a provider
    call or an email."""

    programs: ProgramRepository
    people: PersonRepository
    memberships: MembershipRepository
    pairs: PairRepository
    connections: ConnectionRepository
    series: SeriesRepository
    occurrences: OccurrenceRepository
    agenda_templates: AgendaTemplateRepository
    goals: GoalRepository
    feedback: FeedbackRepository
    notifications: NotificationRepository
    outbox: OutboxRepository
    used_links: UsedLinkRepository
    web_sessions: WebSessionRepository
    clock_offsets: ClockOffsetRepository
    api_tokens: ApiTokenRepository
    webhook_endpoints: WebhookEndpointRepository
    webhook_deliveries: WebhookDeliveryRepository
    pair_risk_marks: PairRiskMarkRepository

    def __enter__(self) -> "UnitOfWork": ...

    def __exit__(self, *exc) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def flush(self) -> None:
        """Send pending changes to the store inside the transaction (ids and unique keys checked)."""

    def update_statistics(self) -> None:
        """After a bulk load (a seeded program): refresh what the database's query planner knows of
        the tables' sizes (``ANALYZE``), so the next queries do not plan for empty tables."""


# --- what every use case receives -----------------------------------------------------------------
@dataclass(frozen=True)
class ServiceConfig:
    """The settings use cases need, as plain values (``config/`` builds it from the settings)."""

    base_url: str = "http://127.0.0.1:5000"
    webhook_secret: str = "test-webhook-secret"
    link_secret: str = "test-link-secret"
    link_max_age_days: int = 14
    claim_timeout: timedelta = timedelta(minutes=5)
    max_attempts: int = 8
    feedback_retention_days: int = 365  # feedback free text older than this is deleted (0: kept)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


@dataclass
class Dependencies:
    """Everything a use case may reach, typed. Built once per process by ``config.bootstrap``;
    tests build one over the in-memory unit of work."""

    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock
    providers: Mapping[str, CalendarProvider]
    mailer: Mailer
    cipher: TokenCipher
    config: ServiceConfig = field(default_factory=ServiceConfig)
    renderer: EmailRenderer | None = None  # emails (``adapters.mail.renderers``)
    links: LinkSigner | None = None  # signed links (``adapters.links``); None: no secret key configured
    webhooks: WebhookSender | None = None  # outgoing webhooks (``adapters.webhooks``); None: not in this process
    # sign-in requests per client, counted in this process (``scheduler.core.rate_limit``)
    signin_clients: RecentRequests = field(default_factory=signin_clients)
    # units of work that only read (None: the ordinary ones); on SQLite they wait for no writer
    read_only_unit_of_work: Callable[[], UnitOfWork] | None = None

    def uow(self) -> UnitOfWork:
        return self.unit_of_work()

    def reading(self) -> UnitOfWork:
        """A unit of work for reads alone: it cannot commit, and on SQLite it neither takes nor
        waits for the write lock (``adapters.storage.db.make_read_session_factory``)."""
        return (self.read_only_unit_of_work or self.unit_of_work)()

    def provider(self, kind: str) -> CalendarProvider:
        try:
            return self.providers[kind]
        except KeyError:
            raise LookupError(f"no calendar provider '{kind}' is configured in this process") from None
