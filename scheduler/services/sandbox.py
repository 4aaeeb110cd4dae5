"""The sandbox (``make run``): a program of a few pairs that the pipeline books while a newcomer
watches, and its front door (sign in as any sandbox person). The CLI seeds it (connecting the
calendars on the emulators it started); the web shows it. Nothing here runs in production.
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Callable

from scheduler.core.attendance import Signal
from scheduler.core.entities import (CalendarConnection, Feedback, Membership, Notification, Occurrence, OutboxMessage,
                                     Pair, Person, Program, Series)
from scheduler.core.pair_state import PairState, SeriesState
from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies, OutgoingEmail
from scheduler.services import attendance, notifications, sweeps

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


def person_zone(deps: Dependencies, email: str) -> str | None:
    """The time zone of the person with this email (UTC when they have not set one), or None when
    no such person exists: the sandbox's emulated calendars give an account to everyone Tandem
    knows (seeded, imported, invited later) and to no one else."""
    with deps.uow() as uow:
        found = uow.people.by_emails([email.strip().lower()])
        return (found[0].tz or "UTC") if found else None


def is_sandbox_person(deps: Dependencies, person_id: str) -> bool:
    """Whether one-click sign-in may be offered for this person (sandbox people only)."""
    with deps.uow() as uow:
        person = uow.people.get(person_id)
        return person is not None and person.email in EMAILS


def inbox(deps: Dependencies, limit: int = 50) -> list[OutgoingEmail]:
    """The emails Tandem sent, newest first (at most ``limit``): the demo inbox. Only a mailer
    that keeps what it sent (the in-memory one the sandbox runs with) has any."""
    return list(reversed(getattr(deps.mailer, "sent", [])))[:limit]


def inbox_email(deps: Dependencies, key: str) -> OutgoingEmail | None:
    """One email of the demo inbox by its idempotency key (its Message-ID), or None."""
    return next((m for m in getattr(deps.mailer, "sent", []) if m.idempotency_key == key), None)


@dataclass(frozen=True)
class DemoPage:
    """The demo page: the sandbox clock's time, the sandbox people and pairs (:func:`front_door`)
    and the demo inbox."""

    people: list[SandboxRow]
    pairs: list[SandboxPair]
    inbox: list[OutgoingEmail]
    now: datetime | None = None


def demo_page(deps: Dependencies, limit: int = 50) -> DemoPage:
    rows, pairs = front_door(deps)
    return DemoPage(rows, pairs, inbox(deps, limit), deps.clock.now())


# --- the sandbox clock (docs/contracts.md §2) --------------------------------------------------
ADVANCE_STEP = timedelta(days=1)  # what happens in a skip happens day by day (daily sweeps each day)
SKIPS = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "1w": timedelta(weeks=1)}  # /demo's buttons


@dataclass(frozen=True)
class Advanced:
    """What a skip did: the sandbox time before and after, the days stepped, the rows processed."""

    before: datetime
    after: datetime
    steps: int
    processed: int


def advance(deps: Dependencies, duration: timedelta,
            catch_up: Callable[[Dependencies], int] | None = None) -> Advanced:
    """Move the sandbox clock forward by ``duration``, at most a day at a time, and after each step
    run what would have happened by then: ``catch_up(deps)`` (the shell's sweeps and due outbox
    rows, returning how many rows it processed), or without one, the daily sweeps alone (due rows
    are then left to the running tick and worker). Every effect goes through its outbox row, so
    nothing happens twice, and a second skip sends only what became due since."""
    if duration <= timedelta(0):
        raise InvalidInput("The sandbox clock only moves forward: give a positive duration such as 1h, 1d or 2w.")
    before = deps.clock.now()
    remaining, steps, processed = duration, 0, 0
    while remaining > timedelta(0):
        step = min(ADVANCE_STEP, remaining)
        with deps.uow() as uow:
            uow.clock_offsets.advance(step, deps.clock.now())
            uow.commit()
        reload = getattr(deps.clock, "reload", None)
        if reload is not None:
            reload()
        remaining -= step
        steps += 1
        if catch_up is not None:
            processed += catch_up(deps)
        else:
            sweeps.daily_rechecks(deps)
            sweeps.renew_watches(deps)
            sweeps.settle_attendance(deps)
    after = deps.clock.now()
    log.info("sandbox clock moved %s ahead to %s (%d step(s), %d row(s) processed)", duration, after.isoformat(),
             steps, processed)
    return Advanced(before, after, steps, processed)


def skip_ahead(deps: Dependencies, choice: str,
               catch_up: Callable[[Dependencies], int] | None = None) -> Advanced:
    """/demo's "skip ahead" buttons: ``choice`` is one of :data:`SKIPS`."""
    if choice not in SKIPS:
        raise InvalidInput(f"Skip ahead by one of {', '.join(SKIPS)}.")
    return advance(deps, SKIPS[choice], catch_up)


# --- seeded programs -----------------------------------------------------------------------------
# zones at most two hours apart, so every seeded session (10:00-13:45 UTC) is inside both people's
# working hours all year, and the daily re-checks leave the history's sessions where they are
SEED_TZS = ("Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Lisbon", "Europe/Madrid", "Europe/Helsinki")
MENTEES_PER_MENTOR = 3
SEED_BATCH = 500  # pairs per transaction (one flush each)
FUTURE_WEEKS = 4  # sessions still to come after the history


def seed_history(deps: Dependencies, pairs: int, weeks: int = 8, seed: int = 1) -> str:
    """A program of ``pairs`` synthetic pairs (three mentees a mentor) with ``weeks`` weeks of
    weekly sessions behind them and a few ahead, on no calendar: each past session was held,
    missed, cancelled (by either person, some late) or left unanswered, both people's follow-up
    answers are stored, and each verdict is resolved by the real attendance rules; sessions still
    to come have their reminders and feedback requests queued, as booking queues them. The same
    ``seed`` gives the same program (names, times, answers); people are reused across runs.
    Returns the new program's id."""
    if not 1 <= pairs <= 100_000:
        raise InvalidInput("Seed between 1 and 100,000 pairs (--pairs).")
    if not 0 <= weeks <= 104:
        raise InvalidInput("Seed between 0 and 104 weeks of history (--weeks).")
    rng = random.Random(seed)
    now = deps.clock.now()
    day0 = datetime.combine((now - timedelta(weeks=weeks)).date(), time(0), tzinfo=timezone.utc)
    domain = f"seed{seed}.tandem.test"
    with deps.uow() as uow:
        program = uow.programs.add(Program(
            name=f"Seeded cohort (seed {seed}, {pairs} pairs, {weeks} weeks)", cadence="weekly", duration_min=45,
            session_count=weeks + FUTURE_WEEKS, horizon_weeks=weeks + FUTURE_WEEKS, repair_policy="auto",
            created_at=day0))
        coordinator = _person(uow, f"coordinator@{domain}", "Seeded Coordinator", "Europe/London", now)
        uow.memberships.add(Membership(program_id=program.id, person_id=coordinator.id, role="coordinator"))
        program_id = program.id
        uow.commit()
    for first in range(0, pairs, SEED_BATCH):
        with deps.uow() as uow:
            program = uow.programs.get(program_id)
            batch = range(first, min(pairs, first + SEED_BATCH))
            people = _seed_people(uow, batch, domain, now)
            uow.flush()
            rows = SeedRows()
            for index in batch:
                _seed_pair(rows, rng, program, index, people, domain, day0, weeks, now)
            rows.insert(uow)
            uow.commit()
    with deps.uow() as uow:  # the planner learns the tables' new sizes; the dashboard's per-pair summaries are
        uow.update_statistics()  # computed now, so that its first visit does not wait for them
        uow.pairs.refresh_summaries(program_id, now)
        uow.commit()
    log.info("seeded program %s: %d pairs, %d weeks of history (seed %d)", program_id, pairs, weeks, seed)
    return program_id


def _person(uow, email: str, name: str, tz: str, now: datetime) -> Person:
    found = uow.people.by_emails([email])
    person = found[0] if found else uow.people.add(Person(email=email))
    person.name, person.tz, person.working_hours, person.onboarded_at = name, tz, WEEKDAYS_9_17, now
    return person


def _seed_people(uow, batch: range, domain: str, now: datetime) -> dict[str, Person]:
    """The mentors and mentees of a batch of seeded pairs by email, found (one query) or added."""
    wanted = {}
    for index in batch:
        mentor_no = index // MENTEES_PER_MENTOR
        wanted[f"mentor{mentor_no}@{domain}"] = (f"Mentor {mentor_no}", SEED_TZS[mentor_no % len(SEED_TZS)])
        wanted[f"mentee{index}@{domain}"] = (f"Mentee {index}", SEED_TZS[(index + 1) % len(SEED_TZS)])
    people = {p.email: p for p in uow.people.by_emails(sorted(wanted))}
    for email, (name, tz) in wanted.items():
        person = people.get(email) or uow.people.add(Person(email=email))
        person.name, person.tz, person.working_hours, person.onboarded_at = name, tz, WEEKDAYS_9_17, now
        people[email] = person
    return people


@dataclass
class SeedRows:
    """The new rows of a batch of seeded pairs, inserted table by table in one statement each."""

    memberships: list[Membership] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    occurrences: list[Occurrence] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    outbox: list[OutboxMessage] = field(default_factory=list)

    def insert(self, uow) -> None:
        for repo, found in ((uow.memberships, self.memberships), (uow.pairs, self.pairs), (uow.series, self.series),
                            (uow.occurrences, self.occurrences), (uow.feedback, self.feedback),
                            (uow.notifications, self.notifications), (uow.outbox, self.outbox)):
            repo.add_many(found)


# share of past sessions: held, missed, cancelled, nobody answered
OUTCOMES = (("held", 70), ("missed", 12), ("cancelled", 8), ("silent", 10))


def _seed_pair(rows: SeedRows, rng: random.Random, program: Program, index: int, people: dict[str, Person], domain: str,
               day0: datetime, weeks: int, now: datetime) -> None:
    """One pair and its history, gathered in ``rows`` (inserted with the batch): verdicts are resolved by the real rules from the answers made here
    (:func:`attendance.resolve_with`; a new program has no webhooks to announce them to), and the
    sessions to come get the reminders and feedback requests booking would queue."""
    mentor_no, mentee_no = index // MENTEES_PER_MENTOR, index
    mentor, mentee = people[f"mentor{mentor_no}@{domain}"], people[f"mentee{mentee_no}@{domain}"]
    if index % MENTEES_PER_MENTOR == 0:
        rows.memberships.append(Membership(program_id=program.id, person_id=mentor.id, role="mentor"))
    rows.memberships.append(Membership(program_id=program.id, person_id=mentee.id, role="mentee"))
    pair = Pair(program_id=program.id, mentor_id=mentor.id, mentee_id=mentee.id,
                status=PairState.BOOKED.value, created_at=day0, updated_at=day0)
    rows.pairs.append(pair)
    weekday = rng.randrange(5)
    hour = 10 + index % MENTEES_PER_MENTOR  # an hour of its own for each of a mentor's mentees
    first = day0 + timedelta(days=(weekday - day0.weekday()) % 7, hours=hour)
    count = weeks + FUTURE_WEEKS
    series = Series(
        pair_id=pair.id, rrule=f"FREQ=WEEKLY;INTERVAL=1;COUNT={count}", tz="UTC",
        dtstart_local=first.replace(tzinfo=None).isoformat(), duration_min=program.duration_min,
        status=SeriesState.BOOKED.value, idempotency_key=f"seed:{program.id}:{index}", created_at=day0)
    rows.series.append(series)
    length = timedelta(minutes=program.duration_min)
    kinds = [k for k, _ in OUTCOMES]
    weights = [w for _, w in OUTCOMES]
    for week in range(count):
        start = first + timedelta(weeks=week)
        occ = Occurrence(series_id=series.id, original_start=start, start=start, end=start + length)
        rows.occurrences.append(occ)
        if start + length > now:  # still to come: reminders and a feedback request, as booking sets
            recheck, planned = notifications.occurrence_followups(occ, pair, program, now, 0)
            if recheck is not None:
                rows.outbox.append(recheck)
            rows.notifications += planned
            rows.outbox += [notifications.delivery_of(n) for n in planned]
            continue
        outcome = rng.choices(kinds, weights)[0]
        answered = start + length + timedelta(hours=rng.randrange(1, 48))
        feedback = []
        if outcome == "cancelled":
            by = rng.choice(("mentor", "mentee"))
            at = start - timedelta(hours=rng.choice((2, 12, 48, 96)))
            occ.status = "skipped"
            occ.attendance_signals = [Signal("skipped", at, by).to_json()]
        elif outcome in ("held", "missed"):
            answer = "met" if outcome == "held" else "not_met"
            answering = [mentor, mentee] if rng.random() < 0.6 else [rng.choice((mentor, mentee))]
            for person in answering:
                feedback.append(Feedback(occurrence_id=occ.id, person_id=person.id, answer=answer,
                                         rating=rng.randint(3, 5) if answer == "met" else None, created_at=answered))
            occ.attendance = "met" if answer == "met" else "missed"
        attendance.resolve_with(occ, pair, feedback, now, program)
        rows.feedback += feedback
