"""SQL repositories: every query Tandem runs is named here, in the domain's words.

Each class implements one repository of ``scheduler.ports.UnitOfWork`` over a SQLAlchemy session;
services never build queries. Aggregate queries for coordinators live here too, so they can be
indexed and measured in one place.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Generic, Iterable, Sequence, TypeVar

from sqlalchemy import (ColumnElement, String, Text, bindparam, case, cast, func, insert, inspect, or_, select, true,
                        update)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload

import adapters.storage.orm  # noqa: F401  (maps the entities)
from adapters.storage.orm import chart_counts, pair_summaries
from adapters.storage.orm import notifications as notifications_table
from adapters.storage.orm import outbox as outbox_table
from scheduler.core.entities import (AgendaTemplate, ApiToken, CalendarConnection, ClockOffset, Entity, Feedback, Goal,
                                     Membership, Notification, Occurrence, OutboxMessage, Pair, PairRiskMark, Person,
                                     Program, Series, UsedLink, WebhookDelivery, WebhookEndpoint, WebSession, new_id)
from scheduler.core.pair_state import ACTIVE_OCCURRENCE, ACTIVE_SERIES, PairState
from scheduler.core import at_risk
from scheduler.ports import BrokenConnectionRow, PairAttendance, PairCounts, PairRow, ProgramSession

# Verdicts that end a run of misses, and verdicts that say someone answered (attendance_by_pair).
BREAKS_MISSES = ("held", "moved", "disputed")
ANSWERED = ("held", "missed", "moved", "disputed")
NO_ANSWER_TEXT = '%"no_answer"%'  # a no_answer signal in the JSON list (kinds are JSON strings)

E = TypeVar("E", bound=Entity)
PS = pair_summaries
SUMMARY_FACTS = ("first_start", "last_held", "next_start", "misses_in_a_row", "unanswered_in_a_row", "computed_at")
SUMMARY_BATCH = 500  # pairs summed up per query by refresh_summaries


def _label(person) -> ColumnElement:
    """A person as tables name them: their name, or their email when they have none."""
    return func.coalesce(func.nullif(person.name, ""), person.email)


def _started_between(start: datetime, until: datetime):
    """The occurrences that started in ``[start, until)``, found by their start (a few, for the
    kept chart counts): OFFSET 0 keeps SQLite from reaching them through the program's pairs."""
    return (select(Occurrence.series_id, Occurrence.start, Occurrence.attendance_verdict)
            .where(Occurrence.start >= start, Occurrence.start < until).offset(0).subquery())


def _risk_flags(now: datetime) -> dict[str, ColumnElement]:
    """Each rule of :mod:`scheduler.core.at_risk` as a 0/1 column over ``pairs`` outer-joined to
    ``pair_summaries`` (a pair without a summary has no sessions): the same rules, in SQL."""
    awake = Pair.status.not_in(sorted(at_risk.QUIET_STATES))
    no_held_since = now - at_risk.NO_HELD_FOR
    broken = (select(CalendarConnection.id).where(
        CalendarConnection.status != "ok",
        (CalendarConnection.person_id == Pair.mentor_id) | (CalendarConnection.person_id == Pair.mentee_id))
        .exists())
    rules = {
        "misses": func.coalesce(PS.c.misses_in_a_row, 0) >= at_risk.MISSES_IN_A_ROW,
        "no_held": PS.c.first_start.is_not(None) & (PS.c.first_start <= no_held_since)
        & (PS.c.last_held.is_(None) | (PS.c.last_held < no_held_since)),
        "connection": broken,
        "unanswered": func.coalesce(PS.c.unanswered_in_a_row, 0) >= at_risk.UNANSWERED_IN_A_ROW,
        "unschedulable": (Pair.status == "unschedulable") & Pair.updated_at.is_not(None)
        & (Pair.updated_at < now - at_risk.UNSCHEDULABLE_FOR),
    }
    assert tuple(rules) == at_risk.RULES
    return {rule: case((awake & condition, 1), else_=0) for rule, condition in rules.items()}


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _containing(session: Session, columns: tuple, texts: Sequence[str]):
    """A condition: one of ``columns`` (as text) contains one of ``texts``, exactly and
    case-sensitively (``strpos`` / ``instr``: no LIKE wildcards to escape, and SQLite's LIKE
    ignores case). None when there is no text to look for."""
    texts = sorted({t for t in texts if t})
    if not texts:
        return None
    find = func.strpos if _is_postgres(session) else func.instr
    return or_(*(find(cast(column, Text), t) > 0 for column in columns for t in texts))


def insert_once(session: Session, model, values: dict, key_column: str = "idempotency_key") -> str | None:
    """``INSERT ... ON CONFLICT (key) DO NOTHING`` on PostgreSQL and SQLite; the new id, or None
    when a row with that key exists (then nothing was written)."""
    insert = pg_insert if _is_postgres(session) else sqlite_insert
    values = {"id": new_id(), **values}
    stmt = (insert(model).values(**values)
            .on_conflict_do_nothing(index_elements=[key_column]).returning(model.id))
    return session.execute(stmt).scalar()


class SqlRepository(Generic[E]):
    model: type

    def __init__(self, session: Session):
        self.session = session

    def get(self, id: str, *, lock: bool = False) -> E | None:
        if lock and _is_postgres(self.session):
            return self.session.get(self.model, id, with_for_update=True)
        return self.session.get(self.model, id)

    def get_many(self, ids: Iterable[str], *, lock: bool = False) -> list[E]:
        ids = sorted(set(ids))
        if not ids:
            return []
        query = select(self.model).where(self.model.id.in_(ids)).order_by(self.model.id)
        if lock and _is_postgres(self.session):
            query = query.with_for_update()
        return list(self.session.scalars(query))

    def add(self, entity: E) -> E:
        self.session.add(entity)
        return entity

    def add_many(self, entities: Sequence[E]) -> None:
        rows = [{column: getattr(entity, column) for column in type(entity).FIELDS} for entity in entities]
        if rows:
            self.session.execute(insert(inspect(self.model).local_table), rows)  # Core: no ORM bookkeeping

    def delete(self, entity: E) -> None:
        self.session.delete(entity)


class SqlPrograms(SqlRepository[Program]):
    model = Program

    def sandbox(self) -> Program | None:
        return self.session.scalar(select(Program).where(Program.is_sandbox.is_(True)).limit(1))

    def all_oldest_first(self) -> list[Program]:
        return list(self.session.scalars(select(Program).order_by(Program.created_at, Program.id)))

    def coordinated_by(self, person_id: str) -> list[Program]:
        return list(self.session.scalars(
            select(Program).join(Membership, Membership.program_id == Program.id)
            .where(Membership.person_id == person_id, Membership.role == "coordinator")
            .order_by(Program.created_at, Program.id)))


class SqlPeople(SqlRepository[Person]):
    model = Person

    def by_email(self, email: str) -> Person | None:
        return self.session.scalar(select(Person).where(func.lower(Person.email) == email.strip().lower()))

    def by_emails(self, emails: Sequence[str]) -> list[Person]:
        return list(self.session.scalars(select(Person).where(Person.email.in_(tuple(emails)))
                                         .order_by(Person.created_at, Person.id)))


class SqlMemberships(SqlRepository[Membership]):
    model = Membership

    def coordinated_by(self, person_id: str) -> list[str]:
        return list(self.session.scalars(select(Membership.program_id).where(
            Membership.person_id == person_id, Membership.role == "coordinator").order_by(Membership.program_id)))

    def coordinator_ids(self, program_id: str) -> list[str]:
        return list(self.session.scalars(select(Membership.person_id).where(
            Membership.program_id == program_id, Membership.role == "coordinator").order_by(Membership.person_id)))

    def not_accepted(self, program_id: str, person_ids: Sequence[str]) -> set[str]:
        if not person_ids:
            return set()
        consents: dict[str, set[str]] = {}
        for person_id, consent in self.session.execute(select(Membership.person_id, Membership.consent).where(
                Membership.program_id == program_id, Membership.person_id.in_(tuple(person_ids)))):
            consents.setdefault(person_id, set()).add(consent)
        return {person_id for person_id, seen in consents.items() if "accepted" not in seen}

    def roles_in(self, program_id: str) -> dict[str, set[str]]:
        roles: dict[str, set[str]] = {}
        for person_id, role in self.session.execute(select(Membership.person_id, Membership.role)
                                                    .where(Membership.program_id == program_id)):
            roles.setdefault(person_id, set()).add(role)
        return roles

    def of_person(self, person_id: str) -> list[Membership]:
        return list(self.session.scalars(select(Membership).where(Membership.person_id == person_id)
                                         .order_by(Membership.program_id, Membership.role, Membership.id)))

    def of_program(self, program_id: str) -> list[Membership]:
        return list(self.session.scalars(select(Membership).where(Membership.program_id == program_id)
                                         .order_by(Membership.id)))


class SqlPairs(SqlRepository[Pair]):
    model = Pair

    def of_person(self, person_id: str, *, states: Sequence[str] | None = None) -> list[Pair]:
        query = select(Pair).where((Pair.mentor_id == person_id) | (Pair.mentee_id == person_id))
        if states is not None:
            query = query.where(Pair.status.in_(tuple(states)))
        return list(self.session.scalars(query.order_by(Pair.created_at, Pair.id)))

    def of_program(self, program_id: str, *, states: Sequence[str] | None = None,
                   limit: int | None = None) -> list[Pair]:
        query = select(Pair).where(Pair.program_id == program_id)
        if states is not None:
            query = query.where(Pair.status.in_(tuple(states)))
        query = query.order_by(Pair.created_at, Pair.id)
        return list(self.session.scalars(query if limit is None else query.limit(limit)))

    def ready_of_mentor(self, program_id: str, mentor_id: str) -> list[Pair]:
        return list(self.session.scalars(select(Pair).where(
            Pair.mentor_id == mentor_id, Pair.program_id == program_id, Pair.status == PairState.READY.value)
            .order_by(Pair.created_at, Pair.id)))

    def count_by_state(self) -> dict[str, int]:
        return {status: count for status, count in self.session.execute(
            select(Pair.status, func.count()).group_by(Pair.status))}

    def counts_in(self, program_id: str, now: datetime) -> PairCounts:
        by_state = {status: count for status, count in self.session.execute(
            select(Pair.status, func.count()).where(Pair.program_id == program_id).group_by(Pair.status))}
        flags = _risk_flags(now)
        summed = (select(*[func.coalesce(func.sum(flag), 0) for flag in flags.values()],
                         func.count(case((sum(flags.values()) > 0, 1))))
                  .select_from(Pair).outerjoin(PS, PS.c.pair_id == Pair.id).where(Pair.program_id == program_id))
        *per_rule, at_risk_count = self.session.execute(summed).one()
        return PairCounts(by_state, int(at_risk_count or 0), {rule: int(n) for rule, n in zip(flags, per_rule)})

    def refresh_summaries(self, program_id: str, now: datetime) -> None:
        stale = list(self.session.scalars(
            select(Pair.id).outerjoin(PS, PS.c.pair_id == Pair.id)
            .where(Pair.program_id == program_id, PS.c.pair_id.is_(None) | (PS.c.next_start <= now))
            .order_by(Pair.id)))
        occurrences = SqlOccurrences(self.session)
        insert = pg_insert if _is_postgres(self.session) else sqlite_insert
        for first in range(0, len(stale), SUMMARY_BATCH):
            ids = stale[first:first + SUMMARY_BATCH]
            sums = occurrences.attendance_by_pair(program_id, now, pair_ids=ids)
            rows = [dict(pair_id=pair_id, program_id=program_id, first_start=s.first_start, last_held=s.last_held,
                         next_start=s.next_start, misses_in_a_row=s.misses_in_a_row,
                         unanswered_in_a_row=s.unanswered_in_a_row, computed_at=now)
                    for pair_id in ids for s in (sums.get(pair_id, PairAttendance()),)]
            stmt = insert(PS)
            self.session.execute(stmt.on_conflict_do_update(index_elements=[PS.c.pair_id], set_={
                column: stmt.excluded[column] for column in SUMMARY_FACTS}), rows)

    def table_page(self, program_id: str, now: datetime, *, state: str = "", risk: str = "", mentor: str = "",
                   sort: str = "name", descending: bool = False, offset: int = 0, limit: int = 50
                   ) -> tuple[list[PairRow], int]:
        mentor_p, mentee_p = aliased(Person), aliased(Person)
        conditions = [Pair.program_id == program_id]
        if state:
            conditions.append(Pair.status == state)
        flags = _risk_flags(now)
        if risk == "yes":
            conditions.append(sum(flags.values()) > 0)
        elif risk == "no":
            conditions.append(sum(flags.values()) == 0)
        elif risk:
            conditions.append(flags[risk] == 1)
        if mentor:
            is_id = self.session.scalar(select(Pair.id).where(Pair.program_id == program_id,
                                                              Pair.mentor_id == mentor).limit(1))
            if is_id is not None:
                conditions.append(Pair.mentor_id == mentor)
            else:
                needle = mentor.lower()
                conditions.append(func.lower(_label(mentor_p)).contains(needle, autoescape=True)
                                  | func.lower(mentor_p.email).contains(needle, autoescape=True))

        def joined(query):
            return (query.select_from(Pair).join(mentor_p, Pair.mentor_id == mentor_p.id)
                    .join(mentee_p, Pair.mentee_id == mentee_p.id).outerjoin(PS, PS.c.pair_id == Pair.id)
                    .where(*conditions))
        matching = self.session.scalar(joined(select(func.count()))) or 0
        text = (lambda column: func.lower(column).collate("C")) if _is_postgres(self.session) \
            else (lambda column: func.lower(column))
        names = [text(_label(mentor_p)), text(_label(mentee_p)), Pair.id]
        if sort == "name":
            order = [n.desc() if descending else n.asc() for n in names]
        elif sort == "misses":
            misses = func.coalesce(PS.c.misses_in_a_row, 0)
            order = [misses.desc() if descending else misses.asc(), *names]
        else:
            column = PS.c.last_held if sort == "last_held" else PS.c.next_start
            order = [case((column.is_(None), 1), else_=0), column.desc() if descending else column.asc(), *names]
        query = joined(select(Pair.id, Pair.mentor_id, mentor_p.name, mentor_p.email, Pair.mentee_id, mentee_p.name,
                              mentee_p.email, Pair.status, Pair.status_reason, Pair.updated_at))
        rows = self.session.execute(query.order_by(*order).offset(offset).limit(limit))
        return [PairRow(*row) for row in rows], matching

    def table_rows(self, program_id: str) -> list[PairRow]:
        mentor, mentee = aliased(Person), aliased(Person)
        query = (select(Pair.id, Pair.mentor_id, mentor.name, mentor.email, Pair.mentee_id, mentee.name, mentee.email,
                        Pair.status, Pair.status_reason, Pair.updated_at)
                 .join(mentor, Pair.mentor_id == mentor.id).join(mentee, Pair.mentee_id == mentee.id)
                 .where(Pair.program_id == program_id).order_by(Pair.created_at, Pair.id))
        return [PairRow(*row) for row in self.session.execute(query)]

    def table_rows_after(self, program_id: str, *, after: str | None, limit: int,
                         states: Sequence[str] | None = None) -> list[PairRow]:
        mentor, mentee = aliased(Person), aliased(Person)
        query = (select(Pair.id, Pair.mentor_id, mentor.name, mentor.email, Pair.mentee_id, mentee.name, mentee.email,
                        Pair.status, Pair.status_reason, Pair.updated_at)
                 .join(mentor, Pair.mentor_id == mentor.id).join(mentee, Pair.mentee_id == mentee.id)
                 .where(Pair.program_id == program_id))
        if after is not None:
            query = query.where(Pair.id > after)
        if states is not None:
            query = query.where(Pair.status.in_(tuple(states)))
        return [PairRow(*row) for row in self.session.execute(query.order_by(Pair.id).limit(limit))]

    def mentioning(self, texts: Sequence[str]) -> list[Pair]:
        condition = _containing(self.session, (Pair.status_reason, Pair.history), texts)
        if condition is None:
            return []
        return list(self.session.scalars(select(Pair).where(condition).order_by(Pair.created_at, Pair.id)))


class SqlConnections(SqlRepository[CalendarConnection]):
    model = CalendarConnection

    def of_people(self, person_ids: Iterable[str]) -> list[CalendarConnection]:
        ids = sorted(set(person_ids))
        if not ids:
            return []
        return list(self.session.scalars(select(CalendarConnection)
                                         .where(CalendarConnection.person_id.in_(ids))
                                         .order_by(CalendarConnection.created_at, CalendarConnection.id)))

    def usable_of(self, person_id: str) -> list[CalendarConnection]:
        return list(self.session.scalars(select(CalendarConnection)
                                         .where(CalendarConnection.person_id == person_id,
                                                CalendarConnection.status == "ok")
                                         .order_by(CalendarConnection.created_at, CalendarConnection.id)))

    def with_tokens(self) -> list[CalendarConnection]:
        return list(self.session.scalars(select(CalendarConnection)
                                         .where(CalendarConnection.token_blob.is_not(None))
                                         .order_by(CalendarConnection.created_at, CalendarConnection.id)))

    def usable_with_provider(self, kinds: Sequence[str]) -> list[CalendarConnection]:
        return list(self.session.scalars(select(CalendarConnection).where(
            CalendarConnection.status == "ok", CalendarConnection.provider.in_(tuple(kinds)))
            .order_by(CalendarConnection.created_at, CalendarConnection.id)))

    def broken_in_program(self, program_id: str) -> list[BrokenConnectionRow]:
        people = (select(Pair.mentor_id).where(Pair.program_id == program_id)
                  .union(select(Pair.mentee_id).where(Pair.program_id == program_id)))
        query = (select(CalendarConnection.person_id, CalendarConnection.provider, CalendarConnection.status)
                 .where(CalendarConnection.status.notin_(("ok", "checking")), CalendarConnection.person_id.in_(people))
                 .order_by(CalendarConnection.person_id, CalendarConnection.created_at, CalendarConnection.id))
        return [BrokenConnectionRow(*row) for row in self.session.execute(query)]


class SqlSeries(SqlRepository[Series]):
    model = Series

    def active_of_pair(self, pair_id: str) -> list[Series]:
        return list(self.session.scalars(select(Series).where(
            Series.pair_id == pair_id, Series.status.in_(sorted(ACTIVE_SERIES)))
            .order_by(Series.created_at, Series.id)))

    def booked_by_event_ids(self, event_ids: Sequence[str]) -> list[Series]:
        return list(self.session.scalars(select(Series).where(
            Series.provider_event_id.in_(tuple(event_ids)), Series.status == "booked")
            .order_by(Series.created_at, Series.id)))

    def booked_ids(self, person_id: str | None = None) -> list[str]:
        query = select(Series.id).join(Pair, Series.pair_id == Pair.id).where(Series.status == "booked")
        if person_id is not None:
            query = query.where((Pair.mentor_id == person_id) | (Pair.mentee_id == person_id))
        return list(self.session.scalars(query.order_by(Series.created_at, Series.id)))

    def booked_organizer_connection_ids(self, person_ids: Sequence[str]) -> set[str]:
        return set(self.session.scalars(select(Series.organizer_connection_id).join(
            CalendarConnection, Series.organizer_connection_id == CalendarConnection.id).where(
            CalendarConnection.person_id.in_(tuple(person_ids)), Series.status == "booked")))

    def count_of_pair(self, pair_id: str) -> int:
        return self.session.scalar(select(func.count()).select_from(Series).where(Series.pair_id == pair_id)) or 0


class SqlOccurrences(SqlRepository[Occurrence]):
    model = Occurrence

    def by_original_start(self, series_id: str, original_start: datetime) -> Occurrence | None:
        return self.session.scalars(select(Occurrence).where(
            Occurrence.series_id == series_id, Occurrence.original_start == original_start)).one_or_none()

    def busy_intervals_of(self, person_id: str, *, exclude_series_id: str | None = None
                          ) -> list[tuple[datetime, datetime]]:
        query = (select(Occurrence.start, Occurrence.end)
                 .join(Series, Occurrence.series_id == Series.id)
                 .join(Pair, Series.pair_id == Pair.id)
                 .where((Pair.mentor_id == person_id) | (Pair.mentee_id == person_id),
                        Series.status.in_(sorted(ACTIVE_SERIES)),
                        Occurrence.status.in_(ACTIVE_OCCURRENCE)))
        if exclude_series_id is not None:
            query = query.where(Series.id != exclude_series_id)
        return [(start, end) for start, end in self.session.execute(query.order_by(Occurrence.start, Occurrence.id))]

    def count_held(self, pair_id: str, until: datetime) -> int:
        return self.session.scalar(select(func.count()).select_from(Occurrence).join(Series).where(
            Series.pair_id == pair_id, Occurrence.status.in_(ACTIVE_OCCURRENCE), Occurrence.start <= until)) or 0

    def of_pair(self, pair_id: str) -> list[Occurrence]:
        return list(self.session.scalars(
            select(Occurrence).join(Series, Occurrence.series_id == Series.id)
            .where(Series.pair_id == pair_id).order_by(Occurrence.start, Occurrence.id)))

    def attendance_to_resolve(self, *, ended_after: datetime, ended_before: datetime, resolved_before: datetime,
                              limit: int) -> list[Occurrence]:
        return list(self.session.scalars(
            select(Occurrence).where(
                Occurrence.attendance_verdict == "unknown", Occurrence.end >= ended_after, Occurrence.end < ended_before,
                Occurrence.attendance_resolved_at.is_(None) | (Occurrence.attendance_resolved_at < resolved_before))
            .order_by(Occurrence.end, Occurrence.id).limit(limit)))

    def of_program_between(self, program_id: str, *, start_from: datetime, start_before: datetime,
                           verdicts: Sequence[str] | None = None, after: tuple[datetime, str] | None = None,
                           limit: int | None = None) -> list[ProgramSession]:
        mentor, mentee = aliased(Person), aliased(Person)
        query = (select(Occurrence.id, Pair.id, Occurrence.start, Occurrence.end, Occurrence.status,
                        Occurrence.attendance_verdict, Occurrence.attendance_signals, Occurrence.attendance_note,
                        Series.tz, mentor.id, mentor.name, mentor.email, mentor.tz,
                        mentee.id, mentee.name, mentee.email)
                 .join(Series, Occurrence.series_id == Series.id)
                 .join(Pair, Series.pair_id == Pair.id)
                 .join(mentor, Pair.mentor_id == mentor.id)
                 .join(mentee, Pair.mentee_id == mentee.id)
                 .where(Pair.program_id == program_id, Occurrence.start >= start_from,
                        Occurrence.start < start_before))
        if verdicts is not None:
            query = query.where(Occurrence.attendance_verdict.in_(tuple(verdicts)))
        if after is not None:
            query = query.where((Occurrence.start > after[0])
                                | ((Occurrence.start == after[0]) & (Occurrence.id > after[1])))
        query = query.order_by(Occurrence.start, Occurrence.id)
        if limit is not None:
            query = query.limit(limit)
        return [ProgramSession(occ_id, pair_id, start, end, status, verdict, list(signals or []), note, tz,
                               mentor_id, mentor_name, mentor_email, mentor_tz, mentee_id, mentee_name, mentee_email)
                for (occ_id, pair_id, start, end, status, verdict, signals, note, tz, mentor_id, mentor_name,
                     mentor_email, mentor_tz, mentee_id, mentee_name, mentee_email)
                in self.session.execute(query)]


    def attendance_by_pair(self, program_id: str, now: datetime, *, pair_ids: Sequence[str] | None = None
                           ) -> dict[str, PairAttendance]:
        O = Occurrence
        past = O.start <= now
        silent = cast(O.attendance_signals, String).like(NO_ANSWER_TEXT)
        sums = (select(
            Series.pair_id.label("pair_id"),
            func.min(O.start).label("first_start"),
            func.max(case((past & (O.attendance_verdict == "held"), O.start))).label("last_held"),
            func.min(case(((O.start > now) & O.status.in_(ACTIVE_OCCURRENCE)
                           & Series.status.in_(sorted(ACTIVE_SERIES)), O.start))).label("next_start"),
            func.max(case((past & O.attendance_verdict.in_(BREAKS_MISSES), O.start))).label("last_break"),
            func.max(case((past & O.attendance_verdict.in_(ANSWERED) & ~silent, O.start))).label("last_answered"))
            .join(Series, O.series_id == Series.id).join(Pair, Series.pair_id == Pair.id)
            .where(Pair.program_id == program_id,
                   Series.pair_id.in_(tuple(pair_ids)) if pair_ids is not None else true())
            .group_by(Series.pair_id)).subquery()
        o2, s2 = aliased(Occurrence), aliased(Series)
        silent2 = cast(o2.attendance_signals, String).like(NO_ANSWER_TEXT)
        misses = func.count(case(((o2.start <= now) & (o2.attendance_verdict == "missed")
                                  & (sums.c.last_break.is_(None) | (o2.start > sums.c.last_break)), 1)))
        unanswered = func.count(case(((o2.start <= now) & silent2
                                      & (sums.c.last_answered.is_(None) | (o2.start > sums.c.last_answered)), 1)))
        query = (select(sums.c.pair_id, sums.c.first_start, sums.c.last_held, sums.c.next_start, misses, unanswered)
                 .join(s2, s2.pair_id == sums.c.pair_id).join(o2, o2.series_id == s2.id)
                 .group_by(sums.c.pair_id, sums.c.first_start, sums.c.last_held, sums.c.next_start))
        return {pair_id: PairAttendance(first, held, upcoming, missed or 0, silent_count or 0)
                for pair_id, first, held, upcoming, missed, silent_count in self.session.execute(query)}

    def verdict_counts(self, program_id: str, edges: Sequence[datetime]) -> dict[tuple[int, str], int]:
        edges = list(edges)
        if len(edges) < 2:
            return {}
        last = len(edges) - 2

        def counted() -> dict[tuple[int, str], int]:
            period = case(*[(Occurrence.start < edge, i) for i, edge in enumerate(edges[1:])])
            rows = (select(period.label("period"), Occurrence.attendance_verdict.label("verdict"))
                    .join(Series, Occurrence.series_id == Series.id).join(Pair, Series.pair_id == Pair.id)
                    .where(Pair.program_id == program_id, Occurrence.start >= edges[0], Occurrence.start < edges[-1])
                    ).subquery()  # grouped outside: PostgreSQL would not match a CASE with parameters twice
            query = select(rows.c.period, rows.c.verdict, func.count()).group_by(rows.c.period, rows.c.verdict)
            return {(int(i), verdict): count for i, verdict, count in self.session.execute(query)}

        def since(start: datetime) -> dict[tuple[int, str], int]:  # all in the last period
            recent = _started_between(start, edges[-1])
            query = (select(recent.c.attendance_verdict, func.count())
                     .join(Series, recent.c.series_id == Series.id).join(Pair, Series.pair_id == Pair.id)
                     .where(Pair.program_id == program_id).group_by(recent.c.attendance_verdict))
            return {(last, verdict): count for verdict, count in self.session.execute(query)}
        found = self._kept_counts(program_id, "periods:" + ",".join(e.isoformat() for e in edges[:-1]), edges[-1],
                                  counted, since)
        return {(int(i), v): n for (i, v), n in found.items()}

    def verdicts_by_mentor(self, program_id: str, since: datetime, until: datetime
                           ) -> dict[tuple[str, str], int]:
        def counted(start: datetime) -> dict[tuple[str, str], int]:
            recent = _started_between(start, until) if start != since else Occurrence.__table__
            query = (select(Pair.mentor_id, recent.c.attendance_verdict, func.count())
                     .join(Series, recent.c.series_id == Series.id).join(Pair, Series.pair_id == Pair.id)
                     .where(Pair.program_id == program_id, recent.c.start >= start, recent.c.start < until)
                     .group_by(Pair.mentor_id, recent.c.attendance_verdict))
            return {(mentor_id, verdict): count for mentor_id, verdict, count in self.session.execute(query)}
        if until <= since:
            return {}
        return self._kept_counts(program_id, "mentors:" + since.isoformat(), until, lambda: counted(since), counted)

    def _kept_counts(self, program_id: str, key: str, until: datetime, count_all: Callable[[], dict],
                     count_since: Callable[[datetime], dict]) -> dict:
        """Counts of sessions that started before ``until`` (the question ``key`` names), from the
        row kept in ``chart_counts`` plus the sessions that started since it was kept (a flush
        that touches the program's sessions deletes the row), else counted in full; then kept."""
        kept = self.session.execute(select(chart_counts.c.until, chart_counts.c.counts).where(
            chart_counts.c.program_id == program_id, chart_counts.c.key == key)).one_or_none()
        changed = True
        if kept is not None and kept.until <= until:
            found = {tuple(k): n for *k, n in kept.counts}
            added = count_since(kept.until) if kept.until < until else {}
            for k, n in added.items():
                found[k] = found.get(k, 0) + n
            changed = bool(added)  # else the kept row stays as it is (asked again from its ``until``)
        else:
            found = count_all()
        if changed:
            insert = pg_insert if _is_postgres(self.session) else sqlite_insert
            stmt = insert(chart_counts).values(program_id=program_id, key=key, until=until,
                                               counts=[[*k, n] for k, n in sorted(found.items())])
            self.session.execute(stmt.on_conflict_do_update(
                index_elements=[chart_counts.c.program_id, chart_counts.c.key],
                set_={"until": stmt.excluded.until, "counts": stmt.excluded.counts}))
        return found


class SqlAgendaTemplates(SqlRepository[AgendaTemplate]):
    model = AgendaTemplate


class SqlGoals(SqlRepository[Goal]):
    model = Goal


class SqlFeedback(SqlRepository[Feedback]):
    model = Feedback

    def given_by(self, person_id: str, occurrence_id: str) -> Feedback | None:
        return self.session.scalars(select(Feedback).where(Feedback.occurrence_id == occurrence_id,
                                                           Feedback.person_id == person_id)).one_or_none()

    def notes_written_before(self, cutoff: datetime, *, limit: int) -> list[Feedback]:
        return list(self.session.scalars(select(Feedback).where(or_(Feedback.notes.is_not(None),
                                                                    Feedback.action_items.is_not(None)),
                                                                Feedback.created_at < cutoff)
                                         .order_by(Feedback.created_at, Feedback.id).limit(limit)))

    def of_occurrences(self, occurrence_ids: Iterable[str]) -> list[Feedback]:
        ids = sorted(set(occurrence_ids))
        if not ids:
            return []
        return list(self.session.scalars(select(Feedback).where(Feedback.occurrence_id.in_(ids))
                                         .order_by(Feedback.created_at, Feedback.id)))

    def written_by(self, person_id: str) -> list[Feedback]:
        return list(self.session.scalars(select(Feedback).where(Feedback.person_id == person_id)
                                         .order_by(Feedback.created_at, Feedback.id)))


_MARK_SENT = (update(notifications_table)
              .where(notifications_table.c.id == bindparam("nid"), notifications_table.c.status == "pending")
              .values(status="sent", sent_at=bindparam("now")))
_MARK_DONE = (update(outbox_table).where(outbox_table.c.id == bindparam("oid"), outbox_table.c.status != "done")
              .values(status="done", done_at=bindparam("now"), last_error=None, locked_until=None))


class SqlNotifications(SqlRepository[Notification]):
    model = Notification

    def add_once(self, notification: Notification) -> bool:
        values = {c: getattr(notification, c) for c in Notification.FIELDS}
        return insert_once(self.session, Notification, values) is not None

    def count_for_occurrence(self, occurrence_id: str) -> int:
        return self.session.scalar(select(func.count()).select_from(Notification)
                                   .where(Notification.occurrence_id == occurrence_id)) or 0

    def count_for_person(self, person_id: str, kind: str, *, due_since: datetime) -> int:
        return self.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.person_id == person_id, Notification.kind == kind,
            Notification.due_at >= due_since)) or 0

    def count_pending_of_pair(self, pair_id: str) -> int:
        return self.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.pair_id == pair_id, Notification.status == "pending")) or 0

    def cancel_pending(self, *, occurrence_id: str | None = None, pair_id: str | None = None,
                       kinds: Sequence[str] = ("reminder", "feedback")) -> None:
        query = update(Notification).where(Notification.status == "pending", Notification.kind.in_(tuple(kinds)))
        if occurrence_id is not None:
            query = query.where(Notification.occurrence_id == occurrence_id)
        if pair_id is not None:
            query = query.where(Notification.pair_id == pair_id)
        self.session.execute(query.values(status="cancelled"))

    def has_key(self, idempotency_key: str) -> bool:
        return self.session.scalar(select(Notification.id)
                                   .where(Notification.idempotency_key == idempotency_key)) is not None

    def load_for_delivery(self, ids: Sequence[str]) -> list[Notification]:
        ids = sorted(set(ids))
        if not ids:
            return []
        # The relationships hold the related rows, so the identity map keeps them for the
        # ``get`` and lazy loads of rendering (which then need no query).
        pair = selectinload(Notification._pair)
        return list(self.session.scalars(
            select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)
            .options(selectinload(Notification._person),
                     pair.selectinload(Pair.mentor), pair.selectinload(Pair.mentee), pair.selectinload(Pair.goals),
                     selectinload(Notification._occurrence).selectinload(Occurrence.series))))

    def mark_sent(self, notification_id: str, now: datetime) -> bool:
        # Core, built once, on the session's connection: nothing built or tracked per email
        result = self.session.connection().execute(_MARK_SENT, {"nid": notification_id, "now": now})
        return result.rowcount == 1

    def of_person(self, person_id: str) -> list[Notification]:
        return list(self.session.scalars(select(Notification).where(Notification.person_id == person_id)
                                         .order_by(Notification.due_at, Notification.id)))

    def payload_mentioning(self, texts: Sequence[str]) -> list[Notification]:
        condition = _containing(self.session, (Notification.payload,), texts)
        if condition is None:
            return []
        return list(self.session.scalars(select(Notification).where(condition)
                                         .order_by(Notification.due_at, Notification.id)))


UNFINISHED = ("pending", "enqueued", "running")


def _takeable(now: datetime) -> ColumnElement[bool]:
    """A row a worker may take now: handed to the broker, or running on a lease that ran out."""
    return or_(OutboxMessage.status == "enqueued",
               (OutboxMessage.status == "running") & (OutboxMessage.locked_until <= now))


class SqlOutbox(SqlRepository[OutboxMessage]):
    """The transactional outbox. Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite
    the write lock taken at ``BEGIN IMMEDIATE`` (see ``db.make_engine``) gives the same guarantee."""

    model = OutboxMessage

    def add_once(self, kind: str, subject_id: str, idempotency_key: str, due_at: datetime) -> bool:
        return insert_once(self.session, OutboxMessage, dict(
            kind=kind, subject_id=subject_id, idempotency_key=idempotency_key, status="pending", due_at=due_at,
            attempts=0)) is not None

    def claim_due(self, now: datetime, *, limit: int, claim_timeout: timedelta,
                  max_attempts: int) -> list[OutboxMessage]:
        stale_before = now - claim_timeout
        # One query per status, each reading ix_outbox_due (status, due_at, id) in order and
        # stopping at ``limit`` — an OR of the three made the database sort every due row first.
        # The first ``limit`` of the merged answers are the first ``limit`` of all.
        candidates = []
        for condition in ((OutboxMessage.status == "pending") & (OutboxMessage.due_at <= now),
                          (OutboxMessage.status == "enqueued") & (OutboxMessage.enqueued_at <= stale_before),
                          (OutboxMessage.status == "running") & (OutboxMessage.locked_until <= now)):
            query = select(OutboxMessage).where(condition).order_by(OutboxMessage.due_at, OutboxMessage.id).limit(limit)
            if _is_postgres(self.session):
                query = query.with_for_update(skip_locked=True)
            candidates += self.session.scalars(query)
        claimed = []
        for row in sorted(candidates, key=lambda m: (m.due_at, m.id))[:limit]:
            if row.attempts >= max_attempts:
                row.status = "dead"
                row.last_error = ((row.last_error or "no worker finished it")
                                  + f" (gave up after {row.attempts} attempts)")
                continue
            row.status = "enqueued"
            row.enqueued_at = now
            row.attempts += 1
            claimed.append(row)
        self.session.flush()
        return claimed

    def count_unfinished(self, subject_ids: Sequence[str], *, due_by: datetime) -> int:
        ids = sorted(set(subject_ids))
        if not ids:
            return 0
        return self.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.subject_id.in_(ids), OutboxMessage.status.in_(UNFINISHED),
            OutboxMessage.due_at <= due_by)) or 0

    def count_unfinished_for(self, subject_ids: Iterable[str]) -> int:
        ids = list(subject_ids)
        if not ids:
            return 0
        return self.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.subject_id.in_(ids), OutboxMessage.status.in_(UNFINISHED))) or 0

    def count_with_key_prefix(self, prefix: str) -> int:
        return self.session.scalar(select(func.count()).select_from(OutboxMessage)
                                   .where(OutboxMessage.idempotency_key.startswith(prefix))) or 0

    def errors_mentioning(self, texts: Sequence[str]) -> list[OutboxMessage]:
        condition = _containing(self.session, (OutboxMessage.last_error,), texts)
        if condition is None:
            return []
        return list(self.session.scalars(select(OutboxMessage).where(condition)
                                         .order_by(OutboxMessage.created_at, OutboxMessage.id)))

    def acquire(self, outbox_id: str, now: datetime, lease: timedelta) -> bool:
        result = self.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == outbox_id, _takeable(now))
            .values(status="running", locked_until=now + lease).execution_options(synchronize_session=False))
        return result.rowcount == 1

    def acquire_many(self, outbox_ids: Sequence[str], now: datetime, lease: timedelta) -> list[OutboxMessage]:
        ids = sorted(set(outbox_ids))
        if not ids:
            return []
        taken = {row.id: row for row in self.session.scalars(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids), _takeable(now))
            .values(status="running", locked_until=now + lease).returning(OutboxMessage),
            execution_options={"synchronize_session": False, "populate_existing": True})}
        return [taken[i] for i in dict.fromkeys(outbox_ids) if i in taken]

    def mark_done(self, outbox_id: str, now: datetime) -> bool:
        # Core, built once, on the session's connection: nothing built or tracked per row
        result = self.session.connection().execute(_MARK_DONE, {"oid": outbox_id, "now": now})
        return result.rowcount == 1

    def record_failure(self, outbox_id: str, error: str, *, retry_at: datetime | None) -> None:
        values: dict = {"last_error": error[:2000], "locked_until": None}
        if retry_at is None:
            values["status"] = "dead"
        else:
            values.update(status="pending", due_at=retry_at)
        self.session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id,
                                                         OutboxMessage.status != "done").values(**values))

    def running_of(self, kind: str, subject_ids: Iterable[str], now: datetime) -> list[OutboxMessage]:
        ids = list(subject_ids)
        if not ids:
            return []
        return list(self.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind, OutboxMessage.subject_id.in_(ids),
                                        OutboxMessage.status == "running", OutboxMessage.locked_until > now)
            .order_by(OutboxMessage.locked_until, OutboxMessage.id)))

    def dead(self) -> list[OutboxMessage]:
        return list(self.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "dead")
                                         .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())))

    def count_by_status(self) -> dict[str, int]:
        return {status: count for status, count in self.session.execute(
            select(OutboxMessage.status, func.count()).where(OutboxMessage.status != "done")
            .group_by(OutboxMessage.status))}

    def oldest_due(self, now: datetime) -> datetime | None:
        return self.session.scalar(select(func.min(OutboxMessage.due_at)).where(
            OutboxMessage.status.in_(UNFINISHED), OutboxMessage.due_at <= now))


class SqlApiTokens(SqlRepository[ApiToken]):
    model = ApiToken

    def by_hash(self, token_hash: str) -> ApiToken | None:
        return self.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))

    def count_request(self, token_id: str, window_start: datetime, now: datetime) -> int:
        same = ApiToken.window_start == window_start
        stmt = (update(ApiToken).where(ApiToken.id == token_id)
                .values(window_count=case((same, ApiToken.window_count + 1), else_=1),
                        last_used_at=case((same, ApiToken.last_used_at), else_=now),
                        window_start=window_start)
                .returning(ApiToken.window_count)
                .execution_options(synchronize_session=False))
        return self.session.execute(stmt).scalar() or 0

    def of_program(self, program_id: str | None) -> list[ApiToken]:
        scope = ApiToken.program_id.is_(None) if program_id is None else ApiToken.program_id == program_id
        return list(self.session.scalars(select(ApiToken).where(scope)
                                         .order_by(ApiToken.created_at.desc(), ApiToken.id)))


class SqlPairRiskMarks(SqlRepository[PairRiskMark]):
    model = PairRiskMark

    def of_program(self, program_id: str) -> list[PairRiskMark]:
        return list(self.session.scalars(select(PairRiskMark).where(PairRiskMark.program_id == program_id)
                                         .order_by(PairRiskMark.pair_id)))


class SqlWebhookDeliveries(SqlRepository[WebhookDelivery]):
    model = WebhookDelivery

    def mentioning(self, texts: Sequence[str]) -> list[WebhookDelivery]:
        condition = _containing(self.session, (WebhookDelivery.payload, WebhookDelivery.last_error), texts)
        if condition is None:
            return []
        return list(self.session.scalars(select(WebhookDelivery).where(condition)
                                         .order_by(WebhookDelivery.created_at, WebhookDelivery.id)))

    def recent_of_program(self, program_id: str, *, limit: int) -> list[WebhookDelivery]:
        return list(self.session.scalars(select(WebhookDelivery).where(WebhookDelivery.program_id == program_id)
                                         .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
                                         .limit(limit)))


class SqlWebhookEndpoints(SqlRepository[WebhookEndpoint]):
    model = WebhookEndpoint

    def of_program(self, program_id: str) -> list[WebhookEndpoint]:
        return list(self.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.program_id == program_id)
                                         .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)))

    def programs_subscribed_to(self, event_type: str) -> list[str]:
        # A program has a handful of endpoints: the JSON list of events is filtered here, portably.
        rows = self.session.execute(select(WebhookEndpoint.program_id, WebhookEndpoint.events)
                                    .where(WebhookEndpoint.enabled.is_(True)))
        return sorted({program_id for program_id, events in rows if event_type in (events or [])})

    def subscribed(self, program_id: str, event_type: str) -> list[WebhookEndpoint]:
        return [h for h in self.of_program(program_id) if h.enabled and event_type in (h.events or [])]


class SqlWebSessions(SqlRepository[WebSession]):
    model = WebSession

    def delete_expired(self, before: datetime) -> int:
        found = list(self.session.scalars(select(WebSession).where(WebSession.expires_at < before)
                                          .order_by(WebSession.id)))
        for web_session in found:
            self.session.delete(web_session)
        return len(found)

    def revoke_all(self, person_id: str, now: datetime) -> int:
        found = list(self.session.scalars(select(WebSession).where(
            WebSession.person_id == person_id, WebSession.revoked_at.is_(None)).order_by(WebSession.id)))
        for web_session in found:
            web_session.revoked_at = now
        return len(found)


class SqlUsedLinks:
    def __init__(self, session: Session):
        self.session = session

    def use(self, nonce: str, purpose: str, now: datetime) -> bool:
        if self.session.get(UsedLink, nonce) is not None:
            return False
        try:
            with self.session.begin_nested():
                self.session.add(UsedLink(nonce=nonce, purpose=purpose, used_at=now))
                self.session.flush()
        except IntegrityError:
            return False
        return True


class SqlClockOffsets:
    NAME = "sandbox"

    def __init__(self, session: Session):
        self.session = session

    def offset(self) -> timedelta:
        seconds = self.session.scalar(select(ClockOffset.offset_seconds).where(ClockOffset.name == self.NAME))
        return timedelta(seconds=seconds or 0)

    def advance(self, by: timedelta, now: datetime) -> timedelta:
        row = self.session.get(ClockOffset, self.NAME, with_for_update=True)
        if row is None:
            try:
                with self.session.begin_nested():
                    row = ClockOffset(name=self.NAME, offset_seconds=0, updated_at=now)
                    self.session.add(row)
                    self.session.flush()
            except IntegrityError:  # another process made the row first: take its lock
                row = self.session.get(ClockOffset, self.NAME, with_for_update=True, populate_existing=True)
        row.offset_seconds = int(row.offset_seconds + by.total_seconds())
        row.updated_at = now
        return timedelta(seconds=row.offset_seconds)
