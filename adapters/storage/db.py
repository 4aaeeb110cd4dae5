"""Engine and session factory for PostgreSQL (production) or SQLite (embedded default)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``. SQLite gets foreign keys, WAL and a busy timeout so the web
    server, the worker threads and the tick can share one file safely."""
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
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
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    from adapters.storage.summaries import keep_summaries

    return keep_summaries(sessionmaker(engine, expire_on_commit=False))


def check_database(engine: Engine) -> str | None:
    """None when the database answers, else a sentence saying what is wrong."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # any driver error is reported, not raised: this is a health probe
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
