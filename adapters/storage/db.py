"""Engine and session factory for PostgreSQL (production) or SQLite (embedded default)."""
from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
LOCK_TIMEOUT_S = 30  # as SQLite's own busy timeout below
READ_ONLY = "tandem_read_only"  # execution option of the engine behind read-only units of work
_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()


class _WriterConnection(sqlite3.Connection):
    """A SQLite connection whose transactions also hold a lock of this process's, one per
    database file, from ``BEGIN IMMEDIATE`` until the commit or rollback has finished.

    SQLite lets one writer at a time in; every transaction here writes-locks at BEGIN (see
    ``make_engine``). A thread that finds the file locked waits in SQLite's busy handler, which
    sleeps 1, 2, 5, 10 … 100 ms between tries — so with a few worker threads most of the time
    went to sleeping past the moment the lock was free (measured: 4 delivery threads spent over
    80 % of their time there). Threads of one process now queue on this lock and the next one
    starts the moment the previous transaction ends; other processes on the same file still
    meet SQLite's own lock and busy timeout."""

    write_lock: threading.Lock | None = None
    holding = False

    def take_write_lock(self) -> None:
        if self.write_lock is None or self.holding:
            return
        if not self.write_lock.acquire(timeout=LOCK_TIMEOUT_S):
            # Only a transaction open this long, or a lock lost to a thread killed mid-step,
            # gets here: go on under SQLite's own lock (its busy timeout), as before this lock.
            log.warning("waited %ss for this process's turn to write to SQLite; going on with "
                        "SQLite's own lock", LOCK_TIMEOUT_S)
            return
        self.holding = True

    def release_write_lock(self) -> None:
        if self.holding:
            self.holding = False
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_write_lock()


def _write_lock_for(db_path: str) -> threading.Lock:
    key = str(Path(db_path).resolve())
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``. SQLite gets foreign keys, WAL and a busy timeout so the web
    server, the worker threads and the tick can share one file safely, and a lock per file
    that queues this process's transactions without polling (``_WriterConnection``)."""
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        in_memory = not db_path or db_path == ":memory:" or "mode=memory" in db_path
        if not in_memory:
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        write_lock = None if in_memory else _write_lock_for(db_path.split("?", 1)[0])
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30,
                                                             "factory": _WriterConnection})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.write_lock = write_lock
            # Autocommit mode off in the driver; SQLAlchemy emits BEGIN itself (IMMEDIATE below).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # IMMEDIATE takes the write lock at BEGIN: two claimers can never read the same
            # pending outbox rows and both mark them (SQLite's stand-in for SKIP LOCKED).
            raw = conn.connection.dbapi_connection
            if conn.get_execution_options().get(READ_ONLY):
                # A reader (``make_read_session_factory``): WAL gives it a snapshot and it never
                # blocks a writer, nor waits for one.
                raw.execute("BEGIN DEFERRED")
                return
            raw.take_write_lock()
            try:
                raw.execute("BEGIN IMMEDIATE")  # on the driver itself: this runs once per transaction
            except BaseException:
                raw.release_write_lock()
                raise

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    from adapters.storage.summaries import keep_summaries

    return keep_summaries(sessionmaker(engine, expire_on_commit=False))


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that only read: on SQLite their transactions begin ``DEFERRED`` and take neither
    the write lock nor this process's lock, so a long read (rendering a batch of emails) never
    holds up the writers. A write there would bypass the queue of writers, so the unit of work
    built on these sessions refuses to commit (``SqlUnitOfWork(read_only=True)``). On
    PostgreSQL they are ordinary sessions."""
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def check_database(engine: Engine) -> str | None:
    """None when the database answers, else a sentence saying what is wrong."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # any driver error is reported, not raised: this is a health probe
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
