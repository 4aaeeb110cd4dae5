"""The report figures (pure functions of ``scheduler.core.reports``) against fixtures worked out by
hand, the date range's parsing, and CSV cells that can never start a formula."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from scheduler.core import reports as r
from scheduler.errors import InvalidInput
from scheduler.ports import ProgramSession

M = timedelta(minutes=1)
PEOPLE = {"m1": ("Mina", "mina@example.org", "Europe/Berlin"), "m2": ("Omar", "omar@example.org", None),
          "m3": ("Zed", "zed@example.org", None), "m4": ("Lee", "lee@example.org", None),
          "a": ("Ann", "ann@example.org", None), "b": ("Bob", "bob@example.org", None),
          "c": ("Cy", "cy@example.org", None), "d": ("Dee", "dee@example.org", None),
          "e": ("Eve", "eve@example.org", None), "f": ("Fay", "fay@example.org", None),
          "g": ("Gus", "gus@example.org", None)}


def at(day: int, hour: int = 14) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=timezone.utc)


def session(occ: str, mentor: str, mentee: str, start: datetime, minutes: int, verdict: str,
            signals=(), note=None) -> ProgramSession:
    mn, me = PEOPLE[mentor], PEOPLE[mentee]
    return ProgramSession(occ, f"{mentor}-{mentee}", start, start + minutes * M, "scheduled", verdict, list(signals),
                          note, "UTC", mentor, mn[0], mn[1], mn[2], mentee, me[0], me[1])


# Worked out by hand:
#   Mina–Ann: held 45 + held 60, missed        -> 2 held, 105 min
#   Mina–Bob: held 30, disputed 45 (not held)  -> 1 held, 30 min
#   Mina–Cy:  missed, unknown                  -> counts, 0 min
#   Mina–Eve: cancelled only                   -> left out
#   Mina: best 105, least 0 -> least-served share 0.0; Bob 30/105 = 0.2857 -> 0.29; total 135 min
#   Omar–Dee: held 90                          -> share 1.0; total 90 min
#   Zed–Fay:  cancelled only                   -> Zed left out of both reports
#   Lee–Gus:  moved                            -> counts, 0 min; nothing held -> share empty
SESSIONS = [
    session("o1", "m1", "a", at(2), 45, "held"),
    session("o2", "m1", "a", at(9), 60, "held"),
    session("o3", "m1", "a", at(16), 45, "missed",
            [{"kind": "answer", "by": "mentor", "detail": "not_met", "at": None}], note="Checked with Ann"),
    session("o4", "m1", "b", at(3), 30, "held"),
    session("o5", "m1", "b", at(10), 45, "disputed"),
    session("o6", "m1", "c", at(4), 45, "missed"),
    session("o7", "m1", "c", at(11), 45, "unknown"),
    session("o8", "m1", "e", at(5), 45, "cancelled"),
    session("o9", "m2", "d", at(6), 90, "held"),
    session("o10", "m3", "f", at(6), 45, "cancelled"),
    session("o11", "m4", "g", at(7), 45, "moved"),
]


def test_equal_access_per_mentor_and_mentee():
    rows = r.equal_access_rows(SESSIONS)
    got = [(x["mentor_name"], x["mentee_name"], x["sessions_held"], x["minutes_held"], x["share_of_best_served"],
            x["mentor_minutes_held"], x["mentor_least_served_share"]) for x in rows]
    assert got == [
        ("Lee", "Gus", 0, 0, None, 0, None),
        ("Mina", "Ann", 2, 105, 1.0, 135, 0.0),
        ("Mina", "Bob", 1, 30, 0.29, 135, 0.0),
        ("Mina", "Cy", 0, 0, 0.0, 135, 0.0),
        ("Omar", "Dee", 1, 90, 1.0, 90, 1.0),
    ]
    assert all(set(x) == set(r.COLUMNS["equal-access"]) for x in rows)


def test_equal_access_when_every_mentee_met():
    rows = r.equal_access_rows([session("x1", "m1", "a", at(2), 60, "held"),
                                session("x2", "m1", "b", at(3), 45, "held"),
                                session("x3", "m1", "b", at(10), 45, "held")])
    assert [(x["minutes_held"], x["share_of_best_served"], x["mentor_least_served_share"]) for x in rows] == [
        (60, 0.67, 0.67), (90, 1.0, 0.67)]


def test_minutes_are_summed_before_rounding_down():
    half = timedelta(seconds=30)
    rows = [ProgramSession(f"s{i}", "p", at(2 + i), at(2 + i) + 10 * M + half, "scheduled", "held", [], None,
                           "UTC", "m1", "Mina", "mina@example.org", None, "a", "Ann", "ann@example.org")
            for i in range(3)]
    assert r.equal_access_rows(rows)[0]["minutes_held"] == 31  # 3 × 10.5 min
    assert r.recognition_rows(rows)[0]["hours_mentored"] == 0.53  # 31.5 min


def test_recognition_per_mentor():
    rows = r.recognition_rows(SESSIONS)
    got = [(x["mentor_name"], x["sessions_held"], x["minutes_held"], x["hours_mentored"], x["mentees_met"],
            x["mentees"]) for x in rows]
    assert got == [("Mina", 3, 135, 2.25, 2, "Ann; Bob"),
                   ("Omar", 1, 90, 1.5, 1, "Dee"),
                   ("Lee", 0, 0, 0.0, 0, "")]
    assert all(set(x) == set(r.COLUMNS["recognition"]) for x in rows)


def test_missed_rows_with_times_in_utc_and_the_mentor_s_zone_and_reasons():
    def zone(s):
        name = s.mentor_tz or "UTC"
        return name, ZoneInfo(name)

    rows = r.missed_rows(SESSIONS, zone=zone, reasons=lambda s: [f"{x['by']} said {x['detail']}" for x in s.signals])
    assert [x["occurrence_id"] for x in rows] == ["o6", "o3"]  # time order
    cy, ann = rows
    assert cy["start_utc"] == "2026-03-04T14:00:00Z" and cy["end_utc"] == "2026-03-04T14:45:00Z"
    assert cy["start_local"] == "2026-03-04T15:00+01:00" and cy["local_zone"] == "Europe/Berlin"
    assert cy["reasons"] == "" and cy["coordinator_note"] == ""
    assert ann["reasons"] == "mentor said not_met" and ann["coordinator_note"] == "Checked with Ann"
    assert (ann["mentor_name"], ann["mentee_name"], ann["pair_id"]) == ("Mina", "Ann", "m1-a")
    assert all(set(x) == set(r.COLUMNS["missed"]) for x in rows)


def test_empty_input_gives_empty_reports():
    assert r.equal_access_rows([]) == r.recognition_rows([]) == []
    assert r.missed_rows([], zone=lambda s: ("UTC", timezone.utc), reasons=lambda s: []) == []


# --- the date range ------------------------------------------------------------------------------
TODAY = date(2026, 3, 31)


def test_the_default_range_is_the_last_30_days_including_today():
    assert r.parse_range(None, None, TODAY) == r.DateRange(date(2026, 3, 2), date(2026, 4, 1))
    assert r.parse_range("", "", TODAY) == r.parse_range(None, None, TODAY)
    assert r.parse_range(None, "2026-02-01", TODAY) == r.DateRange(date(2026, 1, 2), date(2026, 2, 1))
    assert r.parse_range("2026-01-01", None, TODAY) == r.DateRange(date(2026, 1, 1), date(2026, 4, 1))
    span = r.parse_range("2026-03-01", "2026-03-02", TODAY)
    assert (span.start_at, span.end_at) == (datetime(2026, 3, 1, tzinfo=timezone.utc),
                                            datetime(2026, 3, 2, tzinfo=timezone.utc))


@pytest.mark.parametrize("start,end,says", [
    ("yesterday", None, "“from” must be a date written YYYY-MM-DD"),
    (None, "2026-13-01", "“to” must be a date written YYYY-MM-DD"),
    ("2026-03-05", "2026-03-05", "must be before “to”"),
    ("2026-03-05", "2026-03-01", "must be before “to”"),
    ("1900-01-01", "2026-03-01", "ask for at most 3660 days"),
])
def test_a_bad_range_says_what_to_send(start, end, says):
    with pytest.raises(InvalidInput) as refused:
        r.parse_range(start, end, TODAY)
    assert says in str(refused.value)


# --- CSV -----------------------------------------------------------------------------------------
HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+2", "-3", "@SUM(A1)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_that_would_start_a_formula_is_escaped(text):
    assert r.csv_cell(text) == "'" + text


@pytest.mark.parametrize("value,cell", [("Ann", "Ann"), ("a=b", "a=b"), (None, ""), (0, "0"), (0.29, "0.29"),
                                        (True, "true"), ("'quoted", "'quoted"), ("", "")])
def test_harmless_cells_are_kept(value, cell):
    assert r.csv_cell(value) == cell


def test_a_report_s_csv_has_a_header_and_no_cell_starting_a_formula():
    rows = [{"mentor_name": name, "mentor_email": "x@example.org", "sessions_held": 1, "minutes_held": 45,
             "hours_mentored": 0.75, "mentees_met": 1, "mentees": name, "mentor_id": "-id"} for name in HOSTILE]
    report = r.Report("recognition", "Mentor recognition", "p", "=Program", r.DateRange(date(2026, 3, 1),
                                                                                        date(2026, 4, 1)),
                      r.COLUMNS["recognition"], tuple(rows))
    text = report.to_csv()
    assert text.endswith("\r\n")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == list(r.COLUMNS["recognition"])
    assert len(parsed) == 1 + len(HOSTILE)
    for line in parsed[1:]:
        for cell in line:
            assert not cell.startswith(tuple(r.FORMULA_START)), cell
    assert [line[1] for line in parsed[1:]] == ["'" + name for name in HOSTILE]
    as_json = report.to_json()
    assert as_json["items"][0]["mentor_name"] == HOSTILE[0]  # JSON keeps the value as it is
    assert (as_json["from"], as_json["to"], as_json["columns"]) == ("2026-03-01", "2026-04-01",
                                                                   list(r.COLUMNS["recognition"]))
    assert report.filename("csv") == "recognition-2026-03-01-to-2026-04-01.csv"
