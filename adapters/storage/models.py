"""Tables. Plain data: business rules live in ``scheduler``, not on these classes.

Instants are UTC (``UTCDateTime``) with the IANA zone stored beside them where local time
matters. No column ever holds the title or details of anyone's other events.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, MetaData, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from adapters.storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Program(Base):
    """A mentoring program run by coordinators: cadence, duration, horizon, policies."""

    __tablename__ = "programs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    cadence: Mapped[str] = mapped_column(String(16), default="biweekly")  # weekly|biweekly|monthly
    duration_min: Mapped[int] = mapped_column(Integer, default=45)
    session_count: Mapped[int] = mapped_column(Integer, default=6)
    horizon_weeks: Mapped[int] = mapped_column(Integer, default=12)
    mentor_max_sessions_per_week: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reminder_offsets_min: Mapped[list] = mapped_column(JSON, default=lambda: [24 * 60, 60])
    repair_policy: Mapped[str] = mapped_column(String(16), default="auto")  # auto|propose|notify
    allow_pair_cadence: Mapped[bool] = mapped_column(Boolean, default=False)
    is_sandbox: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pairs: Mapped[list["Pair"]] = relationship(back_populates="program")
    agenda_templates: Mapped[list["AgendaTemplate"]] = relationship(back_populates="program",
                                                                    order_by="AgendaTemplate.position")


class Person(Base):
    """Someone who uses Tandem. ``tz`` is an IANA name; working hours are local wall-clock."""

    __tablename__ = "people"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    tz: Mapped[str | None] = mapped_column(String(64), nullable=True)
    working_hours: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # {"mon": [["09:00","17:00"]]}
    preferences: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    onboarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    connections: Mapped[list["CalendarConnection"]] = relationship(back_populates="person")


class Membership(Base):
    """A person's role in a program: coordinator, mentor or mentee."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("program_id", "person_id", "role"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))


class Pair(Base):
    """A mentor and a mentee in a program, and where they are in their life cycle."""

    __tablename__ = "pairs"
    __table_args__ = (UniqueConstraint("program_id", "mentor_id", "mentee_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), index=True)
    mentor_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    mentee_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    # invited | ready | planning | booked | paused | ended | needs_attention | unschedulable
    status: Mapped[str] = mapped_column(String(24), default="invited")
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    cadence: Mapped[str | None] = mapped_column(String(16), nullable=True)  # None: the program's
    duration_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    organizer_role: Mapped[str] = mapped_column(String(8), default="mentor")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    program: Mapped[Program] = relationship(back_populates="pairs")
    mentor: Mapped[Person] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[Person] = relationship(foreign_keys=[mentee_id])
    series: Mapped[list["Series"]] = relationship(back_populates="pair", order_by="Series.created_at")
    goals: Mapped[list["Goal"]] = relationship(back_populates="pair", order_by="Goal.created_at")


class CalendarConnection(Base):
    """A person's connected calendar. ``token_blob`` is encrypted (see ``adapters.tokens``)."""

    __tablename__ = "calendar_connections"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))  # google|microsoft|caldav|ics|memory
    account_email: Mapped[str] = mapped_column(String(320), default="")
    calendar_id: Mapped[str] = mapped_column(String(500), default="primary")
    token_blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    status: Mapped[str] = mapped_column(String(24), default="ok")  # ok|reconnect_needed|error
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sync_cursor: Mapped[str | None] = mapped_column(Text, nullable=True)
    watch: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="connections")


class Series(Base):
    """A booked (or to-be-booked) recurring series: a wall-clock rule in ``tz``."""

    __tablename__ = "series"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    pair_id: Mapped[str] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), index=True)
    rrule: Mapped[str] = mapped_column(String(200))
    dtstart_local: Mapped[str] = mapped_column(String(19))  # ISO wall-clock, no offset
    tz: Mapped[str] = mapped_column(String(64))
    duration_min: Mapped[int] = mapped_column(Integer)
    organizer_connection_id: Mapped[str | None] = mapped_column(
        ForeignKey("calendar_connections.id", ondelete="SET NULL"), nullable=True)
    provider_event_id: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    video_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    # planned | booking | booked | cancelled | failed
    status: Mapped[str] = mapped_column(String(16), default="planned")
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True, default=new_id)
    # SEQUENCE of the emailed iTIP invitation (series booked by email, not on a calendar):
    # raised with every change the attendees' calendar apps should apply.
    itip_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pair: Mapped[Pair] = relationship(back_populates="series")
    occurrences: Mapped[list["Occurrence"]] = relationship(back_populates="series",
                                                           order_by="Occurrence.original_start")


class Occurrence(Base):
    """One session of a series. ``original_start`` identifies it at the provider (RECURRENCE-ID)."""

    __tablename__ = "occurrences"
    __table_args__ = (UniqueConstraint("series_id", "original_start"),
                      Index("ix_occurrences_start", "start"))
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    series_id: Mapped[str] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    original_start: Mapped[datetime] = mapped_column(UTCDateTime)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    # scheduled | moved | conflict | cancelled | skipped
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    # unknown | met | missed | rescheduled
    attendance: Mapped[str] = mapped_column(String(16), default="unknown")
    agenda: Mapped[str | None] = mapped_column(Text, nullable=True)

    series: Mapped[Series] = relationship(back_populates="occurrences")


class AgendaTemplate(Base):
    """An agenda for a session; ``position`` orders a program's templates over the series."""

    __tablename__ = "agenda_templates"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    program_id: Mapped[str | None] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)

    program: Mapped[Program | None] = relationship(back_populates="agenda_templates")


class Goal(Base):
    """A goal the pair works towards; reviewed in sessions."""

    __tablename__ = "goals"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    pair_id: Mapped[str] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|done|dropped
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    pair: Mapped[Pair] = relationship(back_populates="goals")


class Feedback(Base):
    """One person's answer about one occurrence (we met / we didn't / moved), once each."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("occurrence_id", "person_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    occurrence_id: Mapped[str] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    answer: Mapped[str] = mapped_column(String(16))  # met|not_met|moved
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)  # private to the pair
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """An email to one person, due at ``due_at`` (reminders, feedback requests, invitations,
    moves). ``idempotency_key`` is unique: the same reminder is never created or sent twice."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "due_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(24))  # invitation|reminder|feedback|moved|...
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    pair_id: Mapped[str | None] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), nullable=True)
    occurrence_id: Mapped[str | None] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"), nullable=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|cancelled|failed
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """A side effect to perform, written in the same transaction as the change that causes it.

    The tick claims due rows and hands them to the broker; an actor performs the effect and marks
    the row done. ``idempotency_key`` is unique, so enqueuing the same effect twice is a no-op.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "due_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40))  # the actor to run, e.g. "book_series"
    subject_id: Mapped[str] = mapped_column(String(32))  # the id the actor takes
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # pending | enqueued | running | done | dead
    status: Mapped[str] = mapped_column(String(16), default="pending")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # running lease
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsedLink(Base):
    """A single-use signed link (magic sign-in) that has been used; a second use is refused."""

    __tablename__ = "used_links"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
