"""Driving the real pipeline in tests: a clock that tests move, and a loop that runs the tick
and a Dramatiq worker until nothing is due."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import dramatiq
from dramatiq import Worker
from sqlalchemy import select

from adapters.storage.models import CalendarConnection, Membership, Pair, Person, Program
from workers.tick import tick_once

NOW = datetime(2027, 2, 22, 12, 0, tzinfo=timezone.utc)  # a Monday, before the US/EU DST weeks


@dataclass
class FakeClock:
    current: datetime
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> datetime:
        with self._lock:
            return self.current

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self.current += delta


def drain(container, broker: dramatiq.Broker, *, rounds: int = 50, worker_threads: int = 4) -> int:
    """Tick and work until a tick finds nothing due; returns how many messages were sent."""
    worker = Worker(broker, worker_threads=worker_threads, worker_timeout=50)
    worker.start()
    sent = 0
    try:
        for _ in range(rounds):
            n = tick_once(container, broker)
            sent += n
            if n == 0:
                return sent
            broker.join("default", fail_fast=True)
            worker.join()
        raise AssertionError(f"outbox still busy after {rounds} rounds")
    finally:
        worker.stop()


HOURS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def make_program(session, **kw) -> Program:
    program = Program(name=kw.pop("name", "Spring cohort"), cadence=kw.pop("cadence", "weekly"),
                      duration_min=kw.pop("duration_min", 45), session_count=kw.pop("session_count", 6), **kw)
    session.add(program)
    session.flush()
    return program


def make_person(container, session, email: str, tz: str, provider: str | None = "memory", hours=None,
                credentials: dict | None = None) -> Person:
    person = Person(email=email, name=email.split("@")[0].title(), tz=tz, working_hours=hours or HOURS,
                    onboarded_at=datetime(2027, 1, 1, tzinfo=timezone.utc))
    session.add(person)
    session.flush()
    if provider:
        session.add(CalendarConnection(person_id=person.id, provider=provider, account_email=email,
                                       token_blob=container.cipher.encrypt(credentials or {"tz": tz})))
    return person


def make_ready_pair(container, session, program: Program, mentor: Person, mentee: Person, now: datetime) -> Pair:
    from adapters.storage.outbox import add_outbox

    pair = Pair(program_id=program.id, mentor_id=mentor.id, mentee_id=mentee.id, status="ready")
    session.add(pair)
    for person, role in ((mentor, "mentor"), (mentee, "mentee")):
        if not session.scalar(select(Membership.id).where(Membership.program_id == program.id,
                                                          Membership.person_id == person.id, Membership.role == role)):
            session.add(Membership(program_id=program.id, person_id=person.id, role=role))
    session.flush()
    add_outbox(session, "plan_pair", pair.id, f"plan_pair:{pair.id}:0", now)
    return pair


def pipeline_env(var_dir: str, db_url: str, redis_url: str, smtp_port: int, google, graph, *,
                 worker_threads: int = 4, claim_timeout_s: int = 6) -> dict[str, str]:
    """The settings (as ``TANDEM_*`` variables) of a pipeline over PostgreSQL, a Redis broker,
    an SMTP sink and the Google and Graph emulators, for this process and its worker processes."""
    from adapters.tokens import TokenCipher
    return {
        "TANDEM_APP__ENV": "test", "TANDEM_APP__VAR_DIR": var_dir,
        "TANDEM_DATABASE__URL": db_url, "TANDEM_BROKER__URL": redis_url,
        "TANDEM_BROKER__WORKER_THREADS": str(worker_threads),
        "TANDEM_SECURITY__SECRET_KEY": "k" * 48, "TANDEM_SECURITY__TOKEN_KEYS": TokenCipher.generate_key(),
        "TANDEM_SECURITY__WEBHOOK_SECRET": "w" * 32,
        "TANDEM_MAIL__SMTP_HOST": "127.0.0.1", "TANDEM_MAIL__SMTP_PORT": str(smtp_port),
        "TANDEM_TICK__CLAIM_TIMEOUT_SECONDS": str(claim_timeout_s), "TANDEM_TICK__MAX_ATTEMPTS": "60",
        "TANDEM_GOOGLE__CLIENT_ID": google.client_id, "TANDEM_GOOGLE__CLIENT_SECRET": google.client_secret,
        "TANDEM_GOOGLE__TOKEN_URI": google.token_uri, "TANDEM_GOOGLE__REVOKE_URI": google.revoke_uri,
        "TANDEM_GOOGLE__API_BASE": google.base_url,
        "TANDEM_MICROSOFT__CLIENT_ID": graph.client_id, "TANDEM_MICROSOFT__CLIENT_SECRET": graph.client_secret,
        "TANDEM_MICROSOFT__AUTHORITY": graph.authority, "TANDEM_MICROSOFT__GRAPH_BASE": graph.graph_url,
        "TANDEM_MICROSOFT__CA_FILE": graph.ca_file,
    }


def start_pipeline_parts(stack, inbox) -> tuple[int, object, object, str]:
    """On ``stack`` (an ExitStack): an SMTP server delivering to ``inbox`` (an aiosmtpd handler),
    the Google and Graph emulators (Graph auto-approving sign-ins) and a fresh migrated PostgreSQL
    database. Returns (smtp port, google, graph, database URL); all are stopped/dropped with it."""
    from aiosmtpd.controller import Controller

    from emulators.google import GoogleEmulator
    from emulators.microsoft import GraphEmulator
    from tests.support.db import private_postgres_database
    from tests.support.services import free_port

    smtp_port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    stack.callback(smtp.stop)
    google = GoogleEmulator(seed=7).start()
    stack.callback(google.stop)
    graph = GraphEmulator().start()
    stack.callback(graph.stop)
    graph.set_auto_approve(True)
    return smtp_port, google, graph, stack.enter_context(private_postgres_database())
