"""The JSON API's use cases (``/api/v1``, docs/api.md): bearer tokens, and the pages of pairs and
sessions the routes serialise.

Tokens: ``tdm_`` + 43 random URL-safe characters, shown once; only their SHA-256 is stored (a
random 256-bit secret needs no slow hash). A token sees one program, or every program when it
was made for an administrator (``program_id`` None). Every request is counted in the token's row
(``api_tokens.count_request``: one atomic UPDATE, so every gunicorn process shares the count), which
gives the per-minute rate limit and ``last_used_at`` (written once per minute, not per request).

The figures come from the services the web pages use: the dashboard's pair lines and headline
(:mod:`scheduler.services.dashboard`), the reports (:mod:`scheduler.services.reports`), the pair
timeline's wording of signals (:mod:`scheduler.services.coordinator_pair`) and the CSV import
(:mod:`scheduler.services.programs`). Lists are keyset-paginated in SQL (pairs by id, sessions by
start then id) behind an opaque cursor.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from scheduler.core import attendance as rules
from scheduler.core.attendance import Signal
from scheduler.core.entities import ApiToken
from scheduler.errors import InvalidInput, TandemError
from scheduler.ports import Dependencies, ProgramSession
from scheduler.services import dashboard as dashboards
from scheduler.services.coordinator_pair import describe
from scheduler.services.programs import ProgramSummary, UnknownProgram, one_line_problem

TOKEN_PREFIX = "tdm_"
MAX_NAME = 80
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_SESSION_DAYS = 366
# the contract's attendance values; a disputed verdict (the two people disagree) is not known yet
ATTENDANCE = {"held": "held", "missed": "missed", "cancelled": "cancelled", "moved": "moved",
              "disputed": "unknown", "unknown": "unknown"}


class TokenRefused(TandemError):
    """No valid token: missing, unknown or revoked (HTTP 401)."""

    retryable = False


class RateLimitExceeded(TandemError):
    """Too many requests with one token in this minute (HTTP 429); ``retry_after`` in seconds."""

    retryable = False

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class BadCursor(InvalidInput):
    """A cursor that no page of this list handed out."""


# --- tokens ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenLine:
    """A token as the program page lists it (never the token itself)."""

    id: str
    name: str
    program_id: str | None
    created_by: str | None  # who made it (name or email), None from the command line
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class NewToken:
    line: TokenLine
    token: str  # shown once


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's id and scope (``program_id`` None: every program)."""

    token_id: str
    program_id: str | None
    remaining: int  # requests left in this minute
    limit: int

    def sees(self, program_id: str) -> bool:
        return self.program_id is None or self.program_id == program_id


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _line(token: ApiToken, creator: str | None) -> TokenLine:
    return TokenLine(token.id, token.name, token.program_id, creator, token.created_at, token.last_used_at,
                     token.revoked_at)


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the token a name that says who uses it, e.g. “HR export”.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"The token's name is {len(name)} characters long; use at most {MAX_NAME}.")
    if one_line_problem("name", name) is not None:
        raise InvalidInput("The token's name must be one line of text: remove the line break or control character.")
    return name


def create_api_token(deps: Dependencies, *, name: str, program_id: str | None, created_by: str | None = None
                     ) -> NewToken:
    """A new token for ``program_id`` (None: every program, an administrator's token). The token
    is returned once and only its hash is stored. ``InvalidInput`` for a bad name,
    ``UnknownProgram`` for a program that does not exist."""
    name = _check_name(name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with deps.uow() as uow:
        if program_id is not None and uow.programs.get(program_id) is None:
            raise UnknownProgram(f"There is no program with the id “{program_id[:40]}”; the id is the last "
                                 "part of the program page's address (/programs/ID).")
        creator = uow.people.get(created_by) if created_by else None
        row = uow.api_tokens.add(ApiToken(token_hash=hash_token(token), name=name, program_id=program_id,
                                          created_by=creator.id if creator else None, created_at=deps.clock.now()))
        line = _line(row, (creator.name or creator.email) if creator else None)
        uow.commit()
    return NewToken(line, token)


def api_tokens_of_program(deps: Dependencies, program_id: str | None) -> list[TokenLine]:
    """The program's tokens, newest first (revoked ones too, marked); ``None``: the
    administrators' tokens for every program."""
    with deps.uow() as uow:
        tokens = uow.api_tokens.of_program(program_id)
        people = {p.id: p.name or p.email for p in uow.people.get_many({t.created_by for t in tokens if t.created_by})}
        return [_line(t, people.get(t.created_by) if t.created_by else None) for t in tokens]


def revoke_any_api_token(deps: Dependencies, token_id: str) -> TokenLine | None:
    """Revoke a token whatever its scope (the operator's ``tandem api-token revoke``); None when
    there is no such token. Revoking twice keeps the first time."""
    with deps.uow() as uow:
        token = uow.api_tokens.get(token_id, lock=True)
        if token is None:
            return None
        if token.revoked_at is None:
            token.revoked_at = deps.clock.now()
        line = _line(token, None)
        uow.commit()
    return line


def revoke_api_token(deps: Dependencies, program_id: str, token_id: str) -> bool:
    """Revoke one of the program's tokens (at once: its next request is refused). False when the
    program has no such token; revoking twice keeps the first time."""
    with deps.uow() as uow:
        token = uow.api_tokens.get(token_id, lock=True)
        if token is None or token.program_id != program_id:
            return False
        if token.revoked_at is None:
            token.revoked_at = deps.clock.now()
        uow.commit()
    return True


def authenticate(deps: Dependencies, token: str | None, *, per_minute: int) -> Caller:
    """The caller behind ``Authorization: Bearer token``, counted against its per-minute limit.
    ``TokenRefused`` (401) for no, unknown or revoked token; ``RateLimitExceeded`` (429, with the
    seconds to wait) past ``per_minute`` requests in the current minute."""
    if not token:
        raise TokenRefused("Send the API token as “Authorization: Bearer TOKEN”; a coordinator creates one "
                           "on the program page, or run `tandem api-token create`.")
    now = deps.clock.now().astimezone(timezone.utc)
    window = now.replace(second=0, microsecond=0)
    with deps.uow() as uow:
        row = uow.api_tokens.by_hash(hash_token(token.strip()))
        if row is None:
            raise TokenRefused("This API token is not known; check that it was copied whole, or create a new one.")
        if row.revoked_at is not None:
            raise TokenRefused("This API token was revoked; ask a coordinator of the program for a new one.")
        count = uow.api_tokens.count_request(row.id, window, now)
        token_id, program_id = row.id, row.program_id
        uow.commit()
    if count > per_minute:
        wait = max(1, int((window + timedelta(minutes=1) - now).total_seconds() + 0.999))
        raise RateLimitExceeded(f"This token made more than {per_minute} requests this minute; "
                                f"wait {wait} seconds and try again.", wait)
    return Caller(token_id, program_id, per_minute - count, per_minute)


# --- programs -------------------------------------------------------------------------------------
def _visible(caller: Caller, program_id: str) -> None:
    if not caller.sees(program_id):
        raise UnknownProgram("There is no program with this id that your token may see.")


def api_programs(deps: Dependencies, caller: Caller) -> list[ProgramSummary]:
    """The programs the token sees, oldest first."""
    with deps.uow() as uow:
        if caller.program_id is None:
            programs = uow.programs.all_oldest_first()
        else:
            one = uow.programs.get(caller.program_id)
            programs = [one] if one is not None else []
        return [ProgramSummary.of(p) for p in programs]


@dataclass(frozen=True)
class ProgramDetail:
    program: ProgramSummary
    headline: dashboards.Headline
    month: str  # the month of the headline's held/missed counts (UTC), "2027-03"


def api_program(deps: Dependencies, caller: Caller, program_id: str) -> ProgramDetail:
    """One program's settings and the dashboard's headline numbers (the month in UTC)."""
    _visible(caller, program_id)
    board = dashboards.dashboard(deps, program_id, viewer_tz="UTC")
    with deps.uow() as uow:
        program = uow.programs.get(program_id)
        if program is None:
            raise UnknownProgram("There is no program with this id that your token may see.")
        summary = ProgramSummary.of(program)
    return ProgramDetail(summary, board.headline, deps.clock.now().astimezone(timezone.utc).strftime("%Y-%m"))


# --- cursors --------------------------------------------------------------------------------------
def _encode(kind: str, *values: str) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str | None, kind: str, size: int) -> list[str] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, TypeError):
        values = None
    if not (isinstance(values, list) and len(values) == size + 1 and values[0] == kind
            and all(isinstance(v, str) and len(v) <= 64 for v in values[1:])):
        raise BadCursor("This cursor is not one this list handed out; start again without a cursor and "
                        "follow next_cursor.")
    return values[1:]


def _limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}; leave it out for {DEFAULT_LIMIT}.")
    return limit


# --- pairs ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None


def api_pairs(deps: Dependencies, caller: Caller, program_id: str, *, state: str | None = None,
              at_risk_only: bool | None = None, cursor: str | None = None, limit: int | None = None) -> Page:
    """One page of the program's pairs as the dashboard computes them (:class:`dashboards.PairLine`),
    by pair id. ``state`` filters in SQL; ``at_risk_only`` True/False keeps pairs with/without
    at-risk reasons (computed per page of rows, so a page reads at most a few pages of rows)."""
    _visible(caller, program_id)
    size = _limit(limit)
    if state and state not in dashboards.STATES:
        raise InvalidInput(f"Unknown state “{state[:40]}”; choose one of: {', '.join(dashboards.STATES)}.")
    now = deps.clock.now()
    items: list[dashboards.PairLine] = []
    with deps.uow() as uow:
        if uow.programs.get(program_id) is None:
            raise UnknownProgram("There is no program with this id that your token may see.")
        after = (_decode(cursor, "pairs", 1) or [None])[0]
        broken = None
        while True:
            batch = uow.pairs.table_rows_after(program_id, after=after, limit=size + 1,
                                               states=[state] if state else None)
            more = len(batch) > size
            rows = batch[:size]
            if not rows:
                return Page(items, None)
            if broken is None:
                broken = uow.connections.broken_in_program(program_id)
            sums = uow.occurrences.attendance_by_pair(program_id, now, pair_ids=[r.pair_id for r in rows])
            for line in dashboards.pair_lines(rows, sums, broken, now):
                if at_risk_only is None or bool(line.reasons) == at_risk_only:
                    items.append(line)
                    if len(items) == size:
                        last_row = line.pair_id == rows[-1].pair_id
                        return Page(items, _encode("pairs", line.pair_id) if more or not last_row else None)
            if not more:
                return Page(items, None)
            after = rows[-1].pair_id


# --- sessions -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionLine:
    occurrence_id: str
    pair_id: str
    start: datetime
    end: datetime
    status: str
    attendance: str  # held | missed | cancelled | moved | unknown
    verdict: str  # Tandem's verdict (``disputed`` too)
    signals: list[dict]  # {kind, at, by, detail, text}
    note: str | None


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"“{name}” must be a date like 2027-03-01, not “{text[:40]}”.") from None


def _session(s: ProgramSession) -> SessionLine:
    names = {"mentor": f"{s.mentor_name or s.mentor_email} (mentor)",
             "mentee": f"{s.mentee_name or s.mentee_email} (mentee)", "coordinator": "a coordinator"}
    signals = []
    for raw in s.signals:
        if isinstance(raw, dict):
            signal = Signal.from_json(raw)
            signals.append({**signal.to_json(), "text": describe(signal, s.start, names)})
    verdict = rules.verdict_of(s.verdict)
    return SessionLine(s.occurrence_id, s.pair_id, s.start, s.end, s.status, ATTENDANCE.get(verdict, "unknown"),
                       verdict, signals, s.note)


def api_sessions(deps: Dependencies, caller: Caller, program_id: str, *, start: str | None = None,
                 end: str | None = None, cursor: str | None = None, limit: int | None = None) -> Page:
    """One page of the program's sessions starting in ``[from, to)`` (UTC days; by default the 30
    days up to and including today), in time order, with attendance and its signals."""
    _visible(caller, program_id)
    size = _limit(limit)
    today = deps.clock.now().astimezone(timezone.utc).date()
    end_day = _day(end, "to") or today + timedelta(days=1)
    start_day = _day(start, "from") or end_day - timedelta(days=30)
    if start_day >= end_day:
        raise InvalidInput(f"“from” ({start_day}) must be before “to” ({end_day}); “to” is the first day not included.")
    if (end_day - start_day).days > MAX_SESSION_DAYS:
        raise InvalidInput(f"Ask for at most {MAX_SESSION_DAYS} days of sessions at a time.")
    after = _decode(cursor, "sessions", 2)
    after_key = None
    if after is not None:
        try:
            after_key = (datetime.fromisoformat(after[0]), after[1])
        except ValueError:
            raise BadCursor("This cursor is not one this list handed out; start again without a cursor.") from None
    as_utc = lambda d: datetime(d.year, d.month, d.day, tzinfo=timezone.utc)  # noqa: E731
    with deps.uow() as uow:
        if uow.programs.get(program_id) is None:
            raise UnknownProgram("There is no program with this id that your token may see.")
        rows = uow.occurrences.of_program_between(program_id, start_from=as_utc(start_day),
                                                  start_before=as_utc(end_day), after=after_key, limit=size + 1)
    items = [_session(s) for s in rows[:size]]
    last = rows[size - 1] if len(rows) > size else None
    return Page(items, _encode("sessions", last.start.isoformat(), last.occurrence_id) if last else None)
