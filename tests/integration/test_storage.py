"""Repository tests: run on SQLite and PostgreSQL (the ``database_url`` fixture)."""
import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from adapters.storage.db import make_engine, make_session_factory
from adapters.storage.migrate import pending_revisions
from adapters.storage.models import (CalendarConnection, Feedback, Occurrence, OutboxMessage, Pair, Person,
                                     Program, Series)
from adapters.storage.outbox import add_outbox, claim_due, mark_done, record_failure
from adapters.storage.uow import UnitOfWork
from scheduler.services.tokens import rotate_tokens as rotate_all

T0 = datetime(2027, 3, 14, 6, 30, tzinfo=timezone.utc)


@pytest.fixture
def uow_factory(database_url):
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    yield lambda: UnitOfWork(factory)
    engine.dispose()


def _pair(session):
    program = Program(name="Spring cohort")
    mentor, mentee = Person(email="mentor@example.org", tz="America/New_York"), Person(email="mentee@example.org", tz="Europe/Berlin")
    pair = Pair(program=program, mentor=mentor, mentee=mentee)
    session.add(pair)
    session.flush()
    return pair


def test_migrations_are_current(database_url):
    engine = make_engine(database_url)
    assert pending_revisions(engine) == []
    engine.dispose()


def test_instants_round_trip_as_aware_utc(uow_factory):
    berlin = datetime(2027, 3, 29, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # just after EU DST starts
    with uow_factory() as uow:
        pair = _pair(uow.session)
        series = Series(pair=pair, rrule="FREQ=WEEKLY;COUNT=2;BYDAY=MO", dtstart_local="2027-03-29T09:00:00",
                        tz="Europe/Berlin", duration_min=45)
        series.occurrences.append(Occurrence(original_start=berlin, start=berlin, end=berlin + timedelta(minutes=45)))
        uow.session.add(series)
        uow.commit()
        occ_id = series.occurrences[0].id
    with uow_factory() as uow:
        occ = uow.session.get(Occurrence, occ_id)
        assert occ.start.tzinfo is not None and occ.start.utcoffset() == timedelta(0)
        assert occ.start == datetime(2027, 3, 29, 7, 0, tzinfo=timezone.utc)
        assert occ.series.tz == "Europe/Berlin"


def test_naive_datetimes_are_refused(uow_factory):
    with uow_factory() as uow:
        pair = _pair(uow.session)
        uow.session.add(Series(pair=pair, rrule="FREQ=WEEKLY", dtstart_local="2027-03-01T09:00:00",
                               tz="UTC", duration_min=30, created_at=datetime(2027, 1, 1)))
        with pytest.raises(Exception, match="naive datetime"):
            uow.session.flush()


def test_leaving_without_commit_rolls_back(uow_factory):
    with uow_factory() as uow:
        uow.session.add(Person(email="gone@example.org"))
        uow.session.flush()
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Person)) == 0


def test_feedback_is_once_per_person_and_occurrence(uow_factory):
    with uow_factory() as uow:
        pair = _pair(uow.session)
        series = Series(pair=pair, rrule="FREQ=WEEKLY;COUNT=1", dtstart_local="2027-03-01T09:00:00", tz="UTC", duration_min=30)
        occ = Occurrence(original_start=T0, start=T0, end=T0 + timedelta(minutes=30))
        series.occurrences.append(occ)
        uow.session.add(series)
        uow.session.flush()
        uow.session.add(Feedback(occurrence_id=occ.id, person_id=pair.mentor_id, answer="met"))
        uow.session.flush()
        uow.session.add(Feedback(occurrence_id=occ.id, person_id=pair.mentor_id, answer="not_met"))
        with pytest.raises(IntegrityError):
            uow.session.flush()


def test_token_blobs_are_encrypted_and_rotate(container):
    from adapters.tokens import TokenCipher

    with container.uow() as uow:
        person = Person(email="p@example.org")
        uow.session.add(CalendarConnection(person=person, provider="google",
                                           token_blob=container.cipher.encrypt({"refresh_token": "rt-secret"})))
        uow.commit()
    with container.engine.connect() as conn:
        raw = conn.execute(select(CalendarConnection.__table__.c.token_blob)).scalar_one()
    assert b"rt-secret" not in bytes(raw)
    old_key = container.settings.security.token_keys[0]
    new_key = TokenCipher.generate_key()
    container.cipher = TokenCipher([new_key, old_key])
    assert rotate_all(container) == 1
    assert rotate_all(container) == 0
    with container.uow() as uow:
        blob = uow.session.scalars(select(CalendarConnection.token_blob)).one()
    assert TokenCipher([new_key]).decrypt(blob) == {"refresh_token": "rt-secret"}


# --- outbox ---------------------------------------------------------------------------------
def test_outbox_add_is_idempotent_per_key(uow_factory):
    with uow_factory() as uow:
        assert add_outbox(uow.session, "book_series", "s1", "book:s1", T0) is True
        assert add_outbox(uow.session, "book_series", "s1", "book:s1", T0) is False
        uow.commit()
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_claim_takes_due_rows_once_and_redrives_lost_ones(uow_factory):
    with uow_factory() as uow:
        add_outbox(uow.session, "k", "due", "due", T0)
        add_outbox(uow.session, "k", "later", "later", T0 + timedelta(hours=1))
        uow.commit()
    claim = dict(limit=10, claim_timeout=timedelta(minutes=5), max_attempts=3)
    with uow_factory() as uow:
        assert [r.subject_id for r in claim_due(uow.session, T0, **claim)] == ["due"]
        uow.commit()
    with uow_factory() as uow:  # claimed and not yet timed out: not taken again
        assert claim_due(uow.session, T0 + timedelta(minutes=1), **claim) == []
        uow.commit()
    with uow_factory() as uow:  # message lost: re-driven after the claim timeout
        rows = claim_due(uow.session, T0 + timedelta(minutes=6), **claim)
        assert [r.subject_id for r in rows] == ["due"] and rows[0].attempts == 2
        mark_done(uow.session, rows[0].id, T0)
        assert mark_done(uow.session, rows[0].id, T0) is False  # a duplicate finish is a no-op
        uow.commit()


def test_failing_row_goes_dead_with_its_error(uow_factory):
    with uow_factory() as uow:
        add_outbox(uow.session, "k", "s", "key", T0)
        uow.commit()
    claim = dict(limit=10, claim_timeout=timedelta(minutes=5), max_attempts=2)
    now = T0
    for _ in range(2):
        with uow_factory() as uow:
            (row,) = claim_due(uow.session, now, **claim)
            record_failure(uow.session, row.id, "ProviderUnavailable: 503", retry_at=now)
            uow.commit()
    with uow_factory() as uow:
        assert claim_due(uow.session, now, **claim) == []
        uow.commit()
    with uow_factory() as uow:
        row = uow.session.scalars(select(OutboxMessage)).one()
        assert row.status == "dead" and "503" in row.last_error and "gave up after 2 attempts" in row.last_error


def test_concurrent_claims_never_take_the_same_row(uow_factory):
    with uow_factory() as uow:
        for i in range(60):
            add_outbox(uow.session, "k", f"s{i}", f"key{i}", T0)
        uow.commit()
    taken: list[list[str]] = [[] for _ in range(4)]
    barrier = threading.Barrier(4)

    def claimer(slot):
        barrier.wait()
        while True:
            with uow_factory() as uow:
                rows = claim_due(uow.session, T0, limit=5, claim_timeout=timedelta(minutes=5), max_attempts=5)
                ids = [r.subject_id for r in rows]
                uow.commit()
            if not ids:
                return
            taken[slot].extend(ids)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [x for part in taken for x in part]
    assert sorted(flat) == sorted(f"s{i}" for i in range(60))


def test_migrations_match_the_models(database_url):
    """Autogenerate finds nothing to do: every model change came with its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from adapters.storage.models import Base

    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_migration_0004_maps_old_attendance_values_onto_verdicts(tmp_path):
    """Sessions answered before verdicts existed keep their answers' summary and get a verdict."""
    from sqlalchemy import create_engine, text

    from adapters.storage.migrate import upgrade

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0003")
    now = "2026-01-05 10:00:00"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO programs (id, name, cadence, duration_min, session_count, horizon_weeks, "
                          "reminder_offsets_min, repair_policy, allow_pair_cadence, is_sandbox, created_at) "
                          "VALUES ('prog', 'Old', 'weekly', 45, 4, 8, '[60]', 'auto', 0, 0, :now)"), {"now": now})
        for person in ("mentor", "mentee"):
            conn.execute(text("INSERT INTO people (id, email, name, is_admin, created_at) "
                              "VALUES (:id, :email, '', 0, :now)"), {"id": person, "email": f"{person}@x.org", "now": now})
        conn.execute(text("INSERT INTO pairs (id, program_id, mentor_id, mentee_id, status, organizer_role, "
                          "created_at, updated_at) VALUES ('pair', 'prog', 'mentor', 'mentee', 'booked', 'mentor', "
                          ":now, :now)"), {"now": now})
        conn.execute(text("INSERT INTO series (id, pair_id, rrule, dtstart_local, tz, duration_min, status, "
                          "idempotency_key, itip_sequence, created_at) VALUES ('ser', 'pair', 'FREQ=WEEKLY', "
                          "'2026-01-05T10:00:00', 'UTC', 45, 'booked', 'key', 0, :now)"), {"now": now})
        for day, old in enumerate(("unknown", "met", "missed", "rescheduled"), start=5):
            start = f"2026-01-{day:02d} 10:00:00"
            conn.execute(text('INSERT INTO occurrences (id, series_id, original_start, start, "end", status, '
                              "attendance) VALUES (:id, 'ser', :start, :start, :start, 'scheduled', :old)"),
                         {"id": old, "start": start, "old": old})
    upgrade(engine)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT attendance, attendance_verdict FROM occurrences")).all())
        window = conn.execute(text("SELECT attendance_window_days FROM programs")).scalar_one()
        signals = set(conn.execute(text("SELECT attendance_signals FROM occurrences")).scalars())
    assert rows == {"unknown": "unknown", "met": "held", "missed": "missed", "rescheduled": "moved"}
    assert window == 3 and signals == {"[]"}
    engine.dispose()


def test_a_reader_neither_waits_for_nor_holds_up_a_writer(container):
    """``Dependencies.reading()``: on SQLite its transaction begins DEFERRED, outside the queue
    of writers, so a writer does not wait for an open reader, a reader does not wait for a
    writer holding the lock (in one thread, any wait would never end), and it cannot commit."""
    def names(uow) -> list[str]:
        return sorted(p.name for p in uow.programs.all_oldest_first())

    with container.uow() as uow:
        uow.session.add(Program(name="Spring cohort"))
        uow.commit()
    with container.reading() as reader:
        assert names(reader) == ["Spring cohort"]  # its read transaction is open
        with container.uow() as writer:
            writer.session.add(Program(name="Autumn cohort"))
            writer.commit()
        with pytest.raises(RuntimeError, match="cannot commit"):
            reader.commit()
    with container.uow() as writer:
        writer.session.add(Program(name="Winter cohort"))
        writer.flush()  # the write lock is taken and held until the commit
        with container.reading() as reader:
            assert names(reader) == ["Autumn cohort", "Spring cohort"]
        writer.commit()


def test_threads_of_one_process_take_turns_at_writing_sqlite(tmp_path):
    """Eight threads each add rows in many short transactions on one SQLite file: the lock of the
    process queues them (nothing fails with "database is locked", nothing is lost)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    from adapters.storage.migrate import upgrade
    upgrade(engine)
    factory = make_session_factory(engine)
    errors: list[Exception] = []

    def work(n: int) -> None:
        try:
            for i in range(40):
                with UnitOfWork(factory) as uow:
                    uow.session.add(Program(name=f"p{n}-{i}"))
                    uow.commit()
        except Exception as exc:  # collected: the test fails with it below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with UnitOfWork(factory) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Program)) == 320
    engine.dispose()
    assert errors == []


def test_a_lost_turn_to_write_falls_back_on_sqlite_s_own_lock(tmp_path, monkeypatch, caplog):
    """If this process's lock is never given back (a thread killed between taking it and noting
    it), writers wait out the timeout and go on under SQLite's own lock: slower, never stuck."""
    import logging

    from adapters.storage import db

    engine = make_engine(f"sqlite:///{tmp_path / 'lost.db'}")
    from adapters.storage.migrate import upgrade
    upgrade(engine)
    monkeypatch.setattr(db, "LOCK_TIMEOUT_S", 0.2)
    assert db._write_lock_for(str(tmp_path / "lost.db")).acquire()  # taken and never released
    factory = make_session_factory(engine)
    with caplog.at_level(logging.WARNING, logger="adapters.storage.db"):
        with UnitOfWork(factory) as uow:
            uow.session.add(Program(name="Spring cohort"))
            uow.commit()
    with UnitOfWork(factory) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Program)) == 1
    assert "going on with SQLite's own lock" in caplog.text
    engine.dispose()
