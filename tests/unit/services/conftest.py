"""Use cases on the in-memory unit of work: no database, no network, fast.

``deps`` is a real ``Dependencies`` over an in-memory store, the in-memory calendar provider,
the in-memory mailer and a clock the test moves. ``seed`` writes a program with a pair.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from adapters.mail.memory import InMemoryMailer
from adapters.providers.memory import InMemoryCalendarProvider
from adapters.storage.memory import MemoryStore
from adapters.tokens import TokenCipher
from scheduler.core.entities import CalendarConnection, Membership, Pair, Person, Program
from scheduler.ports import Dependencies, ServiceConfig
from tests.unit.services.booked import T0, WORKDAY


class MovableClock:
    def __init__(self, now: datetime = T0):
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def calendars(clock) -> InMemoryCalendarProvider:
    return InMemoryCalendarProvider(now=clock.now)


@pytest.fixture
def deps(store, clock, calendars) -> Dependencies:
    return Dependencies(unit_of_work=store.uow, clock=clock, providers={"memory": calendars},
                        mailer=InMemoryMailer(), cipher=TokenCipher([TokenCipher.generate_key()]),
                        config=ServiceConfig(base_url="https://tandem.example"))


@pytest.fixture
def deps_with_mail(store, clock, calendars) -> Dependencies:
    """``deps`` that can render and sign emails (the real renderer, a link signer)."""
    from adapters.links import LinkSigner
    from adapters.mail.renderers import MailRenderer
    return Dependencies(unit_of_work=store.uow, clock=clock, providers={"memory": calendars},
                        mailer=InMemoryMailer(), cipher=TokenCipher([TokenCipher.generate_key()]),
                        config=ServiceConfig(base_url="https://tandem.example"), renderer=MailRenderer(),
                        links=LinkSigner("unit-test-link-secret-0123456789", 14))


@dataclass
class Seeded:
    program_id: str
    coordinator_id: str
    mentor_id: str
    mentee_id: str
    pair_id: str


def seed_pair(deps: Dependencies, *, status: str = "invited", connected: bool = False,
              mentor_tz: str = "Europe/Berlin", mentee_tz: str = "America/New_York", **program) -> Seeded:
    """A program with a coordinator and one pair; ``connected`` gives both a memory calendar."""
    with deps.uow() as uow:
        prog = uow.programs.add(Program(name="Pilot", cadence="weekly", duration_min=45, session_count=4,
                                        **program))
        coordinator = uow.people.add(Person(email="coord@example.org", name="Cora"))
        mentor = uow.people.add(Person(email="mentor@example.org", name="Mina", tz=mentor_tz,
                                       working_hours=WORKDAY, onboarded_at=T0))
        mentee = uow.people.add(Person(email="mentee@example.org", name="Ezra", tz=mentee_tz,
                                       working_hours=WORKDAY, onboarded_at=T0))
        uow.memberships.add(Membership(program_id=prog.id, person_id=coordinator.id, role="coordinator"))
        uow.memberships.add(Membership(program_id=prog.id, person_id=mentor.id, role="mentor"))
        uow.memberships.add(Membership(program_id=prog.id, person_id=mentee.id, role="mentee"))
        pair = uow.pairs.add(Pair(program_id=prog.id, mentor_id=mentor.id, mentee_id=mentee.id, status=status))
        if connected:
            for person in (mentor, mentee):
                uow.connections.add(CalendarConnection(
                    person_id=person.id, provider="memory", account_email=person.email, calendar_id=person.email,
                    token_blob=deps.cipher.encrypt({"tz": person.tz})))
        uow.commit()
        return Seeded(prog.id, coordinator.id, mentor.id, mentee.id, pair.id)


@pytest.fixture
def seed(deps):
    def make(**kw) -> Seeded:
        return seed_pair(deps, **kw)
    return make
