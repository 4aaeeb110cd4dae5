"""Tables, and the imperative mapping of the domain's plain classes onto them.

The classes live in ``scheduler.core.entities`` and know nothing of SQLAlchemy; ``start_mappers``
(run once, on import of this module) instruments them, as *Architecture Patterns with Python*
does. Nothing outside ``adapters/storage`` builds a query.
"""
from __future__ import annotations

from sqlalchemy import (false, JSON, BigInteger, Boolean, Column, ForeignKey, Index, Integer, LargeBinary, MetaData, String,
                        Table, Text, UniqueConstraint)
from sqlalchemy.orm import registry, relationship

from adapters.storage.types import UTCDateTime
from scheduler.core import entities as e
from scheduler.core.entities import new_id, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)
mapper_registry = registry(metadata=metadata)


def _id() -> Column:
    return Column("id", String(32), primary_key=True, default=new_id)


def _created() -> Column:
    return Column("created_at", UTCDateTime, nullable=False, default=utcnow)


programs = Table(
    "programs", metadata, _id(),
    Column("name", String(200), nullable=False),
    Column("cadence", String(16), nullable=False, default="biweekly"),
    Column("duration_min", Integer, nullable=False, default=45),
    Column("session_count", Integer, nullable=False, default=6),
    Column("horizon_weeks", Integer, nullable=False, default=12),
    Column("mentor_max_sessions_per_week", Integer, nullable=True),
    Column("reminder_offsets_min", JSON, nullable=False, default=lambda: [24 * 60, 60]),
    Column("repair_policy", String(16), nullable=False, default="auto"),
    Column("allow_pair_cadence", Boolean, nullable=False, default=False),
    Column("is_sandbox", Boolean, nullable=False, default=False),
    Column("attendance_window_days", Integer, nullable=False, default=3, server_default="3"),
    Column("at_risk_alerts", Boolean, nullable=False, default=False, server_default=false()),
    Column("at_risk_alerted", JSON, nullable=False, default=dict, server_default="{}"),
    Column("sharing", String(16), nullable=False, default="fair", server_default="fair"),
    _created(),
)

people = Table(
    "people", metadata, _id(),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False, default=""),
    Column("tz", String(64), nullable=True),
    Column("working_hours", JSON, nullable=True),
    Column("preferences", JSON, nullable=True),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("onboarded_at", UTCDateTime, nullable=True),
    Column("digest_opt_out", Boolean, nullable=False, default=False, server_default=false()),
    Column("erasure_requested_at", UTCDateTime, nullable=True),  # privacy: erasure under way (0011)
    Column("erased_at", UTCDateTime, nullable=True),  # privacy: an anonymous placeholder since then
    _created(),
)

memberships = Table(
    "memberships", metadata, _id(),
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), nullable=False),
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),
    # accepted | pending (someone already in Tandem added to a new program) | declined (migration 0012)
    Column("consent", String(16), nullable=False, default="accepted", server_default="accepted"),
    Column("consent_at", UTCDateTime, nullable=True),
    UniqueConstraint("program_id", "person_id", "role"),
)

pairs = Table(
    "pairs", metadata, _id(),
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("mentor_id", ForeignKey("people.id"), nullable=False),
    Column("mentee_id", ForeignKey("people.id"), nullable=False),
    Column("status", String(24), nullable=False, default="invited"),
    Column("status_reason", Text, nullable=True),
    Column("cadence", String(16), nullable=True),
    Column("duration_min", Integer, nullable=True),
    Column("organizer_role", String(8), nullable=False, default="mentor"),
    Column("history", JSON, nullable=False, default=list, server_default="[]"),
    _created(),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
    UniqueConstraint("program_id", "mentor_id", "mentee_id"),
    Index("ix_pairs_program_status", "program_id", "status"),
)

calendar_connections = Table(
    "calendar_connections", metadata, _id(),
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("provider", String(16), nullable=False),
    Column("account_email", String(320), nullable=False, default=""),
    Column("calendar_id", String(500), nullable=False, default="primary"),
    Column("token_blob", LargeBinary, nullable=True),
    Column("status", String(24), nullable=False, default="ok"),
    Column("last_error", Text, nullable=True),
    Column("sync_cursor", Text, nullable=True),
    Column("watch", JSON, nullable=True),
    Column("last_checked_at", UTCDateTime, nullable=True),
    _created(),
)

series = Table(
    "series", metadata, _id(),
    Column("pair_id", ForeignKey("pairs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("rrule", String(200), nullable=False),
    Column("dtstart_local", String(19), nullable=False),
    Column("tz", String(64), nullable=False),
    Column("duration_min", Integer, nullable=False),
    Column("organizer_connection_id", ForeignKey("calendar_connections.id", ondelete="SET NULL"), nullable=True),
    Column("provider_event_id", String(1024), nullable=True),
    Column("video_url", String(1000), nullable=True),
    Column("status", String(16), nullable=False, default="planned"),
    Column("idempotency_key", String(64), nullable=False, unique=True, default=new_id),
    Column("itip_sequence", Integer, nullable=False, default=0, server_default="0"),
    _created(),
)

occurrences = Table(
    "occurrences", metadata, _id(),
    Column("series_id", ForeignKey("series.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("original_start", UTCDateTime, nullable=False),
    Column("start", UTCDateTime, nullable=False),
    Column("end", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False, default="scheduled"),
    Column("attendance", String(16), nullable=False, default="unknown"),
    Column("agenda", Text, nullable=True),
    Column("attendance_verdict", String(16), nullable=False, default="unknown", server_default="unknown"),
    Column("attendance_signals", JSON, nullable=False, default=list, server_default="[]"),
    Column("attendance_note", Text, nullable=True),
    Column("attendance_set_by", String(32), nullable=True),  # a person id; no key: a correction outlives its author
    Column("attendance_resolved_at", UTCDateTime, nullable=True),
    UniqueConstraint("series_id", "original_start"),
    Index("ix_occurrences_start", "start"),
    Index("ix_occurrences_attendance_verdict", "attendance_verdict", "end"),
    Index("ix_occurrences_verdict_start", "attendance_verdict", "start"),  # reports: one verdict in a date range
)

agenda_templates = Table(
    "agenda_templates", metadata, _id(),
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), nullable=True),
    Column("name", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("position", Integer, nullable=False, default=0),
)

goals = Table(
    "goals", metadata, _id(),
    Column("pair_id", ForeignKey("pairs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False, default="open"),
    _created(),
    Column("reviewed_at", UTCDateTime, nullable=True),
)

feedback = Table(
    "feedback", metadata, _id(),
    Column("occurrence_id", ForeignKey("occurrences.id", ondelete="CASCADE"), nullable=False),
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("answer", String(16), nullable=False),
    Column("rating", Integer, nullable=True),
    Column("notes", Text, nullable=True),
    Column("action_items", Text, nullable=True),
    _created(),
    UniqueConstraint("occurrence_id", "person_id"),
)

notifications = Table(
    "notifications", metadata, _id(),
    Column("kind", String(24), nullable=False),
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("pair_id", ForeignKey("pairs.id", ondelete="CASCADE"), nullable=True),
    Column("occurrence_id", ForeignKey("occurrences.id", ondelete="CASCADE"), nullable=True),
    Column("due_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("payload", JSON, nullable=False, default=dict),
    Column("sent_at", UTCDateTime, nullable=True),
    _created(),
    Index("ix_notifications_due", "status", "due_at"),
)

outbox = Table(
    "outbox", metadata, _id(),
    Column("kind", String(40), nullable=False),
    Column("subject_id", String(32), nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("status", String(16), nullable=False, default="pending"),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("due_at", UTCDateTime, nullable=False, default=utcnow),
    Column("attempts", Integer, nullable=False, default=0),
    Column("enqueued_at", UTCDateTime, nullable=True),
    Column("done_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    _created(),
    Index("ix_outbox_due", "status", "due_at", "id"),  # claims read it in order (0016)
)

used_links = Table(
    "used_links", metadata,
    Column("nonce", String(64), primary_key=True),
    Column("purpose", String(32), nullable=False),
    Column("used_at", UTCDateTime, nullable=False, default=utcnow),
)

# Signed-in browsers (migration 0012): the id is the SHA-256 of the session cookie's token.
web_sessions = Table(
    "web_sessions", metadata,
    Column("id", String(64), primary_key=True),
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# The sandbox clock's offset (``app.demo`` only): one row named "sandbox" (migration 0005).
clock_offsets = Table(
    "clock_offsets", metadata,
    Column("name", String(16), primary_key=True),
    Column("offset_seconds", BigInteger, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
)

# Bearer tokens of the JSON API (migration 0007): the SHA-256 of the token, never the token.
api_tokens = Table(
    "api_tokens", metadata, _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(80), nullable=False),
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("created_by", ForeignKey("people.id", ondelete="SET NULL"), nullable=True),
    _created(),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("window_start", UTCDateTime, nullable=True),
    Column("window_count", Integer, nullable=False, default=0),
)


# Outgoing webhooks (migration 0008): endpoints, one delivery per endpoint and event, and the
# pairs at risk (so ``pair.at_risk`` fires on becoming at risk only).
webhook_endpoints = Table(
    "webhook_endpoints", metadata, _id(),
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False, default=list),
    Column("secret_blob", LargeBinary, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("disabled_reason", Text, nullable=True),
    Column("created_by", ForeignKey("people.id", ondelete="SET NULL"), nullable=True),
    Column("last_status", String(200), nullable=True),
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_delivered_at", UTCDateTime, nullable=True),
    _created(),
)

webhook_deliveries = Table(
    "webhook_deliveries", metadata, _id(),
    Column("endpoint_id", ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), nullable=False),
    Column("pair_id", ForeignKey("pairs.id", ondelete="SET NULL"), nullable=True),
    Column("event_id", String(40), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("payload", JSON, nullable=False, default=dict),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_status", String(200), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    _created(),
    UniqueConstraint("endpoint_id", "event_id"),
)

pair_risk_marks = Table(
    "pair_risk_marks", metadata, _id(),
    Column("pair_id", ForeignKey("pairs.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("since", UTCDateTime, nullable=False, default=utcnow),
    Column("rules", JSON, nullable=False, default=list),
)

# Not an entity: what the SQL repositories keep per pair so the dashboard's pairs table filters,
# sorts and pages in SQL (``SqlPairs.refresh_summaries``): the facts of ``attendance_by_pair`` as
# of ``computed_at``. A flush that touches a pair's series or occurrences deletes its row
# (``adapters.storage.summaries``); a row whose next session has started is recomputed too.
pair_summaries = Table(
    "pair_summaries", metadata,
    Column("pair_id", ForeignKey("pairs.id", ondelete="CASCADE"), primary_key=True),
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), nullable=False),
    Column("first_start", UTCDateTime, nullable=True),
    Column("last_held", UTCDateTime, nullable=True),
    Column("next_start", UTCDateTime, nullable=True),
    Column("misses_in_a_row", Integer, nullable=False, default=0),
    Column("unanswered_in_a_row", Integer, nullable=False, default=0),
    Column("computed_at", UTCDateTime, nullable=False),
    Index("ix_pair_summaries_program_next", "program_id", "next_start"),
)


# Not an entity either: the dashboard charts' counts (``verdict_counts``, ``verdicts_by_mentor``)
# per program and question (``key``: the periods asked, all but the last edge), as of ``until``.
# A later ask adds the sessions that started since ``until``; a flush touching the program's
# pairs, series or occurrences deletes the program's rows (``adapters.storage.summaries``).
chart_counts = Table(
    "chart_counts", metadata,
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(400), primary_key=True),
    Column("until", UTCDateTime, nullable=False),
    Column("counts", JSON, nullable=False),
)


def start_mappers() -> None:
    """Instrument the entity classes (idempotent).

    Every foreign key has a relationship, so a flush inserts parents before children whatever
    order a use case added them in; those the domain does not navigate are private (``_person``).
    """
    if getattr(e.Program, "__mapper__", None) is not None:
        return
    m = mapper_registry.map_imperatively
    m(e.Program, programs, properties=dict(
        pairs=relationship(e.Pair, back_populates="program"),
        agenda_templates=relationship(e.AgendaTemplate, back_populates="program",
                                      order_by=agenda_templates.c.position)))
    m(e.Person, people, properties=dict(
        connections=relationship(e.CalendarConnection, back_populates="person")))
    m(e.Membership, memberships, properties=dict(_program=relationship(e.Program), _person=relationship(e.Person)))
    m(e.Pair, pairs, properties=dict(
        program=relationship(e.Program, back_populates="pairs"),
        mentor=relationship(e.Person, foreign_keys=[pairs.c.mentor_id]),
        mentee=relationship(e.Person, foreign_keys=[pairs.c.mentee_id]),
        series=relationship(e.Series, back_populates="pair", order_by=series.c.created_at),
        goals=relationship(e.Goal, back_populates="pair", order_by=goals.c.created_at)))
    m(e.CalendarConnection, calendar_connections, properties=dict(
        person=relationship(e.Person, back_populates="connections")))
    m(e.Series, series, properties=dict(
        pair=relationship(e.Pair, back_populates="series"),
        _organizer_connection=relationship(e.CalendarConnection),
        occurrences=relationship(e.Occurrence, back_populates="series", order_by=occurrences.c.original_start)))
    m(e.Occurrence, occurrences, properties=dict(series=relationship(e.Series, back_populates="occurrences")))
    m(e.AgendaTemplate, agenda_templates, properties=dict(
        program=relationship(e.Program, back_populates="agenda_templates")))
    m(e.Goal, goals, properties=dict(pair=relationship(e.Pair, back_populates="goals")))
    m(e.Feedback, feedback, properties=dict(_occurrence=relationship(e.Occurrence), _person=relationship(e.Person)))
    m(e.Notification, notifications, properties=dict(
        _person=relationship(e.Person), _pair=relationship(e.Pair), _occurrence=relationship(e.Occurrence)))
    m(e.OutboxMessage, outbox)
    m(e.UsedLink, used_links)
    m(e.WebSession, web_sessions)
    m(e.ClockOffset, clock_offsets)
    m(e.ApiToken, api_tokens, properties=dict(_program=relationship(e.Program), _creator=relationship(e.Person)))
    m(e.WebhookEndpoint, webhook_endpoints, properties=dict(_program=relationship(e.Program),
                                                            _creator=relationship(e.Person)))
    m(e.WebhookDelivery, webhook_deliveries, properties=dict(
        _endpoint=relationship(e.WebhookEndpoint), _program=relationship(e.Program), _pair=relationship(e.Pair)))
    m(e.PairRiskMark, pair_risk_marks, properties=dict(_pair=relationship(e.Pair), _program=relationship(e.Program)))


start_mappers()
