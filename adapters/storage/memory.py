"""An in-memory unit of work: the same repositories as SQL, over dictionaries.

It behaves like the SQL unit of work where use cases can tell (``tests/integration/
test_repository_parity.py`` runs every named query through both on the same data):

- rows are copied in and out: a change not committed is lost; a commit writes only the columns
  that changed (and new rows), so a unit of work that only read a row never overwrites another's
  committed change. As with SQLAlchemy, a JSON value changed in place (``person.preferences["x"]
  = 1``) is not seen as a change: assign a new value. ``pair.updated_at`` is set when a pair row
  changes (SQL's ``onupdate``);
- units of work are serialised like SQLite's ``BEGIN IMMEDIATE`` transactions: the first access
  takes the store's re-entrant lock, ``commit``/``rollback``/leaving the ``with`` release it (a
  unit of work used after ``commit`` takes it again on its next access). So reads see the latest
  committed rows, ``get(lock=True)`` is a lock, and two concurrent ``claim_due``/``acquire``/
  ``add_once``/``used_links.use`` never both win. Nested units of work in ONE thread are not
  serialised against each other (the lock is re-entrant), unlike SQL;
- unique keys and primary keys are enforced at ``flush``/``commit`` (:class:`DuplicateKey`);
- ``delete`` applies what SQL does: the foreign keys' ``ON DELETE`` actions (:data:`FOREIGN_KEYS`),
  and, where the ORM maps a collection of children (``pair.series``), the ORM's nullify of those
  children — which fails (:class:`ForeignKeyViolation`, ``IntegrityError`` in SQL) when the
  foreign key is NOT NULL;
- links between entities (``pair.program``, ``series.occurrences``) are resolved from foreign keys.

Known limits: navigating links (``series.occurrences``) after the unit of work has ended reads
the store without its lock (SQL would raise ``DetachedInstanceError`` or return what was loaded);
a stale row deleted by another unit of work is skipped at commit (SQL raises ``StaleDataError``).
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from typing import Any, Callable, Generic, Iterable, Iterator, Sequence, TypeVar

from scheduler.core import at_risk
from scheduler.core import entities as e
from scheduler.core.entities import Entity, utcnow
from scheduler.core.pair_state import ACTIVE_OCCURRENCE, ACTIVE_SERIES
from scheduler.ports import BrokenConnectionRow, DuplicateKey, PairAttendance, PairCounts, PairRow, ProgramSession

BREAKS_MISSES = ("held", "moved", "disputed")
ANSWERED = ("held", "missed", "moved", "disputed")

E = TypeVar("E", bound=Entity)
Key = tuple[type, str]

UNIQUE: dict[type, tuple[tuple[str, ...], ...]] = {
    e.Person: (("email",),),
    e.Membership: (("program_id", "person_id", "role"),),
    e.Pair: (("program_id", "mentor_id", "mentee_id"),),
    e.Series: (("idempotency_key",),),
    e.Occurrence: (("series_id", "original_start"),),
    e.Feedback: (("occurrence_id", "person_id"),),
    e.Notification: (("idempotency_key",),),
    e.OutboxMessage: (("idempotency_key",),),
    e.UsedLink: (("nonce",),),
    e.ClockOffset: (("name",),),
    e.ApiToken: (("token_hash",),),
    e.WebhookDelivery: (("endpoint_id", "event_id"),),
    e.PairRiskMark: (("pair_id",),),
}

# child class, foreign-key column, parent class, ON DELETE action in the schema (adapters/storage/orm.py).
FOREIGN_KEYS: tuple[tuple[type, str, type, str], ...] = (
    (e.Membership, "program_id", e.Program, "CASCADE"),
    (e.Membership, "person_id", e.Person, "CASCADE"),
    (e.WebSession, "person_id", e.Person, "CASCADE"),
    (e.Pair, "program_id", e.Program, "CASCADE"),
    (e.Pair, "mentor_id", e.Person, "NO ACTION"),
    (e.Pair, "mentee_id", e.Person, "NO ACTION"),
    (e.CalendarConnection, "person_id", e.Person, "CASCADE"),
    (e.Series, "pair_id", e.Pair, "CASCADE"),
    (e.Series, "organizer_connection_id", e.CalendarConnection, "SET NULL"),
    (e.Occurrence, "series_id", e.Series, "CASCADE"),
    (e.AgendaTemplate, "program_id", e.Program, "CASCADE"),
    (e.Goal, "pair_id", e.Pair, "CASCADE"),
    (e.Feedback, "occurrence_id", e.Occurrence, "CASCADE"),
    (e.Feedback, "person_id", e.Person, "CASCADE"),
    (e.Notification, "person_id", e.Person, "CASCADE"),
    (e.Notification, "pair_id", e.Pair, "CASCADE"),
    (e.Notification, "occurrence_id", e.Occurrence, "CASCADE"),
    (e.ApiToken, "program_id", e.Program, "CASCADE"),
    (e.ApiToken, "created_by", e.Person, "SET NULL"),
    (e.WebhookEndpoint, "program_id", e.Program, "CASCADE"),
    (e.WebhookEndpoint, "created_by", e.Person, "SET NULL"),
    (e.WebhookDelivery, "endpoint_id", e.WebhookEndpoint, "CASCADE"),
    (e.WebhookDelivery, "program_id", e.Program, "CASCADE"),
    (e.WebhookDelivery, "pair_id", e.Pair, "SET NULL"),
    (e.PairRiskMark, "pair_id", e.Pair, "CASCADE"),
    (e.PairRiskMark, "program_id", e.Program, "CASCADE"),
)
NULLABLE_FKS = {(e.Series, "organizer_connection_id"), (e.AgendaTemplate, "program_id"),
                (e.Notification, "pair_id"), (e.Notification, "occurrence_id"), (e.ApiToken, "program_id"),
                (e.ApiToken, "created_by"), (e.WebhookEndpoint, "created_by"), (e.WebhookDelivery, "pair_id")}


def _on_delete(child: type, fk: str, parent: type, action: str) -> str:
    """What deleting a parent through the session does to a child: where the parent maps the
    children as a collection (``Entity.ONE_TO_MANY`` = the ORM's relationships, no
    ``passive_deletes``), SQLAlchemy sets their foreign key to NULL before the database sees the
    DELETE — which fails on a NOT NULL column; otherwise the schema's action applies."""
    orm_collection = any(e.BY_NAME[name] is child and col == fk for name, col, _ in parent.ONE_TO_MANY.values())
    if orm_collection:
        return "SET NULL" if (child, fk) in NULLABLE_FKS else "FAIL"
    return "FAIL" if action == "NO ACTION" else action


ON_DELETE: dict[type, list[tuple[type, str, str]]] = {}
for _child, _fk, _parent, _action in FOREIGN_KEYS:
    ON_DELETE.setdefault(_parent, []).append((_child, _fk, _on_delete(_child, _fk, _parent, _action)))


class ForeignKeyViolation(Exception):
    """A delete left children pointing at the deleted row (SQL raises ``IntegrityError``)."""


def _pk(cls: type) -> str:
    return {e.UsedLink: "nonce", e.ClockOffset: "name"}.get(cls, "id")


def _le(a: Any, b: Any) -> bool:
    """``a <= b`` as SQL compares: NULL on either side never matches."""
    return a is not None and b is not None and a <= b


def _lt(a: Any, b: Any) -> bool:
    """``a < b`` as SQL compares: NULL on either side never matches."""
    return a is not None and b is not None and a < b


class MemoryStore:
    """The committed rows: class -> primary key -> column values. Shared by units of work; the
    re-entrant ``lock`` is held by the unit of work that is running (see the module docstring)."""

    def __init__(self) -> None:
        self.tables: dict[type, dict[str, dict]] = {cls: {} for cls in e.ENTITIES}
        self.lock = threading.RLock()

    def uow(self) -> "InMemoryUnitOfWork":
        return InMemoryUnitOfWork(self)


class InMemoryUnitOfWork:
    """Implements ``scheduler.ports.UnitOfWork`` over a :class:`MemoryStore`."""

    def __init__(self, store: MemoryStore):
        self.store = store
        self._seen: dict[Key, Entity] = {}
        # rows as loaded (or last committed): a deep copy of the values, and the objects themselves
        self._loaded: dict[Key, tuple[dict, dict]] = {}
        self._deleted: set[Key] = set()
        self._active = False  # inside ``with``
        self._holds_lock = False
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
        self.web_sessions = MemoryWebSessions(self, e.WebSession)
        self.clock_offsets = MemoryClockOffsets(self)
        self.api_tokens = MemoryApiTokens(self, e.ApiToken)
        self.webhook_endpoints = MemoryWebhookEndpoints(self, e.WebhookEndpoint)
        self.webhook_deliveries = MemoryWebhookDeliveries(self, e.WebhookDelivery)
        self.pair_risk_marks = MemoryPairRiskMarks(self, e.PairRiskMark)

    # -- transaction --------------------------------------------------------------------------
    def __enter__(self) -> "InMemoryUnitOfWork":
        self._forget()
        self._active = True
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.rollback()
        finally:
            self._active = False
            self._release()

    def _begin(self) -> None:
        """Every access inside ``with`` runs holding the store's lock (taken again after a commit)."""
        if self._active and not self._holds_lock:
            self.store.lock.acquire()
            self._holds_lock = True

    def _release(self) -> None:
        if self._holds_lock:
            self._holds_lock = False
            self.store.lock.release()

    def _forget(self) -> None:
        self._seen.clear()
        self._loaded.clear()
        self._deleted.clear()

    def commit(self) -> None:
        self._begin()
        try:
            with self.store.lock:
                self.flush()
                self._write()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            self._forget()
        finally:
            self._release()

    def update_statistics(self) -> None:
        return None  # no query planner here

    def flush(self) -> None:
        """Checks primary keys, unique keys and foreign keys left by deletes against the store."""
        self._begin()
        with self.store.lock:
            for key, entity in list(self._seen.items()):
                if key not in self._deleted:
                    self._link(entity)
            self._check_primary_keys()
            self._check_unique()
            self._check_deletes()

    def _write(self) -> None:
        tables = self.store.tables
        for (cls, key) in self._deleted:
            tables[cls].pop(key, None)
        now = utcnow()
        for (cls, key), entity in self._seen.items():
            loaded = self._loaded.get((cls, key))
            if loaded is None:
                tables[cls][key] = _row(entity)
                continue
            changed = _changes(entity, loaded)
            if not changed or key not in tables[cls]:  # SQL's UPDATE would match no row
                continue
            if cls is e.Pair and "updated_at" not in changed:  # the column's onupdate
                entity.updated_at = changed["updated_at"] = now
            tables[cls][key] = {**tables[cls][key], **changed}
        self._deleted.clear()
        for key, entity in self._seen.items():  # the session keeps its objects (expire_on_commit=False)
            self._loaded[key] = _snapshot(entity)

    def _check_primary_keys(self) -> None:
        for (cls, key) in self._seen:
            if (cls, key) not in self._loaded and key in self.store.tables[cls]:
                raise DuplicateKey(f"{cls.__name__} {key} exists already")

    def _check_unique(self) -> None:
        for cls, keysets in UNIQUE.items():
            mine = {k: x for (c, k), x in self._seen.items() if c is cls and (c, k) not in self._deleted}
            dirty = [k for k, x in mine.items() if (cls, k) not in self._loaded or _changes(x, self._loaded[(cls, k)])]
            if not dirty:
                continue
            for columns in keysets:
                taken: dict[tuple, str] = {}
                for k, row in self.store.tables[cls].items():
                    if k not in mine and (cls, k) not in self._deleted:
                        taken[tuple(row[c] for c in columns)] = k
                for k, x in mine.items():
                    value = tuple(getattr(x, c) for c in columns)
                    if None in value:  # NULLs never collide in a unique index
                        continue
                    if taken.get(value, k) != k:
                        raise DuplicateKey(f"{cls.__name__}{columns} = {value} exists already")
                    taken[value] = k

    def _check_deletes(self) -> None:
        for (cls, key) in self._deleted:
            for child, fk, action in ON_DELETE.get(cls, ()):
                if action == "FAIL" and any(getattr(c, fk) == key for c in self._all(child)):
                    raise ForeignKeyViolation(f"{child.__name__}.{fk} still refers to deleted {cls.__name__} {key}")

    # -- rows <-> entities ----------------------------------------------------------------------
    def _load(self, cls: type, key: str | None) -> Entity | None:
        self._begin()
        if key is None or (cls, key) in self._deleted:
            return None
        entity = self._seen.get((cls, key))
        if entity is None:
            row = self.store.tables[cls].get(key)
            if row is None:
                return None
            entity = cls(**{name: _copy(value) for name, value in row.items()})
            self._seen[(cls, key)] = entity
            self._loaded[(cls, key)] = _snapshot(entity)
            self._link(entity)
        return entity

    def _all(self, cls: type) -> Iterator[Entity]:
        self._begin()
        table = self.store.tables[cls]
        keys = set(table) | {k for (c, k) in self._seen if c is cls and ((c, k) not in self._loaded or k in table)}
        for key in sorted(keys):
            entity = self._load(cls, key)
            if entity is not None:
                yield entity

    def _add(self, entity: Entity) -> None:
        self._begin()
        cls = type(entity)
        key = getattr(entity, _pk(cls))
        self._deleted.discard((cls, key))
        if self._seen.get((cls, key)) is not entity:
            self._loaded.pop((cls, key), None)  # a new object: an INSERT (a clash with a stored row fails)
        self._seen[(cls, key)] = entity
        self._link(entity)

    def _attach(self, entity: Entity) -> None:
        """An entity reached through a link: a stored row from an earlier unit of work is taken as
        loaded (written only if changed, as SQLAlchemy does with a detached object); else it is new."""
        cls = type(entity)
        key = getattr(entity, _pk(cls))
        if key in self.store.tables[cls] and (cls, key) not in self._deleted:
            self._seen[(cls, key)] = entity
            self._loaded[(cls, key)] = _snapshot(entity)
            self._link(entity)
        else:
            self._add(entity)

    def _delete(self, entity: Entity) -> None:
        self._begin()
        cls = type(entity)
        key = getattr(entity, _pk(cls))
        if (cls, key) in self._deleted:
            return
        self._deleted.add((cls, key))
        self._seen.pop((cls, key), None)
        self._loaded.pop((cls, key), None)
        if key not in self.store.tables[cls]:
            self._deleted.discard((cls, key))  # never stored: nothing to delete
        for child, fk, action in ON_DELETE.get(cls, ()):
            if action == "FAIL":
                continue  # checked at flush: the children may still be deleted first
            for c in [c for c in self._all(child) if getattr(c, fk) == key]:
                if action == "CASCADE":
                    self._delete(c)
                else:
                    setattr(c, fk, None)
                    for attr, (link_fk, _) in c.MANY_TO_ONE.items():
                        if link_fk == fk:
                            c.__dict__.pop(attr, None)

    def _link(self, entity: Entity) -> None:
        """Foreign keys from links set by hand, and links from foreign keys."""
        for attr, (fk, target_name) in entity.MANY_TO_ONE.items():
            target_cls = e.BY_NAME[target_name]
            linked = entity.__dict__.get(attr)
            if linked is not None and getattr(linked, "id", None) is not None:
                if getattr(entity, fk) != linked.id:
                    setattr(entity, fk, linked.id)
                if (target_cls, linked.id) not in self._seen and (target_cls, linked.id) not in self._deleted:
                    self._attach(linked)
            else:
                target = self._load(target_cls, getattr(entity, fk))
                if target is not None:
                    object.__setattr__(entity, attr, target) if not _instrumented(entity) \
                        else setattr(entity, attr, target)
        for attr, (child_name, fk, order) in entity.ONE_TO_MANY.items():
            setattr_plain(entity, attr, _LazyChildren(self, e.BY_NAME[child_name], fk, order, entity))


def _contains_any(value: Any, texts: Sequence[str]) -> bool:
    """SQL's ``strpos(CAST(value AS TEXT), t) > 0`` for one of ``texts``: exact substrings; a JSON
    value is searched in its stored text (``json.dumps``, as SQLAlchemy writes it); NULL never."""
    if value is None:
        return False
    text = value if isinstance(value, str) else json.dumps(value)
    return any(t and t in text for t in texts)


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


def _snapshot(entity: Entity) -> tuple[dict, dict]:
    return _row(entity), {name: getattr(entity, name) for name in entity.FIELDS}


def _changes(entity: Entity, loaded: tuple[dict, dict]) -> dict:
    """The columns SQLAlchemy would UPDATE: those assigned a value different from the loaded one
    (a JSON value mutated in place is the same object, so it is not a change, as in SQL)."""
    values, objects = loaded
    changed = {}
    for name in entity.FIELDS:
        current = getattr(entity, name)
        if current is not objects[name] and current != values[name]:
            changed[name] = _copy(current)
    return changed


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

    def add_many(self, entities: Sequence[E]) -> None:
        for entity in entities:
            self.uow._add(entity)

    def delete(self, entity: E) -> None:
        self.uow._delete(entity)

    def _exists(self, column: str, value: Any) -> bool:
        """A row with ``column == value`` in the store or in this unit of work (an ON CONFLICT check)."""
        uow = self.uow
        uow._begin()
        for key, row in uow.store.tables[self.cls].items():
            if (self.cls, key) not in uow._seen and (self.cls, key) not in uow._deleted and row[column] == value:
                return True
        return any(getattr(x, column) == value for (c, k), x in uow._seen.items()
                   if c is self.cls and (c, k) not in uow._deleted)


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
        wanted = set(emails)
        return self.where(lambda p: p.email in wanted, order=lambda p: (p.created_at, p.id))


class MemoryMemberships(MemoryRepository[e.Membership]):
    def coordinated_by(self, person_id: str) -> list[str]:
        return sorted(m.program_id for m in self.all() if m.person_id == person_id and m.role == "coordinator")

    def coordinator_ids(self, program_id: str) -> list[str]:
        return sorted(m.person_id for m in self.all() if m.program_id == program_id and m.role == "coordinator")

    def not_accepted(self, program_id: str, person_ids: Sequence[str]) -> set[str]:
        consents: dict[str, set[str]] = {}
        for m in self.where(lambda m: m.program_id == program_id and m.person_id in person_ids):
            consents.setdefault(m.person_id, set()).add(m.consent)
        return {person_id for person_id, seen in consents.items() if "accepted" not in seen}

    def roles_in(self, program_id: str) -> dict[str, set[str]]:
        roles: dict[str, set[str]] = {}
        for m in self.where(lambda m: m.program_id == program_id):
            roles.setdefault(m.person_id, set()).add(m.role)
        return roles

    def of_person(self, person_id: str) -> list[e.Membership]:
        return self.where(lambda m: m.person_id == person_id, order=lambda m: (m.program_id, m.role, m.id))

    def of_program(self, program_id: str) -> list[e.Membership]:
        return self.where(lambda m: m.program_id == program_id, order=lambda m: m.id)


class MemoryPairs(MemoryRepository[e.Pair]):
    def of_person(self, person_id: str, *, states: Sequence[str] | None = None) -> list[e.Pair]:
        return self.where(lambda p: person_id in (p.mentor_id, p.mentee_id) and (states is None or p.status in states),
                          order=lambda p: (p.created_at, p.id))

    def of_program(self, program_id: str, *, states: Sequence[str] | None = None,
                   limit: int | None = None) -> list[e.Pair]:
        found = self.where(lambda p: p.program_id == program_id and (states is None or p.status in states),
                           order=lambda p: (p.created_at, p.id))
        return found if limit is None else found[:limit]

    def ready_of_mentor(self, program_id: str, mentor_id: str) -> list[e.Pair]:
        return self.where(lambda p: p.program_id == program_id and p.mentor_id == mentor_id and p.status == "ready",
                          order=lambda p: (p.created_at, p.id))

    def count_by_state(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.all():
            counts[p.status] = counts.get(p.status, 0) + 1
        return counts

    def _judged(self, program_id: str, now: datetime) -> list[tuple[PairRow, PairAttendance, set[str]]]:
        """Each pair's row, its sessions summed up and the at-risk rules that flag it at ``now``
        (:func:`scheduler.core.at_risk.reasons` itself)."""
        sums = self.uow.occurrences.attendance_by_pair(program_id, now)
        broken = {b.person_id for b in self.uow.connections.broken_in_program(program_id)}
        judged = []
        for row in self.table_rows(program_id):
            s = sums.get(row.pair_id, PairAttendance())
            marks = tuple(at_risk.BrokenConnection(role, "", "") for role, pid in
                          (("mentor", row.mentor_id), ("mentee", row.mentee_id)) if pid in broken)
            facts = at_risk.PairFacts(row.status, row.updated_at, s.misses_in_a_row, s.unanswered_in_a_row,
                                      s.first_start, s.last_held, marks)
            judged.append((row, s, {r.rule for r in at_risk.reasons(facts, now)}))
        return judged

    def counts_in(self, program_id: str, now: datetime) -> PairCounts:
        judged = self._judged(program_id, now)
        by_state: dict[str, int] = {}
        for row, _, _ in judged:
            by_state[row.status] = by_state.get(row.status, 0) + 1
        return PairCounts(by_state, sum(1 for _, _, rules in judged if rules),
                          {rule: sum(1 for _, _, rules in judged if rule in rules) for rule in at_risk.RULES})

    def refresh_summaries(self, program_id: str, now: datetime) -> None:
        return None  # computed on each read

    def table_page(self, program_id: str, now: datetime, *, state: str = "", risk: str = "", mentor: str = "",
                   sort: str = "name", descending: bool = False, offset: int = 0, limit: int = 50
                   ) -> tuple[list[PairRow], int]:
        judged = self._judged(program_id, now)
        needle = mentor.lower()
        by_id = bool(mentor) and any(row.mentor_id == mentor for row, _, _ in judged)

        def label(name: str | None, email: str) -> str:
            return name or email

        def keep(row: PairRow, rules: set[str]) -> bool:
            if state and row.status != state:
                return False
            if risk == "yes" and not rules or risk == "no" and rules or risk in at_risk.RULES and risk not in rules:
                return False
            if by_id:
                return row.mentor_id == mentor
            return not needle or needle in label(row.mentor_name, row.mentor_email).lower() \
                or needle in row.mentor_email.lower()
        chosen = [(row, s) for row, s, rules in judged if keep(row, rules)]

        def name(item) -> tuple:
            row = item[0]
            return (label(row.mentor_name, row.mentor_email).lower(), label(row.mentee_name, row.mentee_email).lower(),
                    row.pair_id)
        if sort == "name":
            ordered = sorted(chosen, key=name, reverse=descending)
        elif sort == "misses":
            ordered = sorted(sorted(chosen, key=name), key=lambda item: item[1].misses_in_a_row, reverse=descending)
        else:
            attr = "last_held" if sort == "last_held" else "next_start"
            having = sorted((i for i in chosen if getattr(i[1], attr) is not None), key=name)
            ordered = sorted(having, key=lambda i: getattr(i[1], attr), reverse=descending) \
                + sorted((i for i in chosen if getattr(i[1], attr) is None), key=name)
        return [row for row, _ in ordered[offset:offset + limit]], len(chosen)

    def table_rows(self, program_id: str) -> list[PairRow]:
        rows = []
        for p in self.of_program(program_id):
            mentor, mentee = self.uow.people.get(p.mentor_id), self.uow.people.get(p.mentee_id)
            if mentor is None or mentee is None:
                continue  # an inner join
            rows.append(PairRow(p.id, mentor.id, mentor.name, mentor.email, mentee.id, mentee.name, mentee.email,
                                p.status, p.status_reason, p.updated_at))
        return rows

    def table_rows_after(self, program_id: str, *, after: str | None, limit: int,
                         states: Sequence[str] | None = None) -> list[PairRow]:
        rows = [r for r in self.table_rows(program_id)
                if (after is None or r.pair_id > after) and (states is None or r.status in states)]
        return sorted(rows, key=lambda r: r.pair_id)[:limit]

    def mentioning(self, texts: Sequence[str]) -> list[e.Pair]:
        return self.where(lambda p: _contains_any(p.status_reason, texts) or _contains_any(p.history, texts),
                          order=lambda p: (p.created_at, p.id))


class MemoryConnections(MemoryRepository[e.CalendarConnection]):
    def of_people(self, person_ids: Iterable[str]) -> list[e.CalendarConnection]:
        ids = set(person_ids)
        return self.where(lambda c: c.person_id in ids, order=lambda c: (c.created_at, c.id))

    def usable_of(self, person_id: str) -> list[e.CalendarConnection]:
        return self.where(lambda c: c.person_id == person_id and c.status == "ok", order=lambda c: (c.created_at, c.id))

    def with_tokens(self) -> list[e.CalendarConnection]:
        return self.where(lambda c: c.token_blob is not None, order=lambda c: (c.created_at, c.id))

    def usable_with_provider(self, kinds: Sequence[str]) -> list[e.CalendarConnection]:
        wanted = tuple(kinds)
        return self.where(lambda c: c.status == "ok" and c.provider in wanted, order=lambda c: (c.created_at, c.id))

    def broken_in_program(self, program_id: str) -> list[BrokenConnectionRow]:
        people = {i for p in self.uow.pairs.of_program(program_id) for i in (p.mentor_id, p.mentee_id)}
        return [BrokenConnectionRow(c.person_id, c.provider, c.status) for c in self.where(
            lambda c: c.status is not None and c.status not in ("ok", "checking") and c.person_id in people,
            order=lambda c: (c.person_id, c.created_at, c.id))]


class MemorySeries(MemoryRepository[e.Series]):
    def active_of_pair(self, pair_id: str) -> list[e.Series]:
        return self.where(lambda s: s.pair_id == pair_id and s.status in ACTIVE_SERIES,
                          order=lambda s: (s.created_at, s.id))

    def booked_by_event_ids(self, event_ids: Sequence[str]) -> list[e.Series]:
        wanted = set(event_ids)
        return self.where(lambda s: s.provider_event_id in wanted and s.status == "booked",
                          order=lambda s: (s.created_at, s.id))

    def booked_ids(self, person_id: str | None = None) -> list[str]:
        return [s.id for s in self.where(lambda s: s.status == "booked" and s.pair is not None and (
            person_id is None or person_id in (s.pair.mentor_id, s.pair.mentee_id)),
            order=lambda s: (s.created_at, s.id))]

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
        return [(o.start, o.end) for o in self.where(held, order=lambda o: (o.start, o.id))]

    def count_held(self, pair_id: str, until: datetime) -> int:
        return len(self.where(lambda o: o.status in ACTIVE_OCCURRENCE and _le(o.start, until)
                              and self._pair_id(o) == pair_id))

    def of_pair(self, pair_id: str) -> list[e.Occurrence]:
        return self.where(lambda o: self._pair_id(o) == pair_id, order=lambda o: (o.start, o.id))

    def attendance_to_resolve(self, *, ended_after: datetime, ended_before: datetime, resolved_before: datetime,
                              limit: int) -> list[e.Occurrence]:
        def due(o: e.Occurrence) -> bool:
            return (o.attendance_verdict == "unknown" and _le(ended_after, o.end) and _lt(o.end, ended_before)
                    and (o.attendance_resolved_at is None or _lt(o.attendance_resolved_at, resolved_before)))
        return self.where(due, order=lambda o: (o.end, o.id))[:limit]

    def of_program_between(self, program_id: str, *, start_from: datetime, start_before: datetime,
                           verdicts: Sequence[str] | None = None, after: tuple[datetime, str] | None = None,
                           limit: int | None = None) -> list[ProgramSession]:
        found: list[ProgramSession] = []
        for o in self.where(lambda o: _le(start_from, o.start) and _lt(o.start, start_before)
                            and (verdicts is None or o.attendance_verdict in verdicts)
                            and (after is None or _lt(after[0], o.start) or (o.start == after[0] and o.id > after[1])),
                            order=lambda o: (o.start, o.id)):
            if limit is not None and len(found) >= limit:
                break
            series = self.uow.series.get(o.series_id)
            pair = self.uow.pairs.get(series.pair_id) if series is not None else None
            if pair is None or pair.program_id != program_id:
                continue
            mentor, mentee = self.uow.people.get(pair.mentor_id), self.uow.people.get(pair.mentee_id)
            if mentor is None or mentee is None:
                continue
            found.append(ProgramSession(o.id, pair.id, o.start, o.end, o.status, o.attendance_verdict,
                                        list(o.attendance_signals or []), o.attendance_note, series.tz,
                                        mentor.id, mentor.name, mentor.email, mentor.tz,
                                        mentee.id, mentee.name, mentee.email))
        return found

    def _of_program(self, program_id: str) -> list[tuple[e.Occurrence, e.Series, e.Pair]]:
        found = []
        for o in self.all():
            series = self.uow.series.get(o.series_id)
            pair = self.uow.pairs.get(series.pair_id) if series is not None else None
            if pair is not None and pair.program_id == program_id:
                found.append((o, series, pair))
        return found

    def attendance_by_pair(self, program_id: str, now: datetime, *, pair_ids: Sequence[str] | None = None
                           ) -> dict[str, PairAttendance]:
        by_pair: dict[str, list[tuple[e.Occurrence, e.Series]]] = {}
        for o, series, pair in self._of_program(program_id):
            if pair_ids is not None and pair.id not in pair_ids:
                continue
            by_pair.setdefault(pair.id, []).append((o, series))

        def latest(values):
            values = [v for v in values if v is not None]
            return max(values) if values else None

        def silent(o: e.Occurrence) -> bool:
            return any(isinstance(s, dict) and s.get("kind") == "no_answer" for s in (o.attendance_signals or []))

        answers = {}
        for pair_id, rows in by_pair.items():
            occs = [o for o, _ in rows]
            past = [o for o in occs if _le(o.start, now)]
            starts = [o.start for o in occs if o.start is not None]
            last_held = latest(o.start for o in past if o.attendance_verdict == "held")
            upcoming = [o.start for o, s in rows if _lt(now, o.start) and o.status in ACTIVE_OCCURRENCE
                        and s.status in ACTIVE_SERIES]
            last_break = latest(o.start for o in past if o.attendance_verdict in BREAKS_MISSES)
            last_answered = latest(o.start for o in past if o.attendance_verdict in ANSWERED and not silent(o))
            misses = sum(1 for o in past if o.attendance_verdict == "missed"
                         and (last_break is None or _lt(last_break, o.start)))
            unanswered = sum(1 for o in past if silent(o) and (last_answered is None or _lt(last_answered, o.start)))
            answers[pair_id] = PairAttendance(min(starts) if starts else None, last_held,
                                              min(upcoming) if upcoming else None, misses, unanswered)
        return answers

    def verdict_counts(self, program_id: str, edges: Sequence[datetime]) -> dict[tuple[int, str], int]:
        edges = list(edges)
        counts: dict[tuple[int, str], int] = {}
        if len(edges) < 2:
            return counts
        for o, _, _ in self._of_program(program_id):
            if not (_le(edges[0], o.start) and _lt(o.start, edges[-1])):
                continue
            i = next(i for i, edge in enumerate(edges[1:]) if o.start < edge)
            counts[(i, o.attendance_verdict)] = counts.get((i, o.attendance_verdict), 0) + 1
        return counts

    def verdicts_by_mentor(self, program_id: str, since: datetime, until: datetime
                           ) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for o, _, pair in self._of_program(program_id):
            if _le(since, o.start) and _lt(o.start, until):
                key = (pair.mentor_id, o.attendance_verdict)
                counts[key] = counts.get(key, 0) + 1
        return counts
    def _pair_id(self, occurrence: e.Occurrence) -> str | None:
        series = self.uow.series.get(occurrence.series_id)
        return series.pair_id if series is not None else None


class MemoryFeedback(MemoryRepository[e.Feedback]):
    def given_by(self, person_id: str, occurrence_id: str) -> e.Feedback | None:
        return next((f for f in self.all() if f.occurrence_id == occurrence_id and f.person_id == person_id), None)

    def notes_written_before(self, cutoff: datetime, *, limit: int) -> list[e.Feedback]:
        return self.where(lambda f: (f.notes is not None or f.action_items is not None) and _lt(f.created_at, cutoff),
                          order=lambda f: (f.created_at, f.id))[:limit]

    def of_occurrences(self, occurrence_ids: Iterable[str]) -> list[e.Feedback]:
        ids = set(occurrence_ids)
        return self.where(lambda f: f.occurrence_id in ids, order=lambda f: (f.created_at, f.id))

    def written_by(self, person_id: str) -> list[e.Feedback]:
        return self.where(lambda f: f.person_id == person_id, order=lambda f: (f.created_at, f.id))


class MemoryNotifications(MemoryRepository[e.Notification]):
    def add_once(self, notification: e.Notification) -> bool:
        """Like SQL's ``INSERT ... ON CONFLICT DO NOTHING``: a copy is stored, the object passed in
        is not tracked by the unit of work."""
        if self._exists("idempotency_key", notification.idempotency_key):
            return False
        self.add(e.Notification(**{name: _copy(getattr(notification, name)) for name in e.Notification.FIELDS}))
        return True

    def count_for_occurrence(self, occurrence_id: str) -> int:
        return len(self.where(lambda n: n.occurrence_id == occurrence_id))

    def count_for_person(self, person_id: str, kind: str, *, due_since: datetime) -> int:
        return len(self.where(lambda n: n.person_id == person_id and n.kind == kind and _le(due_since, n.due_at)))

    def count_pending_of_pair(self, pair_id: str) -> int:
        return len(self.where(lambda n: n.pair_id == pair_id and n.status == "pending"))

    def cancel_pending(self, *, occurrence_id: str | None = None, pair_id: str | None = None,
                       kinds: Sequence[str] = ("reminder", "feedback")) -> None:
        for n in self.all():
            if (n.status == "pending" and n.kind in kinds
                    and (occurrence_id is None or n.occurrence_id == occurrence_id)
                    and (pair_id is None or n.pair_id == pair_id)):
                n.status = "cancelled"

    def has_key(self, idempotency_key: str) -> bool:
        return self._exists("idempotency_key", idempotency_key)

    def load_for_delivery(self, ids: Sequence[str]) -> list[e.Notification]:
        return self.get_many(ids)  # everything is in memory already

    def mark_sent(self, notification_id: str, now: datetime) -> bool:
        n = self.get(notification_id)
        if n is None or n.status != "pending":
            return False
        n.status, n.sent_at = "sent", now
        return True

    def of_person(self, person_id: str) -> list[e.Notification]:
        return self.where(lambda n: n.person_id == person_id, order=lambda n: (n.due_at, n.id))

    def payload_mentioning(self, texts: Sequence[str]) -> list[e.Notification]:
        return self.where(lambda n: _contains_any(n.payload, texts), order=lambda n: (n.due_at, n.id))


class MemoryOutbox(MemoryRepository[e.OutboxMessage]):
    def add_once(self, kind: str, subject_id: str, idempotency_key: str, due_at: datetime) -> bool:
        if self._exists("idempotency_key", idempotency_key):
            return False
        self.add(e.OutboxMessage(kind=kind, subject_id=subject_id, idempotency_key=idempotency_key,
                                 status="pending", due_at=due_at, attempts=0))
        return True

    def claim_due(self, now: datetime, *, limit: int, claim_timeout: timedelta,
                  max_attempts: int) -> list[e.OutboxMessage]:
        stale_before = now - claim_timeout
        due = self.where(lambda m: (m.status == "pending" and _le(m.due_at, now))
                         or (m.status == "enqueued" and _le(m.enqueued_at, stale_before))
                         or (m.status == "running" and _le(m.locked_until, now)),
                         order=lambda m: (m.due_at, m.id))[:limit]
        claimed = []
        for row in due:
            if row.attempts >= max_attempts:
                row.status = "dead"
                row.last_error = (row.last_error or "no worker finished it") + f" (gave up after {row.attempts} attempts)"
                continue
            row.status, row.enqueued_at, row.attempts = "enqueued", now, row.attempts + 1
            claimed.append(row)
        return claimed

    def count_unfinished(self, subject_ids: Sequence[str], *, due_by: datetime) -> int:
        ids = set(subject_ids)
        return len(self.where(lambda m: m.subject_id in ids and m.status in ("pending", "enqueued", "running")
                              and _le(m.due_at, due_by)))

    def count_unfinished_for(self, subject_ids: Iterable[str]) -> int:
        ids = set(subject_ids)
        return len(self.where(lambda m: m.subject_id in ids and m.status in ("pending", "enqueued", "running")))

    def count_with_key_prefix(self, prefix: str) -> int:
        return len(self.where(lambda m: m.idempotency_key.startswith(prefix)))

    def errors_mentioning(self, texts: Sequence[str]) -> list[e.OutboxMessage]:
        return self.where(lambda m: _contains_any(m.last_error, texts), order=lambda m: (m.created_at, m.id))

    def acquire(self, outbox_id: str, now: datetime, lease: timedelta) -> bool:
        row = self.get(outbox_id)
        if row is None or not (row.status == "enqueued" or (row.status == "running" and _le(row.locked_until, now))):
            return False
        row.status, row.locked_until = "running", now + lease
        return True

    def acquire_many(self, outbox_ids: Sequence[str], now: datetime, lease: timedelta) -> list[e.OutboxMessage]:
        return [self.get(i) for i in dict.fromkeys(outbox_ids) if self.acquire(i, now, lease)]

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

    def running_of(self, kind: str, subject_ids: Iterable[str], now: datetime) -> list[e.OutboxMessage]:
        ids = set(subject_ids)
        return sorted(self.where(lambda m: m.kind == kind and m.subject_id in ids and m.status == "running"
                                 and _lt(now, m.locked_until)), key=lambda m: (m.locked_until, m.id))

    def dead(self) -> list[e.OutboxMessage]:
        return sorted(self.where(lambda m: m.status == "dead"), key=lambda m: (m.created_at, m.id), reverse=True)

    def count_by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for m in self.where(lambda m: m.status != "done"):
            counts[m.status] = counts.get(m.status, 0) + 1
        return counts

    def oldest_due(self, now: datetime) -> datetime | None:
        due = [m.due_at for m in self.where(lambda m: m.status in ("pending", "enqueued", "running")
                                             and _le(m.due_at, now))]
        return min(due) if due else None


class MemoryApiTokens(MemoryRepository[e.ApiToken]):
    def by_hash(self, token_hash: str) -> e.ApiToken | None:
        return next((t for t in self.all() if t.token_hash == token_hash), None)

    def count_request(self, token_id: str, window_start: datetime, now: datetime) -> int:
        token = self.get(token_id)
        if token is None:
            return 0
        if token.window_start == window_start:
            token.window_count += 1
        else:
            token.window_start, token.window_count, token.last_used_at = window_start, 1, now
        return token.window_count

    def of_program(self, program_id: str | None) -> list[e.ApiToken]:
        found = self.where(lambda t: t.program_id == program_id, order=lambda t: t.id)
        return sorted(found, key=lambda t: t.created_at, reverse=True)


class MemoryPairRiskMarks(MemoryRepository[e.PairRiskMark]):
    def of_program(self, program_id: str) -> list[e.PairRiskMark]:
        return self.where(lambda m: m.program_id == program_id, order=lambda m: m.pair_id)


class MemoryWebhookDeliveries(MemoryRepository[e.WebhookDelivery]):
    def mentioning(self, texts: Sequence[str]) -> list[e.WebhookDelivery]:
        return self.where(lambda d: _contains_any(d.payload, texts) or _contains_any(d.last_error, texts),
                          order=lambda d: (d.created_at, d.id))

    def recent_of_program(self, program_id: str, *, limit: int) -> list[e.WebhookDelivery]:
        rows = self.where(lambda d: d.program_id == program_id, order=lambda d: (d.created_at, d.id))
        return rows[::-1][:limit]


class MemoryWebhookEndpoints(MemoryRepository[e.WebhookEndpoint]):
    def of_program(self, program_id: str) -> list[e.WebhookEndpoint]:
        return self.where(lambda h: h.program_id == program_id, order=lambda h: (h.created_at, h.id))

    def programs_subscribed_to(self, event_type: str) -> list[str]:
        return sorted({h.program_id for h in self.where(lambda h: h.enabled and event_type in (h.events or []))})

    def subscribed(self, program_id: str, event_type: str) -> list[e.WebhookEndpoint]:
        return [h for h in self.of_program(program_id) if h.enabled and event_type in (h.events or [])]


class MemoryWebSessions(MemoryRepository[e.WebSession]):
    def delete_expired(self, before: datetime) -> int:
        found = self.where(lambda s: s.expires_at < before)
        for web_session in found:
            self.delete(web_session)
        return len(found)

    def revoke_all(self, person_id: str, now: datetime) -> int:
        found = self.where(lambda s: s.person_id == person_id and s.revoked_at is None)
        for web_session in found:
            web_session.revoked_at = now
        return len(found)


class MemoryUsedLinks:
    def __init__(self, uow: InMemoryUnitOfWork):
        self.uow = uow

    def use(self, nonce: str, purpose: str, now: datetime) -> bool:
        if self.uow._load(e.UsedLink, nonce) is not None:
            return False
        self.uow._add(e.UsedLink(nonce=nonce, purpose=purpose, used_at=now))
        return True


class MemoryClockOffsets:
    NAME = "sandbox"

    def __init__(self, uow: InMemoryUnitOfWork):
        self.uow = uow

    def offset(self) -> timedelta:
        row = self.uow._load(e.ClockOffset, self.NAME)
        return timedelta(seconds=row.offset_seconds if row is not None else 0)

    def advance(self, by: timedelta, now: datetime) -> timedelta:
        row = self.uow._load(e.ClockOffset, self.NAME)
        if row is None:
            row = e.ClockOffset(name=self.NAME, offset_seconds=0, updated_at=now)
            self.uow._add(row)
        row.offset_seconds = int(row.offset_seconds + by.total_seconds())
        row.updated_at = now
        return timedelta(seconds=row.offset_seconds)
