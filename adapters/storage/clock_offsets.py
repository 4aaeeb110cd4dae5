"""Reading the sandbox clock's offset (``clock_offsets``) outside any unit of work.

The clock is read in the middle of use cases, inside their units of work. A unit of work on
SQLite begins with ``BEGIN IMMEDIATE`` (the write lock), so reading the offset in a second one
would wait for the first: this reads it on a driver connection in autocommit (a plain SELECT,
which WAL never blocks; PostgreSQL's reads block nothing either)."""
from __future__ import annotations

from datetime import timedelta
from typing import Callable

from sqlalchemy import Engine

QUERY = "SELECT offset_seconds FROM clock_offsets WHERE name = 'sandbox'"


def offset_reader(engine: Engine) -> Callable[[], timedelta]:
    def read() -> timedelta:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(QUERY)
                row = cursor.fetchone()
            finally:
                cursor.close()
            if engine.dialect.name != "sqlite":
                raw.rollback()  # end the driver's implicit read transaction
            return timedelta(seconds=row[0] if row else 0)
        finally:
            raw.close()

    return read
