"""Coordinator use cases: create a program, import pairs from CSV, send invitations, and see each
pair's state at a glance.

Each use case takes ``deps`` and commits its own unit of work once, so the program, its pairs and
the invitation rows land together or not at all. Pages read what they need through
:func:`program_page`, :func:`programs_for_coordinator` and :func:`home_page`.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from scheduler.core.entities import (AgendaTemplate, CalendarConnection, Membership, Notification, Pair, Person,
                                     Program)
from scheduler.core.pair_state import PairState
from scheduler.core.wording import reminders_before
from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies, UnitOfWork
from scheduler.services.connections import broken_calendars
from scheduler.services.consent import membership_for, waiting_label
from scheduler.services.notifications import add_notification
from scheduler.services.links import invite_url
from scheduler.services.onboarding import CADENCES, has_set_up, is_set_up, make_ready_if_set_up
from scheduler.services.pair_page import PairSummary, summarise_pair
from scheduler.services.problems import FailedWork, failed_work_in

REPAIR_POLICIES = ("auto", "propose", "notify")
CSV_COLUMNS = ("mentor_email", "mentee_email")
CSV_OPTIONAL = ("mentor_name", "mentee_name")
MAX_CSV_ROWS = 2000
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
# Line breaks (every one str.splitlines knows) and control characters: a name or subject holding
# one breaks every email header it goes into (each email failed until dead).
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line_problem(label: str, value: str) -> str | None:
    """What is wrong with ``value`` as a one-line name (shown in emails), or None.

    >>> one_line_problem("The program name", "Spring cohort") is None
    True
    >>> one_line_problem("The program name", "Spring\\r\\nBcc: x@example.org")
    'The program name must be one line of text: remove the line break or control character.'
    """
    if _NOT_ONE_LINE.search(value):
        return f"{label} must be one line of text: remove the line break or control character."
    return None


def email_problem(label: str, email: str) -> str | None:
    """What is wrong with ``email`` as an address Tandem can send to, or None. Addresses must be
    plain ASCII: mail servers without SMTPUTF8 refuse the others, and every email to them
    would fail until dead.

    >>> email_problem("mentor_email", "lena@example.org") is None
    True
    >>> email_problem("mentor_email", "jürgen@example.org")[:60]
    "mentor_email 'jürgen@example.org' has letters outside plain "
    """
    if not email:
        return f"{label} is empty"
    if len(email) > MAX_EMAIL_LENGTH:
        return f"{label} is longer than {MAX_EMAIL_LENGTH} characters, too long for an email address"
    if not EMAIL.match(email):
        return f"{label} '{email}' is not an email address"
    if not email.isascii():
        return (f"{label} '{email}' has letters outside plain ASCII; Tandem can send only to addresses with "
                "only plain ASCII letters: ask the person for such an address (or the ASCII form of its domain)")
    return None


class UnknownProgram(InvalidInput):
    """The program asked for does not exist (any more)."""


def _program(uow: UnitOfWork, program_id: str) -> Program:
    program = uow.programs.get(program_id)
    if program is None:
        raise UnknownProgram("That program does not exist; pick one from your programs list.")
    return program


# --- programs ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProgramSpec:
    """What a coordinator chooses for a program. ``templates`` are ``(name, body)`` in order."""

    name: str
    cadence: str = "biweekly"
    duration_min: int = 45
    session_count: int = 6
    horizon_weeks: int = 12
    reminder_offsets_min: tuple[int, ...] = (24 * 60, 60)
    repair_policy: str = "auto"
    allow_pair_cadence: bool = False
    mentor_max_sessions_per_week: int | None = None
    templates: tuple[tuple[str, str], ...] = ()
    attendance_window_days: int = 3  # days to wait for follow-up answers before silence counts


def validate_program_spec(spec: ProgramSpec) -> list[str]:
    """Every problem with ``spec``, each saying what to change (empty when it is fine)."""
    problems = []
    if not spec.name.strip():
        problems.append("Give the program a name.")
    if len(spec.name) > MAX_NAME_LENGTH:
        problems.append(f"The program name is longer than {MAX_NAME_LENGTH} characters; shorten it.")
    if (problem := one_line_problem("The program name", spec.name)) is not None:
        problems.append(problem)
    if spec.cadence not in CADENCES:
        problems.append(f"Cadence must be one of {', '.join(CADENCES)}.")
    if not 15 <= spec.duration_min <= 180:
        problems.append("Session length must be between 15 and 180 minutes.")
    if not 1 <= spec.session_count <= 52:
        problems.append("Number of sessions must be between 1 and 52.")
    if not 1 <= spec.horizon_weeks <= 104:
        problems.append("Planning horizon must be between 1 and 104 weeks.")
    weeks_needed = {"weekly": 1, "biweekly": 2, "monthly": 4.3}.get(spec.cadence, 1) * spec.session_count
    if spec.cadence in CADENCES and 1 <= spec.session_count and weeks_needed > spec.horizon_weeks + 0.5:
        problems.append(f"{spec.session_count} {spec.cadence} sessions need about {round(weeks_needed)} weeks; "
                        f"raise the horizon or lower the number of sessions.")
    if not spec.reminder_offsets_min:
        problems.append("Give at least one reminder time (for example 1440, 60 minutes before).")
    if any(not 5 <= m <= 14 * 24 * 60 for m in spec.reminder_offsets_min):
        problems.append("Reminders must be between 5 minutes and 14 days before a session.")
    if spec.repair_policy not in REPAIR_POLICIES:
        problems.append(f"Conflict repair must be one of {', '.join(REPAIR_POLICIES)}.")
    if spec.mentor_max_sessions_per_week is not None and not 1 <= spec.mentor_max_sessions_per_week <= 40:
        problems.append("A mentor's weekly cap must be between 1 and 40 sessions (or left empty).")
    if not 1 <= spec.attendance_window_days <= 30:
        problems.append("Days to wait for answers after a session must be between 1 and 30.")
    for name, body in spec.templates:
        if not name.strip() or not body.strip():
            problems.append("Each agenda template needs a first line (its name) and at least one more line.")
            break
    return problems


def parse_reminder_offsets(text: str) -> tuple[int, ...]:
    """``"1440, 60"`` → ``(1440, 60)`` (minutes before a session), largest first.

    >>> parse_reminder_offsets("60, 1440")
    (1440, 60)
    """
    values = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        if not part.isdigit():
            raise InvalidInput(f"Reminder time '{part}' is not a whole number of minutes; write e.g. 1440, 60.")
        values.append(int(part))
    return tuple(sorted(set(values), reverse=True))


def parse_templates(text: str) -> tuple[tuple[str, str], ...]:
    """Agenda templates from a text box: blocks separated by a blank line; a block's first line is
    its name, the rest its body.

    >>> parse_templates("Kick-off\\nGoals\\n\\nCheck-in\\nProgress")
    (('Kick-off', 'Goals'), ('Check-in', 'Progress'))
    """
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if b.strip()]
    result = []
    for block in blocks:
        name, _, body = block.partition("\n")
        result.append((name.strip(), body.strip()))
    return tuple(result)


def create_program(deps: Dependencies, coordinator_id: str, spec: ProgramSpec) -> ProgramSummary:
    """Create the program, its agenda templates, and make ``coordinator_id`` its coordinator."""
    problems = validate_program_spec(spec)
    if problems:
        raise InvalidInput(" ".join(problems))
    with deps.uow() as uow:
        program = uow.programs.add(Program(
            name=spec.name.strip(), cadence=spec.cadence, duration_min=spec.duration_min,
            session_count=spec.session_count, horizon_weeks=spec.horizon_weeks,
            reminder_offsets_min=list(spec.reminder_offsets_min), repair_policy=spec.repair_policy,
            allow_pair_cadence=spec.allow_pair_cadence, mentor_max_sessions_per_week=spec.mentor_max_sessions_per_week,
            attendance_window_days=spec.attendance_window_days))
        uow.flush()
        for position, (name, body) in enumerate(spec.templates):
            uow.agenda_templates.add(AgendaTemplate(program_id=program.id, name=name, body=body, position=position))
        uow.memberships.add(Membership(program_id=program.id, person_id=coordinator_id, role="coordinator"))
        summary = ProgramSummary.of(program)
        uow.commit()
    return summary


# --- CSV import ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowError:
    """One bad line of an import: ``line`` counts the header as line 1."""

    line: int
    message: str


@dataclass
class ImportResult:
    """Either ``errors`` (nothing was imported) or the number of pairs and people created."""

    errors: list[RowError] = field(default_factory=list)
    pairs_created: int = 0
    people_created: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Row:
    line: int
    mentor_email: str
    mentor_name: str
    mentee_email: str
    mentee_name: str


def _read_rows(text: str) -> tuple[list[_Row], list[RowError]]:
    """Parse and check every row on its own; no database access. Any line ending is read (CR
    only, as old Mac exports write, too); a value too long for the parser is an error naming the
    line, never a crash."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        return _check_rows(reader)
    except csv.Error as exc:
        line = reader.line_num + 1  # the reader counts a line once it has parsed it
        if "field larger than field limit" in str(exc):
            return [], [RowError(line, f"A value on this line is longer than {csv.field_size_limit():,} characters; "
                                       "names and email addresses are short: check for a missing closing quote.")]
        return [], [RowError(line, f"This line cannot be read as CSV ({exc}); check its quotes and save the "
                                   "file again as “CSV UTF-8”.")]


def _check_rows(reader: csv.DictReader) -> tuple[list[_Row], list[RowError]]:
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        return [], [RowError(1, f"The header is missing column(s) {', '.join(missing)}. The first line must "
                                f"name the columns: mentor_email, mentor_name, mentee_email, mentee_name.")]
    unknown = [h for h in header if h not in CSV_COLUMNS + CSV_OPTIONAL]
    if unknown:
        return [], [RowError(1, f"Unknown column(s) {', '.join(unknown)}; use mentor_email, mentor_name, "
                                f"mentee_email, mentee_name.")]
    reader.fieldnames = header
    rows, errors, seen = [], [], {}
    for record in reader:
        line = reader.line_num
        if len(rows) + len(errors) >= MAX_CSV_ROWS:
            errors.append(RowError(line, f"The file has more than {MAX_CSV_ROWS} rows; split it into smaller files."))
            break
        if None in record:
            errors.append(RowError(line, "This row has more values than the header has columns; check for "
                                         "an unquoted comma."))
            continue
        values = {k: (v or "").strip() for k, v in record.items()}
        if not any(values.values()):
            continue  # a blank line
        mentor, mentee = values["mentor_email"].lower(), values["mentee_email"].lower()
        problems = []
        for role, email in (("mentor", mentor), ("mentee", mentee)):
            if (problem := email_problem(f"{role}_email", email)) is not None:
                problems.append(problem)
        for column in CSV_OPTIONAL:
            name = values.get(column, "")
            if len(name) > MAX_NAME_LENGTH:
                problems.append(f"{column} is longer than {MAX_NAME_LENGTH} characters; shorten it")
            elif one_line_problem(column, name) is not None:
                problems.append(f"{column} must be one line of text: remove the line break or control character")
        if mentor and mentor == mentee:
            problems.append("mentor and mentee are the same person")
        if not problems and (mentor, mentee) in seen:
            problems.append(f"the same pair is already on line {seen[(mentor, mentee)]}")
        if problems:
            message = "; ".join(problems)
            errors.append(RowError(line, message[:1].upper() + message[1:] + "."))
            continue
        seen[(mentor, mentee)] = line
        rows.append(_Row(line, mentor, values.get("mentor_name", ""), mentee, values.get("mentee_name", "")))
    if not rows and not errors:
        errors.append(RowError(1, "The file has no pairs; add one line per pair below the header."))
    return rows, errors


def import_pairs_csv(deps: Dependencies, program_id: str, text: str) -> ImportResult:
    """Import pairs from CSV text, all or nothing: when any row is bad nothing is written and
    every bad row is reported with its line number and what to fix. A pair of two people who
    are already set up (from another program) is ready at once and its planning is queued.
    Raises :class:`UnknownProgram` when the program does not exist."""
    rows, errors = _read_rows(text)
    now = deps.clock.now()
    with deps.uow() as uow:
        _program(uow, program_id)
        existing = {(p.mentor.email, p.mentee.email) for p in uow.pairs.of_program(program_id)}
        for row in rows:
            if (row.mentor_email, row.mentee_email) in existing:
                errors.append(RowError(row.line, f"{row.mentor_email} and {row.mentee_email} are already a pair "
                                                 f"in this program; remove the line."))
        if errors:
            return ImportResult(errors=sorted(errors, key=lambda e: e.line))
        result = ImportResult()
        people: dict[str, Person] = {}

        created: set[str] = set()

        def person(email: str, name: str) -> Person:
            if email not in people:
                found = uow.people.by_email(email)
                if found is None:
                    found = uow.people.add(Person(email=email, name=name or email.split("@")[0]))
                    created.add(email)
                    result.people_created += 1
                elif name and not found.name:
                    found.name = name
                people[email] = found
            return people[email]

        members = uow.memberships.of_program(program_id)
        roles = {(m.person_id, m.role) for m in members}
        accepted_here = {m.person_id for m in members if m.consent == "accepted"}
        for row in rows:
            mentor, mentee = person(row.mentor_email, row.mentor_name), person(row.mentee_email, row.mentee_name)
            uow.flush()
            for who, role in ((mentor, "mentor"), (mentee, "mentee")):
                if (who.id, role) not in roles:  # someone already in Tandem is asked first (consent.py)
                    membership_for(uow, program_id, who, role, created=who.email in created,
                                   accepted_here=accepted_here)
                    roles.add((who.id, role))
            pair = uow.pairs.add(Pair(program_id=program_id, mentor_id=mentor.id, mentee_id=mentee.id,
                                      status=PairState.INVITED.value))
            uow.flush()
            make_ready_if_set_up(uow, pair, now)
            result.pairs_created += 1
        uow.commit()
    return result


def import_pairs_rows(deps: Dependencies, program_id: str, rows: Sequence[Mapping[str, str]]) -> ImportResult:
    """Import pairs given as records (the JSON API's ``POST .../pairs``): written out as the CSV
    the import reads, so every check and the all-or-nothing rule are exactly the CSV import's.
    An error's ``line`` is the record's position + 2 (the header is line 1)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = CSV_COLUMNS + CSV_OPTIONAL
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c) or "" for c in columns])
    return import_pairs_csv(deps, program_id, out.getvalue())


# --- invitations ---------------------------------------------------------------------------------
InvitationLink = Callable[[str, str], str]  # (person_id, pair_id) -> signed URL


def send_invitations(deps: Dependencies, program_id: str, link_for: InvitationLink | None = None,
                     coordinator_name: str = "Your program coordinator", *, again: bool = False) -> int:
    """Queue one invitation email per person of the program's pairs still at ``invited`` (a
    Notification and its delivery outbox row, in one transaction). The email names every pair it
    invites the person to: a mentor with two new mentees gets one email naming both. Someone who
    already uses Tandem is told about a new pair too; their link then asks them to sign in. A
    person is invited once per pair (one idempotency key per person and pair: the email carries
    the key of its first pair, and each further pair it names gets a delivery-less row with status
    ``included``), so pressing "send" twice sends nothing new, and a pair added later is invited
    on its own. Returns how many emails were queued. Raises :class:`UnknownProgram` when the
    program does not exist.

    ``again=True`` is the coordinator's nudge: everyone already invited who has still not set up
    gets one fresh link, at most once a day (the keys carry the date), naming their pairs.

    ``link_for`` builds each person's link (for the email's first pair: setting up is per person);
    by default the signed link of :func:`~scheduler.services.links.invite_url`."""
    link = link_for or (lambda person_id, pair_id: invite_url(deps, person_id, pair_id))
    now = deps.clock.now()
    queued = 0
    with deps.uow() as uow:
        program = _program(uow, program_id)
        due: dict[str, list[tuple[str, Pair, str, Person]]] = {}  # person id -> (key, pair, role, other)
        for pair in uow.pairs.of_program(program_id, states=[PairState.INVITED]):
            for person, role, other in ((pair.mentor, "mentor", pair.mentee), (pair.mentee, "mentee", pair.mentor)):
                first_key = f"invitation:{pair.id}:{person.id}"
                invited_before = uow.notifications.has_key(first_key)
                if again:
                    if not invited_before or is_set_up(uow, person):
                        continue  # never invited (use "send"), or nothing left for them to do
                    key = f"{first_key}:again:{now.date().isoformat()}"
                    if uow.notifications.has_key(key):
                        continue  # nudged today already
                elif invited_before:
                    continue  # invited before: the link would differ, so do not even build it
                else:
                    key = first_key
                due.setdefault(person.id, []).append((key, pair, role, other))
        for person_id, items in due.items():
            (key, first_pair, _, first_other), roles = items[0], {role for _, _, role, _ in items}
            named = [{"pair_id": pair.id, "role": role, "other_name": other.name or other.email}
                     for _, pair, role, other in items]
            created = add_notification(
                uow, kind="invitation", person_id=person_id, pair_id=first_pair.id, due_at=now, key=key,
                payload={"join_url": link(person_id, first_pair.id), "program_name": program.name,
                         "role": roles.pop() if len(roles) == 1 else "mentor and mentee",
                         "coordinator_name": coordinator_name, "other_name": first_other.name, "pairs": named})
            if created is None:
                continue
            queued += 1
            for other_key, pair, _, _ in items[1:]:  # named in that email: mark those pairs invited too
                uow.notifications.add_once(Notification(
                    kind="invitation", person_id=person_id, pair_id=pair.id, due_at=now, status="included",
                    idempotency_key=other_key, payload={"included_in": created}))
        uow.commit()
    return queued


# --- the coordinator's overview ------------------------------------------------------------------
STATE_ORDER = ("needs_attention", "invited", "connected", "booked", "paused", "ended")

@dataclass(frozen=True)
class PairOverview:
    """One line of the coordinator's table. ``state`` is invited | connected | booked | paused |
    ended | needs_attention; ``detail`` says why, for the coordinator."""

    pair_id: str
    mentor_name: str
    mentor_email: str
    mentee_name: str
    mentee_email: str
    state: str
    detail: str


def _person_setup(person: Person, connections: list[CalendarConnection]) -> tuple[bool, str | None]:
    """(is set up, problem) for one person of a pair; whether they are set up is onboarding's
    rule (:func:`~scheduler.services.onboarding.has_set_up`)."""
    broken = [c for c in connections if c.status not in ("ok", "checking")]
    if broken:
        return False, f"{person.name or person.email} must reconnect their {broken[0].provider} calendar"
    return has_set_up(person, connections), None


def pair_state(pair: Pair, connections_by_person: dict[str, list[CalendarConnection]],
               not_accepted: frozenset[str] = frozenset()) -> tuple[str, str]:
    """The at-a-glance state of a pair and a sentence explaining it. Someone in ``not_accepted``
    (asked to join this program, no answer yet) is only said to be asked: nothing about their
    calendars shows here."""
    if pair.status in ("needs_attention", "unschedulable"):
        return "needs_attention", pair.status_reason or "Tandem could not find or keep a time for this pair."
    asked = [p.name or p.email for p in (pair.mentor, pair.mentee) if p.id in not_accepted]
    if asked and pair.status == "invited":
        return "invited", "; ".join(waiting_label(name) for name in asked) + "."
    problems, waiting = [], []
    for person in (pair.mentor, pair.mentee):
        ready, problem = _person_setup(person, connections_by_person.get(person.id, []))
        if problem:
            problems.append(problem)
        elif not ready:
            waiting.append(person.name or person.email)
    if problems:
        return "needs_attention", "; ".join(problems) + "."
    if pair.status in ("booked", "paused", "ended"):
        labels = {"booked": "Sessions are booked.", "paused": "Paused by the pair.", "ended": "The pair has ended."}
        return pair.status, labels[pair.status]
    if waiting:
        return "invited", "Waiting for " + " and ".join(waiting) + " to finish setting up."
    return "connected", "Both are set up; Tandem is finding a time."


# pairs the coordinator may still have to act on before they meet: not booked, paused nor ended
SETTING_UP = ("invited", "ready", "planning", "needs_attention", "unschedulable")
OVERVIEW_LIMIT = 50


def program_overview(uow: UnitOfWork, program_id: str, *, limit: int | None = None) -> list[PairOverview]:
    """The program's pairs still setting up (:data:`SETTING_UP`; the first ``limit`` of them by
    age when given) with their state: those that need attention first, then by name. Booked,
    paused and ended pairs are in the dashboard's pairs table."""
    pairs = uow.pairs.of_program(program_id, states=SETTING_UP, limit=limit)
    ids = {p.mentor_id for p in pairs} | {p.mentee_id for p in pairs}
    by_person: dict[str, list[CalendarConnection]] = {}
    not_accepted = frozenset(uow.memberships.not_accepted(program_id, sorted(ids)))
    for conn in uow.connections.of_people(sorted(set(ids) - not_accepted)):
        by_person.setdefault(conn.person_id, []).append(conn)
    lines = []
    for pair in pairs:
        state, detail = pair_state(pair, by_person, not_accepted)
        lines.append(PairOverview(pair.id, pair.mentor.name, pair.mentor.email, pair.mentee.name,
                                  pair.mentee.email, state, detail))
    return sorted(lines, key=lambda line: (STATE_ORDER.index(line.state), line.mentor_name.lower(),
                                           line.mentee_name.lower()))


@dataclass(frozen=True)
class ProgramSummary:
    """A program's settings as pages show them (a plain value, readable after the transaction)."""

    id: str
    name: str
    cadence: str
    duration_min: int
    session_count: int
    horizon_weeks: int
    reminder_offsets_min: tuple[int, ...]
    repair_policy: str
    allow_pair_cadence: bool
    is_sandbox: bool
    attendance_window_days: int = 3
    at_risk_alerts: bool = False  # coordinators are emailed when a pair becomes at risk
    mentor_max_sessions_per_week: int | None = None
    sharing: str = "fair"  # how a full mentor's weekly cap is shared (scheduler.services.program_sharing)

    @classmethod
    def of(cls, program: Program) -> "ProgramSummary":
        return cls(program.id, program.name, program.cadence, program.duration_min, program.session_count,
                   program.horizon_weeks, tuple(program.reminder_offsets_min or ()), program.repair_policy,
                   bool(program.allow_pair_cadence), bool(program.is_sandbox),
                   program.attendance_window_days or 3, bool(program.at_risk_alerts),
                   program.mentor_max_sessions_per_week, program.sharing or "fair")

    @property
    def reminders_text(self) -> str:
        """The reminders as a person reads them: "1 day and 1 hour before"."""
        return reminders_before(self.reminder_offsets_min)


@dataclass(frozen=True)
class ProgramPage:
    """What the coordinator's program page shows: the program, each pair's line, and the work
    that kept failing for its pairs."""

    program: ProgramSummary
    overview: list[PairOverview]  # pairs still setting up, at most OVERVIEW_LIMIT
    failures: list[FailedWork]
    more_setting_up: bool = False  # more pairs are setting up than the overview shows
    failed_pair_names: dict[str, str] = field(default_factory=dict)  # pair id -> "Mentor & Mentee" (failures')


def program_page(deps: Dependencies, program_id: str) -> ProgramPage:
    """The program page's content; raises :class:`UnknownProgram` when it does not exist. Never
    loads every pair: the overview lists pairs still setting up, at most :data:`OVERVIEW_LIMIT`."""
    with deps.uow() as uow:
        program = _program(uow, program_id)
        overview = program_overview(uow, program_id, limit=OVERVIEW_LIMIT + 1)
        failures = failed_work_in(uow, program_id)
        names = {pair.id: f"{pair.mentor.name or pair.mentor.email} & {pair.mentee.name or pair.mentee.email}"
                 for pair in uow.pairs.get_many({f.pair_id for f in failures})}
        return ProgramPage(ProgramSummary.of(program), overview[:OVERVIEW_LIMIT], failures,
                           len(overview) > OVERVIEW_LIMIT, names)


def programs_for_coordinator(deps: Dependencies, person_id: str, *,
                             is_admin: bool = False) -> list[ProgramSummary]:
    """The programs a person coordinates (every program for an admin), oldest first."""
    with deps.uow() as uow:
        programs = uow.programs.all_oldest_first() if is_admin else uow.programs.coordinated_by(person_id)
        return [ProgramSummary.of(p) for p in programs]


# --- a person's home page ------------------------------------------------------------------------
@dataclass(frozen=True)
class HomePage:
    """A signed-in person's home: their pairs (oldest first), and the labels of calendars they
    must reconnect."""

    pairs: list[PairSummary]
    broken_calendars: list[str]


def home_page(deps: Dependencies, person_id: str) -> HomePage:
    with deps.uow() as uow:
        lines = [summarise_pair(pair, person_id) for pair in uow.pairs.of_person(person_id)]
        return HomePage(lines, broken_calendars(uow, person_id))
