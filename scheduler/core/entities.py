"""The domain's entities: plain Python classes with no persistence code.

``adapters/storage/orm.py`` maps them onto tables (SQLAlchemy's imperative mapping); the in-memory
unit of work (``adapters/storage/memory.py``) keeps them in dictionaries. Services only ever see
these classes and the repositories of ``scheduler.ports.UnitOfWork``.

Each class lists its columns with their defaults (``FIELDS``) and its links to other entities
(``MANY_TO_ONE``: attribute -> (foreign-key attribute, class name); ``ONE_TO_MANY``: attribute ->
(class name, foreign-key attribute on it, sort key)). Construction fills every column default at
once, so an entity has its id before it is stored anywhere.

Instants are aware UTC datetimes with the IANA zone stored beside them where local time matters.
No entity ever holds the title or details of anyone's *other* events.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, ClassVar


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _default_reminders() -> list:
    return [24 * 60, 60]


class Entity:
    """Keyword construction with column defaults; unknown keywords are errors."""

    FIELDS: ClassVar[dict[str, Any]] = {}  # column -> default (a value, or a callable making one)
    MANY_TO_ONE: ClassVar[dict[str, tuple[str, str]]] = {}
    ONE_TO_MANY: ClassVar[dict[str, tuple[str, str, str]]] = {}

    def __init__(self, **values: Any) -> None:
        links = set(self.MANY_TO_ONE) | set(self.ONE_TO_MANY)
        unknown = set(values) - set(self.FIELDS) - links
        if unknown:
            raise TypeError(f"{type(self).__name__} has no attribute(s) {', '.join(sorted(unknown))}")
        for name, default in self.FIELDS.items():
            setattr(self, name, values[name] if name in values else _make(default))
        for name in links:  # only links given explicitly: a None here would clear a foreign key
            if name in values:
                setattr(self, name, values[name])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'id', None) or getattr(self, 'nonce', '?')}>"


def _make(default: Any) -> Any:
    return default() if callable(default) else default


class Program(Entity):
    """A mentoring program run by coordinators: cadence, duration, horizon, policies.
    ``at_risk_alerts``: coordinators get an email when a pair becomes at risk;
    ``at_risk_alerted``: pair id -> when they were alerted, for the pairs at risk now (a pair
    leaves it when it is no longer at risk, so its next episode is alerted again)."""

    FIELDS = dict(id=new_id, name="", cadence="biweekly", duration_min=45, session_count=6, horizon_weeks=12,
                  mentor_max_sessions_per_week=None, reminder_offsets_min=_default_reminders,
                  repair_policy="auto", allow_pair_cadence=False, is_sandbox=False, attendance_window_days=3,
                  at_risk_alerts=False, at_risk_alerted=dict, created_at=utcnow)
    ONE_TO_MANY = dict(pairs=("Pair", "program_id", "created_at"),
                       agenda_templates=("AgendaTemplate", "program_id", "position"))


class Person(Entity):
    """Someone who uses Tandem. ``tz`` is an IANA name; working hours are local wall-clock.
    ``digest_opt_out``: a coordinator who asked for no weekly digest email. ``erasure_requested_at``:
    their data is being erased (``scheduler.services.privacy``); ``erased_at``: it was, and this
    row is an anonymous placeholder that keeps the program's figures whole."""

    FIELDS = dict(id=new_id, email="", name="", tz=None, working_hours=None, preferences=None, is_admin=False,
                  onboarded_at=None, digest_opt_out=False, erasure_requested_at=None, erased_at=None,
                  created_at=utcnow)
    ONE_TO_MANY = dict(connections=("CalendarConnection", "person_id", "created_at"))


class Membership(Entity):
    """A person's role in a program: coordinator, mentor or mentee. ``consent``: ``accepted``,
    or ``pending`` for someone already in Tandem whom a coordinator added to a new program
    (nothing about them is read, planned, booked or shown there until they accept), or
    ``declined``."""

    FIELDS = dict(id=new_id, program_id=None, person_id=None, role="", consent="accepted", consent_at=None)


class Pair(Entity):
    """A mentor and a mentee in a program, and where they are in their life cycle (``status``
    holds a :class:`scheduler.core.pair_state.PairState` value; change it with
    :func:`scheduler.core.pair_state.move_pair`). ``history`` lists what happened to the pair
    (JSON list of ``{"at", "kind", "by", ...}``, see :mod:`scheduler.services.pair_history`)."""

    FIELDS = dict(id=new_id, program_id=None, mentor_id=None, mentee_id=None, status="invited", status_reason=None,
                  cadence=None, duration_min=None, organizer_role="mentor", history=list, created_at=utcnow,
                  updated_at=utcnow)
    MANY_TO_ONE = dict(program=("program_id", "Program"), mentor=("mentor_id", "Person"),
                       mentee=("mentee_id", "Person"))
    ONE_TO_MANY = dict(series=("Series", "pair_id", "created_at"), goals=("Goal", "pair_id", "created_at"))


class CalendarConnection(Entity):
    """A person's connected calendar. ``token_blob`` is encrypted (see the ``TokenCipher`` port)."""

    FIELDS = dict(id=new_id, person_id=None, provider="", account_email="", calendar_id="primary",
                  token_blob=None, status="ok", last_error=None, sync_cursor=None, watch=None,
                  last_checked_at=None, created_at=utcnow)
    MANY_TO_ONE = dict(person=("person_id", "Person"))


class Series(Entity):
    """A booked (or to-be-booked) recurring series: a wall-clock rule in ``tz``. ``status`` holds a
    :class:`scheduler.core.pair_state.SeriesState` value."""

    FIELDS = dict(id=new_id, pair_id=None, rrule="", dtstart_local="", tz="UTC", duration_min=0,
                  organizer_connection_id=None, provider_event_id=None, video_url=None, status="planned",
                  idempotency_key=new_id, itip_sequence=0, created_at=utcnow)
    MANY_TO_ONE = dict(pair=("pair_id", "Pair"))
    ONE_TO_MANY = dict(occurrences=("Occurrence", "series_id", "original_start"))


class Occurrence(Entity):
    """One session of a series. ``original_start`` identifies it at the provider (RECURRENCE-ID).

    ``attendance`` sums up the follow-up answers alone (unknown, met, missed, rescheduled: "met"
    from anyone stands). ``attendance_verdict`` is what really happened, resolved from every
    signal by :mod:`scheduler.core.attendance` (held, missed, cancelled, moved, disputed,
    unknown), with ``attendance_signals`` beside it (JSON list); ``attendance_set_by`` is the
    coordinator who corrected it (None: the rules), ``attendance_note`` their note."""

    FIELDS = dict(id=new_id, series_id=None, original_start=None, start=None, end=None, status="scheduled",
                  attendance="unknown", agenda=None, attendance_verdict="unknown", attendance_signals=list, attendance_note=None,
                  attendance_set_by=None, attendance_resolved_at=None)
    MANY_TO_ONE = dict(series=("series_id", "Series"))


class AgendaTemplate(Entity):
    """An agenda for a session; ``position`` orders a program's templates over the series."""

    FIELDS = dict(id=new_id, program_id=None, name="", body="", position=0)
    MANY_TO_ONE = dict(program=("program_id", "Program"))


class Goal(Entity):
    """A goal the pair works towards; reviewed in sessions."""

    FIELDS = dict(id=new_id, pair_id=None, text="", status="open", created_at=utcnow, reviewed_at=None)
    MANY_TO_ONE = dict(pair=("pair_id", "Pair"))


class Feedback(Entity):
    """One person's answer about one occurrence (we met / we didn't / moved), once each.
    ``action_items``: one per line, carried into the pair's next agenda."""

    FIELDS = dict(id=new_id, occurrence_id=None, person_id=None, answer="", rating=None, notes=None,
                  action_items=None, created_at=utcnow)


class Notification(Entity):
    """An email to one person, due at ``due_at``. ``idempotency_key`` is unique: the same reminder
    is never created or sent twice."""

    FIELDS = dict(id=new_id, kind="", person_id=None, pair_id=None, occurrence_id=None, due_at=None,
                  status="pending", idempotency_key="", payload=dict, sent_at=None, created_at=utcnow)


class OutboxMessage(Entity):
    """A side effect to perform, written in the same transaction as the change that causes it."""

    FIELDS = dict(id=new_id, kind="", subject_id="", idempotency_key="", status="pending", locked_until=None,
                  due_at=utcnow, attempts=0, enqueued_at=None, done_at=None, last_error=None, created_at=utcnow)


class UsedLink(Entity):
    """A single-use signed link (magic sign-in) that has been used; a second use is refused."""

    FIELDS = dict(nonce="", purpose="", used_at=utcnow)


class WebSession(Entity):
    """A signed-in browser, held on the server so it can be ended (sign out, sign out
    everywhere). ``id`` is the SHA-256 of the random token in the browser's session cookie (the
    table never holds a usable token); ``expires_at`` is absolute (12 hours after sign-in)."""

    FIELDS = dict(id="", person_id=None, created_at=utcnow, expires_at=None, revoked_at=None)


class ClockOffset(Entity):
    """How far the sandbox clock runs ahead of the real one (``app.demo`` only): one row, named
    ``sandbox``, read by every process of the installation (``adapters.clock.SandboxClock``)."""

    FIELDS = dict(name="sandbox", offset_seconds=0, updated_at=utcnow)


class ApiToken(Entity):
    """A bearer token of the JSON API (``/api/v1``): only its SHA-256 ``token_hash`` is stored,
    never the token. ``program_id`` None is an administrator's token for every program.
    ``window_start``/``window_count`` count the token's requests in the current minute (the rate
    limit, shared by every process through this row); ``last_used_at`` is set once per minute."""

    FIELDS = dict(id=new_id, token_hash="", name="", program_id=None, created_by=None, created_at=utcnow,
                  last_used_at=None, revoked_at=None, window_start=None, window_count=0)


class WebhookEndpoint(Entity):
    """A URL of a program's to which Tandem POSTs the events it subscribes to (``events``: a
    list of ``scheduler.core.webhooks.EVENT_TYPES``). ``secret_blob`` is the signing secret,
    encrypted like calendar tokens; ``disabled_reason`` says why it was switched off (by a
    coordinator, or by the endpoint answering 410 Gone)."""

    FIELDS = dict(id=new_id, program_id=None, url="", events=list, secret_blob=None, enabled=True,
                  disabled_reason=None, created_by=None, last_status=None, last_attempt_at=None,
                  last_delivered_at=None, created_at=utcnow)


class WebhookDelivery(Entity):
    """One event for one endpoint, sent by the outbox row ``deliver_webhook`` whose subject it
    is. ``payload`` is the event's ``data``; the body is rebuilt from it byte for byte on every
    try. ``status``: pending, delivered, rejected, gone (the endpoint answered 410), skipped
    (the endpoint was disabled or deleted first)."""

    FIELDS = dict(id=new_id, endpoint_id=None, program_id=None, pair_id=None, event_id="", event_type="",
                  payload=dict, status="pending", attempts=0, last_status=None, last_error=None,
                  delivered_at=None, created_at=utcnow)


class PairRiskMark(Entity):
    """A pair that is at risk (``scheduler.core.at_risk``), since when and by which rules: kept so
    ``pair.at_risk`` fires when a pair *becomes* at risk, not on every check."""

    FIELDS = dict(id=new_id, pair_id=None, program_id=None, since=utcnow, rules=list)


ENTITIES: tuple[type[Entity], ...] = (Program, Person, Membership, Pair, CalendarConnection, Series, Occurrence,
                                      AgendaTemplate, Goal, Feedback, Notification, OutboxMessage, UsedLink,
                                      ClockOffset, ApiToken, WebhookEndpoint, WebhookDelivery, PairRiskMark,
                                      WebSession)
BY_NAME: dict[str, type[Entity]] = {cls.__name__: cls for cls in ENTITIES}
