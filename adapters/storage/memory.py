"""An in-memory unit of work: the same repositories as SQL, over dictionaries.

It behaves like a database where use cases can tell: rows are copied in and out (a change not
committed is lost), unique keys are enforced, links between entities (``pair.program``,
``series.occurrences``) are resolved from foreign keys. Services are tested on it without a
database (``tests/unit/services``); the SQL repositories are tested against the same behaviour
in ``tests/integration``.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any, Callable, Generic, Iterable, Iterator, Sequence, TypeVar

from scheduler.core import entities as e
from scheduler.core.entities import Entity
from scheduler.core.pair_state import ACTIVE_OCCURRENCE, ACTIVE_SERIES
from scheduler.ports import DuplicateKey

E = TypeVar("E", bound=Entity)

UNIQUE: dict[type, tuple[tuple[str, ...], ...]] = {
    e.Person: (("email",),),
    e.Membership: (("program_id", "person_id", "role"),),
    e.Pair: (("program_id", "mentor_id", "mentee_id"),),
    e.Series: (("idempotency_key",),),
    e.Occurrence: (("series_id", "original_start"),),
    e.Feedback: (("occurrence_id", "person_id"),),
    e.Notification: (("idempotency_key",),),
    e.OutboxMessage: (("idempotency_key",),),
}


def _pk(cls: type) -> str:
    return "nonce" if cls is e.UsedLink else "id"


class MemoryStore:
    """The committed rows: class -> primary key -> column values. Shared by units of work."""

    def __init__(self) -> None:
        self.tables: dict[type, dict[str, dict]] = {cls: {} for cls in e.ENTITIES}
        self.lock = threading.RLock()

    def uow(self) -> "InMemoryUnitOfWork":
        return InMemoryUnitOfWork(self)


class InMemoryUnitOfWork:
    """Implements ``scheduler.ports.UnitOfWork`` over a :class:`MemoryStore`."""

    def __init__(self, store: MemoryStore):
        self.store = store
        self._seen: dict[tuple[type, str], Entity] = {}
        self._deleted: set[tuple[type, str]] = set()
        self.programs = MemoryPrograms(self, e.Program)
        self.people = MemoryPeople(self, e.Person)
        self.memberships = MemoryMemberships(self, e.Membership)
        self.pairs = MemoryPairs(self, e.Pair)
        self.connections = MemoryConnections(self, e.CalendarConnection)
        self.series = MemorySeries(self, e.Series)
        self.occurrences = MemoryOccurrences(self, e.Occurrence)
        self.agenda_templates = MemoryRepository(self, e.AgendaTemplate)
        self.goals = MemoryRepository(self, e.Goal)
        self.feedback = MemoryFeedback(self, e.Feedback)
        self.notifications = MemoryNotifications(self, e.Notification)
        self.outbox = MemoryOutbox(self, e.OutboxMessage)
        self.used_links = MemoryUsedLinks(self)

    # -- transaction --------------------------------------------------------------------------
    def __enter__(self) -> "InMemoryUnitOfWork":
        self._seen.clear()
        self._deleted.clear()
        return self

    def __exit__(self, *exc) -> None:
        self.rollback()

    def commit(self) -> None:
        with self.store.lock:
            self.flush()
            for (cls, key) in self._deleted:
                self.store.tables[cls].pop(key, None)
            for (cls, key), entity in self._seen.items():
                if (cls, key) not in self._deleted:
                    self.store.tables[cls][key] = _row(entity)
        self._seen.clear()
        self._deleted.clear()

    def rollback(self) -> None:
        self._seen.clear()
        self._deleted.clear()

    def flush(self) -> None:
        """Checks unique keys of everything this unit of work holds against the store."""
        for (cls, key), entity in list(self._seen.items()):
            if (cls, key) in self._deleted:
                continue
            self._link(entity)
            for columns in UNIQUE.get(cls, ()):
                value = tuple(getattr(entity, c) for c in columns)
                for other in self._all(cls):
                    if other is not entity and tuple(getattr(other, c) for c in columns) == value:
                        raise DuplicateKey(f"{cls.__name__}{columns} = {value} exists already")

    # -- rows <-> entities ----------------------------------------------------------------------
    def _load(self, cls: type, key: str | None) -> Entity | None:
        if key is None or (cls, key) in self._deleted:
            return None
        entity = self._seen.get((cls, key))
        if entity is None:
            row = self.store.tables[cls].get(key)
            if row is None:
                return None
            entity = cls(**row)
            self._seen[(cls, key)] = entity
            self._link(entity)
        return entity

    def _all(self, cls: type) -> Iterator[Entity]:
        keys = set(self.store.tables[cls]) | {k for (c, k) in self._seen if c is cls}
        for key in sorted(keys):
            entity = self._load(cls, key)
            if entity is not None:
                yield entity

    def _add(self, entity: Entity) -> None:
        cls = type(entity)
        key = getattr(entity, _pk(cls))
        self._deleted.discard((cls, key))
        self._seen[(cls, key)] = entity
        self._link(entity)

    def _link(self, entity: Entity) -> None:
        """Foreign keys from links set by hand, and links from foreign keys."""
        for attr, (fk, target_name) in entity.MANY_TO_ONE.items():
            target_cls = e.BY_NAME[target_name]
            linked = entity.__dict__.get(attr)
            if linked is not None and getattr(linked, "id", None) is not None:
                if getattr(entity, fk) != linked.id:
                    setattr(entity, fk, linked.id)
                if (target_cls, linked.id) not in self._seen:
                    self._add(linked)
            else:
                target = self._load(target_cls, getattr(entity, fk))
                if target is not None:
                    object.__setattr__(entity, attr, target) if not _instrumented(entity) \
                        else setattr(entity, attr, target)
        for attr, (child_name, fk, order) in entity.ONE_TO_MANY.items():
            setattr_plain(entity, attr, _LazyChildren(self, e.BY_NAME[child_name], fk, order, entity))


def _instrumented(entity: Entity) -> bool:
    return hasattr(entity, "_sa_instance_state")


def setattr_plain(entity: Entity, attr: str, value: Any) -> None:
    """Children lists are computed on access; on classes mapped by SQLAlchemy in the same process
    the attribute is a relationship, so a plain list of current children is stored instead."""
    if _instrumented(entity):
        current = list(value)
        existing = getattr(entity, attr)
        if list(existing) != current:
            existing[:] = current
    else:
        entity.__dict__[attr] = value


class _LazyChildren(list):
    """A list of an entity's children that reflects the unit of work when read."""

    def __init__(self, uow: InMemoryUnitOfWork, cls: type, fk: str, order: str, parent: Entity):
        super().__init__()
        self._args = (uow, cls, fk, order, parent)

    def _current(self) -> list:
        uow, cls, fk, order, parent = self._args
        children = [c for c in uow._all(cls) if getattr(c, fk) == parent.id]
        return sorted(children, key=lambda c: (getattr(c, order) is None, getattr(c, order), c.id))

    def __iter__(self):
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())

    def __getitem__(self, index):
        return self._current()[index]

    def __bool__(self) -> bool:
        return bool(self._current())

    def __contains__(self, item) -> bool:
        return item in self._current()

    def append(self, child) -> None:  # a child added through the parent's list
        uow, cls, fk, order, parent = self._args
        setattr(child, fk, parent.id)
        uow._add(child)

    def __eq__(self, other) -> bool:
        return self._current() == list(other)

    def __repr__(self) -> str:
        return repr(self._current())


def _row(entity: Entity) -> dict:
    return {name: _copy(getattr(entity, name)) for name in entity.FIELDS}


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class MemoryRepository(Generic[E]):
    def __init__(self, uow: InMemoryUnitOfWork, cls: type):
        self.uow = uow
        self.cls = cls

    def all(self) -> list[E]:
        return list(self.uow._all(self.cls))  # type: ignore[arg-type]

    def where(self, predicate: Callable[[E], bool], *, order: Callable[[E], Any] | None = None) -> list[E]:
        found = [x for x in self.all() if predicate(x)]
        return sorted(found, key=order) if order else found

    def get(self, id: str, *, lock: bool = False) -> E | None:
        return self.uow._load(self.cls, id)  # type: ignore[return-value]

    def get_many(self, ids: Iterable[str], *, lock: bool = False) -> list[E]:
        return [x for x in (self.get(i) for i in sorted(set(ids))) if x is not None]

    def add(self, entity: E) -> E:
        self.uow._add(entity)
        return entity

    def delete(self, entity: E) -> None:
        key = getattr(entity, _pk(self.cls))
        self.uow._deleted.add((self.cls, key))
        self.uow._seen.pop((self.cls, key), None)


class MemoryPrograms(MemoryRepository[e.Program]):
    def sandbox(self) -> e.Program | None:
        return next((p for p in self.all() if p.is_sandbox), None)

    def all_oldest_first(self) -> list[e.Program]:
        return self.where(lambda p: True, order=lambda p: (p.created_at, p.id))

    def coordinated_by(self, person_id: str) -> list[e.Program]:
        ids = {m.program_id for m in self.uow.memberships.all() if m.person_id == person_id and m.role == "coordinator"}
        return self.where(lambda p: p.id in ids, order=lambda p: (p.created_at, p.id))


class MemoryPeople(MemoryRepository[e.Person]):
    def by_email(self, email: str) -> e.Person | None:
        wanted = email.strip().lower()
        return next((p for p in self.all() if p.email.lower() == wanted), None)

    def by_emails(self, emails: Sequence[str]) -> list[e.Person]:
        return self.where(lambda p: p.email in set(emails))


class MemoryMemberships(MemoryRepository[e.Membership]):
    def coordinated_by(self, person_id: str) -> list[str]:
        return sorted(m.program_id for m in self.all() if m.person_id == person_id and m.role == "coordinator")

    def coordinator_ids(self, program_id: str) -> list[str]:
        return sorted(m.person_id for m in self.all() if m.program_id == program_id and m.role == "coordinator")

    def roles_in(self, program_id: str) -> dict[str, set[str]]:
        roles: dict[str, set[str]] = {}
        for m in self.where(lambda m: m.program_id == program_id):
            roles.setdefault(m.person_id, set()).add(m.role)
        return roles

    def of_program(self, program_id: str) -> list[e.Membership]:
        return self.where(lambda m: m.program_id == program_id, order=lambda m: m.id)


class MemoryPairs(MemoryRepository[e.Pair]):
    def of_person(self, person_id: str, *, states: Sequence[str] | None = None) -> list[e.Pair]:
        return self.where(lambda p: person_id in (p.mentor_id, p.mentee_id) and (states is None or p.status in states),
                          order=lambda p: (p.created_at, p.id))

    def of_program(self, program_id: str, *, states: Sequence[str] | None = None) -> list[e.Pair]:
        return self.where(lambda p: p.program_id == program_id and (states is None or p.status in states),
                          order=lambda p: (p.created_at, p.id))

    def ready_of_mentor(self, program_id: str, mentor_id: str) -> list[e.Pair]:
        return self.where(lambda p: p.program_id == program_id and p.mentor_id == mentor_id and p.status == "ready",
                          order=lambda p: (p.created_at, p.id))


class MemoryConnections(MemoryRepository[e.CalendarConnection]):
    def of_people(self, person_ids: Iterable[str]) -> list[e.CalendarConnection]:
        ids = set(person_ids)
        return self.where(lambda c: c.person_id in ids, order=lambda c: (c.created_at, c.id))

    def usable_of(self, person_id: str) -> list[e.CalendarConnection]:
        return self.where(lambda c: c.person_id == person_id and c.status == "ok", order=lambda c: c.created_at)

    def with_tokens(self) -> list[e.CalendarConnection]:
        return self.where(lambda c: c.token_blob is not None)

    def usable_with_provider(self, kinds: Sequence[str]) -> list[e.CalendarConnection]:
        return self.where(lambda c: c.status == "ok" and c.provider in tuple(kinds))


class MemorySeries(MemoryRepository[e.Series]):
    def active_of_pair(self, pair_id: str) -> list[e.Series]:
        return self.where(lambda s: s.pair_id == pair_id and s.status in ACTIVE_SERIES)

    def booked_by_event_ids(self, event_ids: Sequence[str]) -> list[e.Series]:
        wanted = set(event_ids)
        return self.where(lambda s: s.provider_event_id in wanted and s.status == "booked")

    def booked_ids(self, person_id: str | None = None) -> list[str]:
        return [s.id for s in self.where(lambda s: s.status == "booked" and s.pair is not None and (
            person_id is None or person_id in (s.pair.mentor_id, s.pair.mentee_id)))]

    def booked_organizer_connection_ids(self, person_ids: Sequence[str]) -> set[str]:
        people = set(person_ids)
        connections = self.uow.connections
        return {s.organizer_connection_id for s in self.where(lambda s: s.status == "booked")
                if s.organizer_connection_id is not None
                and (c := connections.get(s.organizer_connection_id)) is not None and c.person_id in people}

    def count_of_pair(self, pair_id: str) -> int:
        return len(self.where(lambda s: s.pair_id == pair_id))


class MemoryOccurrences(MemoryRepository[e.Occurrence]):
    def by_original_start(self, series_id: str, original_start: datetime) -> e.Occurrence | None:
        return next((o for o in self.where(lambda o: o.series_id == series_id and o.original_start == original_start)),
                    None)

    def busy_intervals_of(self, person_id: str, *, exclude_series_id: str | None = None
                          ) -> list[tuple[datetime, datetime]]:
        def held(o: e.Occurrence) -> bool:
            series = self.uow.series.get(o.series_id)
            pair = self.uow.pairs.get(series.pair_id) if series is not None else None
            return (pair is not None and person_id in (pair.mentor_id, pair.mentee_id)
                    and series.status in ACTIVE_SERIES and o.status in ACTIVE_OCCURRENCE
                    and (exclude_series_id is None or series.id != exclude_series_id))
        return [(o.start, o.end) for o in self.where(held)]

    def count_held(self, pair_id: str, until: datetime) -> int:
        return len(self.where(lambda o: o.status in ACTIVE_OCCURRENCE and o.start <= until
                              and self._pair_id(o) == pair_id))

    def of_pair(self, pair_id: str) -> list[e.Occurrence]:
        return self.where(lambda o: self._pair_id(o) == pair_id, order=lambda o: o.start)

    def _pair_id(self, occurrence: e.Occurrence) -> str | None:
        series = self.uow.series.get(occurrence.series_id)
        return series.pair_id if series is not None else None


class MemoryFeedback(MemoryRepository[e.Feedback]):
    def given_by(self, person_id: str, occurrence_id: str) -> e.Feedback | None:
        return next((f for f in self.all() if f.occurrence_id == occurrence_id and f.person_id == person_id), None)


class MemoryNotifications(MemoryRepository[e.Notification]):
    def add_once(self, notification: e.Notification) -> bool:
        if any(n.idempotency_key == notification.idempotency_key for n in self.all()):
            return False
        self.add(notification)
        return True

    def count_for_occurrence(self, occurrence_id: str) -> int:
        return len(self.where(lambda n: n.occurrence_id == occurrence_id))

    def count_for_person(self, person_id: str, kind: str, *, due_since: datetime) -> int:
        return len(self.where(lambda n: n.person_id == person_id and n.kind == kind and n.due_at >= due_since))

    def cancel_pending(self, *, occurrence_id: str | None = None, pair_id: str | None = None,
                       kinds: Sequence[str] = ("reminder", "feedback")) -> None:
        for n in self.all():
            if (n.status == "pending" and n.kind in kinds
                    and (occurrence_id is None or n.occurrence_id == occurrence_id)
                    and (pair_id is None or n.pair_id == pair_id)):
                n.status = "cancelled"

    def has_key(self, idempotency_key: str) -> bool:
        return any(n.idempotency_key == idempotency_key for n in self.all())


class MemoryOutbox(MemoryRepository[e.OutboxMessage]):
    def add_once(self, kind: str, subject_id: str, idempotency_key: str, due_at: datetime) -> bool:
        if any(m.idempotency_key == idempotency_key for m in self.all()):
            return False
        self.add(e.OutboxMessage(kind=kind, subject_id=subject_id, idempotency_key=idempotency_key,
                                 status="pending", due_at=due_at, attempts=0))
        return True

    def claim_due(self, now: datetime, *, limit: int, claim_timeout: timedelta,
                  max_attempts: int) -> list[e.OutboxMessage]:
        stale_before = now - claim_timeout
        due = self.where(lambda m: (m.status == "pending" and m.due_at <= now)
                         or (m.status == "enqueued" and m.enqueued_at <= stale_before)
                         or (m.status == "running" and m.locked_until <= now), order=lambda m: m.due_at)[:limit]
        claimed = []
        for row in due:
            if row.attempts >= max_attempts:
                row.status = "dead"
                row.last_error = (row.last_error or "no worker finished it") + f" (gave up after {row.attempts} attempts)"
                continue
            row.status, row.enqueued_at, row.attempts = "enqueued", now, row.attempts + 1
            claimed.append(row)
        return claimed

    def count_with_key_prefix(self, prefix: str) -> int:
        return len(self.where(lambda m: m.idempotency_key.startswith(prefix)))

    def acquire(self, outbox_id: str, now: datetime, lease: timedelta) -> bool:
        row = self.get(outbox_id)
        if row is None or not (row.status == "enqueued" or (row.status == "running" and row.locked_until <= now)):
            return False
        row.status, row.locked_until = "running", now + lease
        return True

    def mark_done(self, outbox_id: str, now: datetime) -> bool:
        row = self.get(outbox_id)
        if row is None or row.status == "done":
            return False
        row.status, row.done_at, row.last_error, row.locked_until = "done", now, None, None
        return True

    def record_failure(self, outbox_id: str, error: str, *, retry_at: datetime | None) -> None:
        row = self.get(outbox_id)
        if row is None or row.status == "done":
            return
        row.last_error, row.locked_until = error[:2000], None
        if retry_at is None:
            row.status = "dead"
        else:
            row.status, row.due_at = "pending", retry_at

    def dead(self) -> list[e.OutboxMessage]:
        return sorted(self.where(lambda m: m.status == "dead"), key=lambda m: m.created_at, reverse=True)


class MemoryUsedLinks:
    def __init__(self, uow: InMemoryUnitOfWork):
        self.uow = uow

    def use(self, nonce: str, purpose: str, now: datetime) -> bool:
        if self.uow._load(e.UsedLink, nonce) is not None:
            return False
        self.uow._add(e.UsedLink(nonce=nonce, purpose=purpose, used_at=now))
        return True
