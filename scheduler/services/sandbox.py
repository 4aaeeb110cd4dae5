"""The sandbox (``make run``): a program of a few pairs that the pipeline books while a newcomer
watches, and its front door (sign in as any sandbox person). The CLI seeds it (connecting the
calendars on the emulators it started); the web shows it. Nothing here runs in production.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from scheduler.core.entities import CalendarConnection, Membership, Pair, Person, Program
from scheduler.core.pair_state import PairState
from scheduler.ports import Dependencies, OutgoingEmail

log = logging.getLogger(__name__)
SANDBOX_NAME = "Sandbox cohort"
WEEKDAYS_9_17 = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


@dataclass(frozen=True)
class SandboxPerson:
    email: str
    name: str
    tz: str
    calendar: str | None  # the provider their calendar is on, None: no calendar

    @property
    def key(self) -> str:
        return self.email.split("@")[0]


# Mentors on Google, mentees on Microsoft: cross-provider pairs.
PEOPLE = (
    SandboxPerson("casey.coordinator@sandbox.tandem.test", "Casey Coordinator", "Europe/London", None),
    SandboxPerson("ada.mentor@sandbox.tandem.test", "Ada Lovelace", "America/New_York", "google"),
    SandboxPerson("grace.mentor@sandbox.tandem.test", "Grace Hopper", "Europe/Berlin", "google"),
    SandboxPerson("lin.mentee@sandbox.tandem.test", "Lin Chen", "Europe/London", "microsoft"),
    SandboxPerson("sam.mentee@sandbox.tandem.test", "Sam Okafor", "America/Chicago", "microsoft"),
    SandboxPerson("priya.mentee@sandbox.tandem.test", "Priya Sharma", "Asia/Kolkata", "microsoft"),
)
PAIRS = (("ada.mentor", "lin.mentee"), ("ada.mentor", "sam.mentee"), ("grace.mentor", "priya.mentee"))
EMAILS = tuple(p.email for p in PEOPLE)

# (provider, email, tz, now) -> the credentials of that person's consent on the emulators
Connector = Callable[[str, str, str, datetime], dict]


def seed(deps: Dependencies, connect: Connector | None) -> bool:
    """Create the sandbox program once (True when created). With ``connect``, everyone's calendar
    is connected through it and the pairs are queued for planning; without, the pairs wait for
    their people to connect a calendar."""
    now = deps.clock.now()
    credentials = {}
    if connect is not None:
        with deps.uow() as uow:
            if uow.programs.sandbox() is not None:
                return False
        # consent happens on the emulators, outside any transaction
        credentials = {p.email: connect(p.calendar, p.email, p.tz, now) for p in PEOPLE if p.calendar}
    with deps.uow() as uow:
        if uow.programs.sandbox() is not None:
            return False
        program = uow.programs.add(Program(
            name=SANDBOX_NAME, cadence="weekly", duration_min=45, session_count=8, horizon_weeks=10,
            mentor_max_sessions_per_week=4, reminder_offsets_min=[24 * 60, 30], repair_policy="auto",
            is_sandbox=True))
        existing = {p.email: p for p in uow.people.by_emails(EMAILS)}
        people = {}
        for spec in PEOPLE:
            person = existing.get(spec.email) or uow.people.add(Person(email=spec.email))
            person.name, person.tz, person.working_hours, person.onboarded_at = \
                spec.name, spec.tz, WEEKDAYS_9_17, now
            people[spec.key] = person
        roles = {("casey.coordinator", "coordinator")}
        pairs = []
        for mentor, mentee in PAIRS:
            state = PairState.READY if connect is not None else PairState.INVITED
            pairs.append(uow.pairs.add(Pair(program_id=program.id, mentor_id=people[mentor].id,
                                            mentee_id=people[mentee].id, status=state.value)))
            roles |= {(mentor, "mentor"), (mentee, "mentee")}
        for key, role in sorted(roles):
            uow.memberships.add(Membership(program_id=program.id, person_id=people[key].id, role=role))
        for spec in PEOPLE:
            if spec.email in credentials:
                uow.connections.add(CalendarConnection(person_id=people[spec.key].id, provider=spec.calendar,
                                                       account_email=spec.email,
                                                       token_blob=deps.cipher.encrypt(credentials[spec.email])))
        for pair in pairs:
            if connect is not None:
                uow.outbox.add_once("plan_pair", pair.id, f"plan_pair:{pair.id}:sandbox", now)
        uow.commit()
    log.info("sandbox program created with %d pairs", len(PAIRS))
    return True


@dataclass(frozen=True)
class SandboxRow:
    id: str
    name: str
    email: str
    tz: str | None
    roles: str


@dataclass(frozen=True)
class SandboxPair:
    mentor: str
    mentee: str
    status: str
    reason: str | None


def front_door(deps: Dependencies) -> tuple[list[SandboxRow], list[SandboxPair]]:
    """The sandbox people (with their roles) and pairs, for the demo page."""
    with deps.uow() as uow:
        people = {p.email: p for p in uow.people.by_emails(EMAILS)}
        sandbox = uow.programs.sandbox()
        roles = uow.memberships.roles_in(sandbox.id) if sandbox is not None else {}
        rows = [SandboxRow(people[e].id, people[e].name, e, people[e].tz,
                           ", ".join(sorted(roles.get(people[e].id, ())))) for e in EMAILS if e in people]
        pairs = [SandboxPair(p.mentor.name, p.mentee.name, p.status, p.status_reason)
                 for p in (sandbox.pairs if sandbox else [])]
    return rows, pairs


def is_sandbox_person(deps: Dependencies, person_id: str) -> bool:
    """Whether one-click sign-in may be offered for this person (sandbox people only)."""
    with deps.uow() as uow:
        person = uow.people.get(person_id)
        return person is not None and person.email in EMAILS


def inbox(deps: Dependencies, limit: int = 50) -> list[OutgoingEmail]:
    """The emails Tandem sent, newest first (at most ``limit``): the demo inbox. Only a mailer
    that keeps what it sent (the in-memory one the sandbox runs with) has any."""
    return list(reversed(getattr(deps.mailer, "sent", [])))[:limit]


@dataclass(frozen=True)
class DemoPage:
    """The demo page: the sandbox people and pairs (:func:`front_door`) and the demo inbox."""

    people: list[SandboxRow]
    pairs: list[SandboxPair]
    inbox: list[OutgoingEmail]


def demo_page(deps: Dependencies, limit: int = 50) -> DemoPage:
    rows, pairs = front_door(deps)
    return DemoPage(rows, pairs, inbox(deps, limit))
