"""The program dashboard: headline numbers, held-vs-missed per week and per mentor, and the pairs
table with at-risk reasons, filters, sorting and pages — one read model for the program page.

Everything comes from aggregate named queries (GROUP BY in SQL: one row per pair, per week, per
mentor), never from loading every session, so the page stays fast at 10,000 pairs; the at-risk
rules (:mod:`scheduler.core.at_risk`) then run over one small record per pair.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler.core import at_risk
from scheduler.core.at_risk import BrokenConnection, PairFacts, Reason
from scheduler.core.timeview import local_when
from scheduler.errors import InvalidInput
from scheduler.ports import BrokenConnectionRow, Dependencies, PairAttendance, PairRow, UnitOfWork
from scheduler.services.programs import ProgramPage, UnknownProgram, program_page

PAGE_SIZE = 50
WEEKS = 12
MENTORS_SHOWN = 15
STATE_LABELS = {"invited": "Setting up", "ready": "Finding a time", "planning": "Finding a time",
                "booked": "Booked", "paused": "Paused", "ended": "Ended", "needs_attention": "Needs attention",
                "unschedulable": "No common time found"}
STATES = ("invited", "ready", "planning", "booked", "needs_attention", "unschedulable", "paused", "ended")
SORTS = {"name": "Mentor's name", "last_held": "Last held", "next": "Next session", "misses": "Misses in a row"}
RISK_FILTERS = ("", "yes", "no") + at_risk.RULES
PROVIDER_LABELS = {"google": "Google", "microsoft": "Microsoft", "caldav": "CalDAV", "ics": "ICS feed",
                   "memory": "test"}


@dataclass(frozen=True)
class Filters:
    """What the coordinator asked the pairs table for (checked by :func:`parse_filters`).
    ``mentor`` is a mentor's id or a piece of a mentor's name or email; ``risk`` is "", "yes",
    "no" or one rule key; ``descending`` reverses the sort."""

    state: str = ""
    risk: str = ""
    mentor: str = ""
    sort: str = "name"
    descending: bool = False
    page: int = 1

    def query(self, **change) -> dict[str, str]:
        """The query-string values for these filters (with ``change`` applied), defaults left out."""
        f = replace(self, **change)
        values = {"state": f.state, "risk": f.risk, "mentor": f.mentor,
                  "sort": "" if f.sort == "name" else f.sort, "order": "desc" if f.descending else "",
                  "page": "" if f.page == 1 else str(f.page)}
        return {k: v for k, v in values.items() if v}


def parse_filters(args: dict) -> Filters:
    """Filters from query-string values; InvalidInput saying what to use for a wrong value."""
    state = (args.get("state") or "").strip()
    if state and state not in STATES:
        raise InvalidInput(f"Unknown state “{state}”; choose one of: {', '.join(STATES)}.")
    risk = (args.get("risk") or "").strip()
    if risk not in RISK_FILTERS:
        raise InvalidInput(f"Unknown at-risk filter “{risk}”; choose yes, no or one of: {', '.join(at_risk.RULES)}.")
    sort = (args.get("sort") or "name").strip()
    if sort not in SORTS:
        raise InvalidInput(f"Pairs cannot be sorted by “{sort}”; choose one of: {', '.join(SORTS)}.")
    order = (args.get("order") or "").strip()
    if order not in ("", "asc", "desc"):
        raise InvalidInput("The order must be asc or desc.")
    page_text = (args.get("page") or "1").strip()
    if not page_text.isdigit() or int(page_text) < 1 or len(page_text) > 6:
        raise InvalidInput(f"Page “{page_text}” is not a page number; use 1 or more.")
    mentor = (args.get("mentor") or "").strip()[:200]
    return Filters(state, risk, mentor, sort, order == "desc", int(page_text))


@dataclass(frozen=True)
class Headline:
    pairs_by_state: tuple[tuple[str, str, int], ...]  # (state, label, count), states with pairs only
    pairs: int
    held_this_month: int
    missed_this_month: int
    missed_rate: float | None  # missed / (held + missed) this month; None without either
    at_risk: int
    broken_connections: int  # connections not ok of the program's people
    risk_by_rule: tuple[tuple[str, str, int], ...]  # (rule, label, pairs)


@dataclass(frozen=True)
class Bar:
    """One group of a held-vs-missed chart: a label and two counts."""

    label: str
    held: int
    missed: int
    key: str = ""  # a mentor's id (for a link to the filtered table)


@dataclass(frozen=True)
class PairLine:
    pair_id: str
    mentor_id: str
    mentor_name: str
    mentor_email: str
    mentee_name: str
    mentee_email: str
    state: str
    state_label: str
    last_held: datetime | None
    next_start: datetime | None
    misses_in_a_row: int
    connection: str  # ok | broken
    reasons: tuple[Reason, ...]
    last_held_text: str = "never"  # in the reader's zone
    next_text: str = "none planned"
    mentee_id: str = ""


@dataclass(frozen=True)
class Dashboard:
    tz: str
    month_label: str
    headline: Headline
    weeks: tuple[Bar, ...]  # oldest first, the current week last
    mentors: tuple[Bar, ...]  # the most missed first, at most MENTORS_SHOWN
    mentors_total: int  # mentors with sessions in the chart's weeks
    lines: tuple[PairLine, ...]  # this page of the table
    matching: int  # pairs matching the filters
    page: int
    pages: int
    filters: Filters


def _zone(tz: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _label(name: str, email: str) -> str:
    return name or email


def _pair_facts(rows: Sequence[PairRow], sums: Mapping[str, PairAttendance],
                broken_rows: Sequence[BrokenConnectionRow]) -> list[tuple[PairRow, PairAttendance, PairFacts]]:
    """Each pair's row, its sessions summed up, and what the at-risk rules judge it by."""
    broken_by_person: dict[str, list[BrokenConnectionRow]] = {}
    for b in broken_rows:
        broken_by_person.setdefault(b.person_id, []).append(b)
    found = []
    for row in rows:
        s = sums.get(row.pair_id, PairAttendance())
        broken = tuple(BrokenConnection(role, _label(name, email), PROVIDER_LABELS.get(b.provider, b.provider),
                                        b.status)
                       for role, pid, name, email in (("mentor", row.mentor_id, row.mentor_name, row.mentor_email),
                                                      ("mentee", row.mentee_id, row.mentee_name, row.mentee_email))
                       for b in broken_by_person.get(pid, ())[:1])
        found.append((row, s, PairFacts(row.status, row.updated_at, s.misses_in_a_row, s.unanswered_in_a_row,
                                        s.first_start, s.last_held, broken)))
    return found


def risks_in(uow: UnitOfWork, program_id: str, now: datetime) -> dict[str, tuple[Reason, ...]]:
    """Pair id -> why it is at risk at ``now`` (the dashboard's rules), for the program's pairs
    that are; in the caller's unit of work."""
    facts = _pair_facts(uow.pairs.table_rows(program_id), uow.occurrences.attendance_by_pair(program_id, now),
                        uow.connections.broken_in_program(program_id))
    reasons = {row.pair_id: at_risk.reasons(f, now) for row, _, f in facts}
    return {pair_id: found for pair_id, found in reasons.items() if found}


def dashboard(deps: Dependencies, program_id: str, filters: Filters = Filters(), viewer_tz: str | None = None
              ) -> Dashboard:
    """The dashboard of ``program_id`` at the clock's now, weeks and months in ``viewer_tz``.
    The caller checked the viewer coordinates the program; InvalidInput when it does not exist."""
    now = deps.clock.now()
    zone = _zone(viewer_tz)
    local = now.astimezone(zone)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    week_start = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    week_edges = [(week_start - timedelta(weeks=WEEKS - 1 - i)) for i in range(WEEKS)]
    # local midnights through the zone (a DST change inside the 12 weeks keeps Monday midnight)
    week_edges = [datetime(d.year, d.month, d.day, tzinfo=zone) for d in week_edges]
    edges = [d.astimezone(ZoneInfo("UTC")) for d in week_edges] + [now]
    with deps.uow() as uow:
        program = uow.programs.get(program_id)
        if program is None:
            raise UnknownProgram("That program does not exist; pick one from your programs list.")
        uow.pairs.refresh_summaries(program_id, now)
        counts = uow.pairs.counts_in(program_id, now)
        ask = dict(state=filters.state, risk=filters.risk, mentor=filters.mentor, sort=filters.sort,
                   descending=filters.descending, limit=PAGE_SIZE)
        rows, matching = uow.pairs.table_page(program_id, now, offset=(filters.page - 1) * PAGE_SIZE, **ask)
        pages = max(1, -(-matching // PAGE_SIZE))
        page = min(filters.page, pages)
        if page != filters.page:  # past the last page: show the last one
            rows, matching = uow.pairs.table_page(program_id, now, offset=(page - 1) * PAGE_SIZE, **ask)
        sums = uow.occurrences.attendance_by_pair(program_id, now, pair_ids=[row.pair_id for row in rows])
        broken_rows = uow.connections.broken_in_program(program_id)
        hidden = uow.memberships.not_accepted(program_id, sorted({b.person_id for b in broken_rows}))
        broken_rows = [b for b in broken_rows if b.person_id not in hidden]  # not yet in this program
        month = uow.occurrences.verdict_counts(program_id, [month_start.astimezone(ZoneInfo("UTC")), now])
        weekly = uow.occurrences.verdict_counts(program_id, edges)
        by_mentor = uow.occurrences.verdicts_by_mentor(program_id, edges[0], now)
        mentor_bars, mentors_total = _mentor_bars(uow, by_mentor)
        uow.commit()  # the refreshed summaries

    def texts(line: PairLine) -> PairLine:
        return replace(line, last_held_text=local_when(line.last_held, zone.key) if line.last_held else "never",
                       next_text=local_when(line.next_start, zone.key) if line.next_start else "none planned")

    held = month.get((0, "held"), 0)
    missed = month.get((0, "missed"), 0)
    headline = Headline(
        tuple((s, STATE_LABELS[s], counts.by_state[s]) for s in STATES if counts.by_state.get(s)),
        sum(counts.by_state.values()), held, missed, missed / (held + missed) if held + missed else None,
        counts.at_risk, len(broken_rows),
        tuple((rule, at_risk.RULE_LABELS[rule], counts.by_rule.get(rule, 0)) for rule in at_risk.RULES))
    weeks = tuple(Bar(f"{d.day} {d.strftime('%b')}", weekly.get((i, "held"), 0), weekly.get((i, "missed"), 0))
                  for i, d in enumerate(week_edges))
    shown = tuple(texts(line) for line in pair_lines(rows, sums, broken_rows, now))
    return Dashboard(zone.key, local.strftime("%B %Y"), headline, weeks, tuple(mentor_bars), mentors_total, shown,
                     matching, page, pages, replace(filters, page=page))


def _mentor_bars(uow: UnitOfWork, by_mentor: Mapping[tuple[str, str], int]) -> tuple[list[Bar], int]:
    """The per-mentor chart's bars, most missed first (then most held, then by name), at most
    :data:`MENTORS_SHOWN`, and how many mentors have held or missed sessions; only the mentors
    that may be shown are looked up (names decide ties at the cut)."""
    counts = {mid: (by_mentor.get((mid, "held"), 0), by_mentor.get((mid, "missed"), 0)) for mid, _ in by_mentor}
    ranked = sorted((mid for mid, (h, m) in counts.items() if h or m), key=lambda mid: (-counts[mid][1], -counts[mid][0]))
    if len(ranked) > MENTORS_SHOWN:
        cut = counts[ranked[MENTORS_SHOWN - 1]]
        named = [mid for mid in ranked if (counts[mid][1], counts[mid][0]) >= (cut[1], cut[0])]
    else:
        named = ranked
    people = {p.id: p for p in uow.people.get_many(named)}
    bars = [Bar(_label(people[mid].name, people[mid].email) if mid in people else "a former mentor",
                counts[mid][0], counts[mid][1], mid) for mid in named]
    bars.sort(key=lambda b: (-b.missed, -b.held, b.label.lower(), b.key))
    return bars[:MENTORS_SHOWN], len(ranked)


def pair_lines(rows: Sequence[PairRow], sums: Mapping[str, PairAttendance], broken_rows: Sequence[BrokenConnectionRow],
               now: datetime) -> list[PairLine]:
    """Each pair's line of the table — state, last held, next, misses in a row, connection health
    and at-risk reasons — from the named queries' rows (the dashboard and the JSON API both)."""
    return [PairLine(row.pair_id, row.mentor_id, _label(row.mentor_name, row.mentor_email),
                     row.mentor_email, _label(row.mentee_name, row.mentee_email), row.mentee_email,
                     row.status, STATE_LABELS.get(row.status, row.status), s.last_held, s.next_start,
                     s.misses_in_a_row, at_risk.connection_health(facts), at_risk.reasons(facts, now),
                     mentee_id=row.mentee_id)
            for row, s, facts in _pair_facts(rows, sums, broken_rows)]


@dataclass(frozen=True)
class ProgramDashboardPage:
    """Everything the program page shows: its settings, pairs at a glance and failed work
    (:func:`scheduler.services.programs.program_page`), and the dashboard."""

    page: ProgramPage
    dashboard: Dashboard


def program_dashboard_page(deps: Dependencies, program_id: str, filters: Filters = Filters(),
                           viewer_tz: str | None = None) -> ProgramDashboardPage:
    """The program page in one call; raises ``UnknownProgram`` when the program does not exist."""
    page = program_page(deps, program_id)
    return ProgramDashboardPage(page, dashboard(deps, program_id, filters, viewer_tz))
