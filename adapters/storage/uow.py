"""The SQL unit of work: one database transaction per use case, committed explicitly."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from adapters.storage import repositories as r


class SqlUnitOfWork:
    """``with uow_factory() as uow: ...; uow.commit()`` — leaving without commit rolls back.
    Implements ``scheduler.ports.UnitOfWork``."""

    def __init__(self, session_factory: sessionmaker[Session], *, read_only: bool = False):
        self._session_factory = session_factory
        self._read_only = read_only
        self.session: Session

    def __enter__(self) -> "SqlUnitOfWork":
        self.session = s = self._session_factory()
        self.programs = r.SqlPrograms(s)
        self.people = r.SqlPeople(s)
        self.memberships = r.SqlMemberships(s)
        self.pairs = r.SqlPairs(s)
        self.connections = r.SqlConnections(s)
        self.series = r.SqlSeries(s)
        self.occurrences = r.SqlOccurrences(s)
        self.agenda_templates = r.SqlAgendaTemplates(s)
        self.goals = r.SqlGoals(s)
        self.feedback = r.SqlFeedback(s)
        self.notifications = r.SqlNotifications(s)
        self.outbox = r.SqlOutbox(s)
        self.used_links = r.SqlUsedLinks(s)
        self.web_sessions = r.SqlWebSessions(s)
        self.clock_offsets = r.SqlClockOffsets(s)
        self.api_tokens = r.SqlApiTokens(s)
        self.webhook_endpoints = r.SqlWebhookEndpoints(s)
        self.webhook_deliveries = r.SqlWebhookDeliveries(s)
        self.pair_risk_marks = r.SqlPairRiskMarks(s)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit (use Dependencies.uow to write)")
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def flush(self) -> None:
        self.session.flush()

    def update_statistics(self) -> None:
        self.session.execute(text("ANALYZE"))  # PostgreSQL and SQLite alike


UnitOfWork = SqlUnitOfWork  # the name storage tests and tools know
UnitOfWorkFactory = Callable[[], SqlUnitOfWork]
