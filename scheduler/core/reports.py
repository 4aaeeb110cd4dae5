"""The coordinator's reports, computed from plain rows (pure: no storage, ``today`` is a parameter).

Three reports over a date range ``[start, end)`` (UTC days; a session belongs to the range when
it *starts* in it), each a list of flat rows with the same keys in CSV and JSON
(see ``docs/reports.md``):

- ``missed``: each session whose attendance verdict is ``missed``, with its reasons;
- ``equal-access``: per mentor, the minutes held with each mentee and the least-served share;
- ``recognition``: per mentor, sessions held, hours mentored, mentees met.

Definitions (the docs repeat them):

- a session is **held** when its verdict is ``held`` (``disputed``, ``moved``, ``missed``,
  ``cancelled`` and ``unknown`` are not); its **minutes** are ``end - start`` (the time it was
  finally at), summed in seconds and given in whole minutes, rounded down;
- a mentee **counts** for a mentor in the range when their pair has at least one session in the
  range that was not cancelled (verdict other than ``cancelled``): a pair that was paused, ended or
  re-planned over the whole range was not expected to meet and is left out;
- the **least-served share** of a mentor is ``min(minutes) / max(minutes)`` over the mentees who
  count: 1.0 is perfectly equal, 0.0 means a mentee had no held session while another had some.
  It is empty (``None``) when the mentor held no session with any of them (nothing to share).
  With one mentee it is 1.0 when they met. Shares are rounded to two decimals.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

from scheduler.errors import InvalidInput

KINDS = ("missed", "equal-access", "recognition")
TITLES = {"missed": "Missed meetings", "equal-access": "Equal access to mentors' time",
          "recognition": "Mentor recognition"}
DEFAULT_DAYS = 30
MAX_DAYS = 3660  # ten years: any real program; a guard against a typo'd year

COLUMNS: dict[str, tuple[str, ...]] = {
    "missed": ("occurrence_id", "pair_id", "mentor_name", "mentor_email", "mentee_name", "mentee_email",
               "start_utc", "end_utc", "start_local", "local_zone", "reasons", "coordinator_note"),
    "equal-access": ("mentor_id", "mentor_name", "mentor_email", "mentee_id", "mentee_name", "mentee_email",
                     "pair_id", "sessions_held", "minutes_held", "share_of_best_served", "mentor_minutes_held",
                     "mentor_least_served_share"),
    "recognition": ("mentor_id", "mentor_name", "mentor_email", "sessions_held", "minutes_held", "hours_mentored",
                    "mentees_met", "mentees"),
}

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- the date range ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DateRange:
    """UTC days ``[start, end)``."""

    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=timezone.utc)

    @property
    def end_at(self) -> datetime:
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=timezone.utc)


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"“{name}” must be a date written YYYY-MM-DD (for example 2026-03-01), "
                           f"not “{text[:40]}”.") from None


def parse_range(start: str | None, end: str | None, today: date) -> DateRange:
    """The range asked for: ``from`` (included) and ``to`` (not included), ISO dates. Without
    ``to`` the range ends after ``today``; without ``from`` it is the ``DEFAULT_DAYS`` days before
    its end. :class:`InvalidInput` (saying what to send) for anything else."""
    end_day = _day(end, "to") if end not in (None, "") else today + timedelta(days=1)
    start_day = _day(start, "from") if start not in (None, "") else end_day - timedelta(days=DEFAULT_DAYS)
    if start_day >= end_day:
        raise InvalidInput(f"“from” ({start_day.isoformat()}) must be before “to” ({end_day.isoformat()}); "
                           "“to” is the first day not included.")
    if (end_day - start_day).days > MAX_DAYS:
        raise InvalidInput(f"The range is {(end_day - start_day).days} days long; ask for at most {MAX_DAYS} days.")
    return DateRange(start_day, end_day)


# --- the rows the reports read (``scheduler.ports.ProgramSession`` has these attributes) --------
def _minutes(seconds: float) -> int:
    return int(seconds // 60)


def _share(low: float, high: float) -> float | None:
    return None if high <= 0 else round(low / high, 2)


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def missed_rows(sessions: Iterable[Any], *, zone: Callable[[Any], tuple[str, Any]],
                reasons: Callable[[Any], Sequence[str]]) -> list[dict]:
    """One row per session whose verdict is ``missed``, in time order. ``zone(session)`` gives
    ``(zone name, tzinfo)`` for the local time (the mentor's, else the series'); ``reasons(session)``
    the verdict's signals in plain words."""
    rows = []
    for s in sorted((s for s in sessions if s.verdict == "missed"), key=lambda s: (s.start, s.occurrence_id)):
        name, tz = zone(s)
        rows.append({
            "occurrence_id": s.occurrence_id, "pair_id": s.pair_id,
            "mentor_name": s.mentor_name, "mentor_email": s.mentor_email,
            "mentee_name": s.mentee_name, "mentee_email": s.mentee_email,
            "start_utc": _iso_utc(s.start), "end_utc": _iso_utc(s.end),
            "start_local": s.start.astimezone(tz).isoformat(timespec="minutes"), "local_zone": name,
            "reasons": "; ".join(reasons(s)), "coordinator_note": s.note or "",
        })
    return rows


@dataclass
class _Tally:
    sessions: int = 0
    seconds: float = 0.0
    counts: bool = False  # at least one session not cancelled
    pair_id: str = ""
    name: str = ""
    email: str = ""


def _tallies(sessions: Iterable[Any]) -> tuple[dict[str, dict[str, _Tally]], dict[str, tuple[str, str]]]:
    """mentor id -> mentee id -> tally; mentor id -> (name, email)."""
    per_mentor: dict[str, dict[str, _Tally]] = {}
    mentors: dict[str, tuple[str, str]] = {}
    for s in sessions:
        mentors[s.mentor_id] = (s.mentor_name, s.mentor_email)
        tally = per_mentor.setdefault(s.mentor_id, {}).setdefault(
            s.mentee_id, _Tally(pair_id=s.pair_id, name=s.mentee_name, email=s.mentee_email))
        if s.verdict != "cancelled":
            tally.counts = True
        if s.verdict == "held":
            tally.sessions += 1
            tally.seconds += (s.end - s.start).total_seconds()
    return per_mentor, mentors


def _person_key(name: str, email: str, id_: str) -> tuple:
    return ((name or email).casefold(), email.casefold(), id_)


def equal_access_rows(sessions: Iterable[Any]) -> list[dict]:
    """One row per (mentor, mentee who counts), mentors by name then mentees by name; each row
    carries the mentor's total and least-served share (see the module's definitions)."""
    per_mentor, mentors = _tallies(sessions)
    rows = []
    for mentor_id in sorted(per_mentor, key=lambda m: _person_key(*mentors[m], m)):
        counted = {k: t for k, t in per_mentor[mentor_id].items() if t.counts}
        if not counted:
            continue
        minutes = {k: _minutes(t.seconds) for k, t in counted.items()}
        best, least = max(minutes.values()), min(minutes.values())
        total = _minutes(sum(t.seconds for t in counted.values()))
        name, email = mentors[mentor_id]
        for mentee_id in sorted(counted, key=lambda k: _person_key(counted[k].name, counted[k].email, k)):
            t = counted[mentee_id]
            rows.append({
                "mentor_id": mentor_id, "mentor_name": name, "mentor_email": email,
                "mentee_id": mentee_id, "mentee_name": t.name, "mentee_email": t.email, "pair_id": t.pair_id,
                "sessions_held": t.sessions, "minutes_held": minutes[mentee_id],
                "share_of_best_served": _share(minutes[mentee_id], best),
                "mentor_minutes_held": total, "mentor_least_served_share": _share(least, best),
            })
    return rows


def recognition_rows(sessions: Iterable[Any]) -> list[dict]:
    """One row per mentor with a session in the range that was not cancelled: sessions held,
    minutes and hours (two decimals) held, how many mentees they met and who; most hours first,
    then by name."""
    per_mentor, mentors = _tallies(sessions)
    rows = []
    for mentor_id, mentees in per_mentor.items():
        if not any(t.counts for t in mentees.values()):
            continue
        seconds = sum(t.seconds for t in mentees.values())
        met = sorted((t for t in mentees.values() if t.sessions), key=lambda t: _person_key(t.name, t.email, ""))
        name, email = mentors[mentor_id]
        rows.append({
            "mentor_id": mentor_id, "mentor_name": name, "mentor_email": email,
            "sessions_held": sum(t.sessions for t in mentees.values()), "minutes_held": _minutes(seconds),
            "hours_mentored": round(seconds / 3600, 2), "mentees_met": len(met),
            "mentees": "; ".join(t.name or t.email for t in met),
        })
    rows.sort(key=lambda r: (-r["minutes_held"], *_person_key(r["mentor_name"], r["mentor_email"], r["mentor_id"])))
    return rows


# --- the report and its two formats --------------------------------------------------------------
@dataclass(frozen=True)
class Report:
    """A report as plain values: the same rows become CSV (:meth:`to_csv`) or JSON
    (:meth:`to_json`)."""

    kind: str
    title: str
    program_id: str
    program_name: str
    range: DateRange
    columns: tuple[str, ...]
    rows: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def to_json(self) -> dict:
        return {"report": self.kind, "title": self.title,
                "program": {"id": self.program_id, "name": self.program_name},
                "from": self.range.start.isoformat(), "to": self.range.end.isoformat(),
                "columns": list(self.columns), "items": [dict(r) for r in self.rows]}

    def to_csv(self) -> str:
        return to_csv(self.columns, self.rows)

    def filename(self, extension: str) -> str:
        return f"{self.kind}-{self.range.start.isoformat()}-to-{self.range.end.isoformat()}.{extension}"


def csv_cell(value: Any) -> str:
    """A value as a CSV cell that no spreadsheet runs as a formula: text beginning with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote. ``None`` is empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A header row, then one line per row (RFC 4180 quoting, CRLF line ends), every cell escaped
    by :func:`csv_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
    return out.getvalue()
