"""The reports use case on the in-memory unit of work: the range picks sessions by their start
(from included, to not), only the program's pairs count, reasons are in plain words, bad input
says what to send."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from scheduler.core.entities import Membership, Occurrence, Pair, Person, Program, Series
from scheduler.errors import InvalidInput
from scheduler.services import reports



def at(day: int, hour: int = 14) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=timezone.utc)


def sessions(deps, pair_id: str, *items) -> list[str]:
    """A series of the pair with occurrences ``(start, minutes, verdict, signals)``."""
    series = Series(pair_id=pair_id, rrule="FREQ=WEEKLY", dtstart_local="2026-03-01T14:00:00", tz="UTC",
                    duration_min=45, status="booked")
    occurrences = [Occurrence(series_id=series.id, original_start=start, start=start,
                              end=start + timedelta(minutes=minutes), attendance_verdict=verdict,
                              attendance_signals=list(signals)) for start, minutes, verdict, signals in items]
    with deps.uow() as uow:
        uow.series.add(series)
        for o in occurrences:
            uow.occurrences.add(o)
        uow.commit()
    return [o.id for o in occurrences]


@pytest.fixture
def program(deps, seed):
    """The seeded pair (Mina → Ezra, Mina in Berlin), a second mentee of Mina's, and a pair in
    another program that must never show."""
    seeded = seed(status="booked")
    with deps.uow() as uow:
        zoe = uow.people.add(Person(email="zoe@example.org", name="Zoe"))
        uow.memberships.add(Membership(program_id=seeded.program_id, person_id=zoe.id, role="mentee"))
        second = uow.pairs.add(Pair(program_id=seeded.program_id, mentor_id=seeded.mentor_id, mentee_id=zoe.id,
                                    status="booked"))
        other = uow.programs.add(Program(name="Other"))
        outsider = uow.pairs.add(Pair(program_id=other.id, mentor_id=seeded.mentor_id, mentee_id=zoe.id,
                                      status="booked"))
        uow.commit()
    no_answer = {"kind": "no_answer", "at": at(12).isoformat(), "by": "mentee", "detail": "3"}
    not_met = {"kind": "answer", "at": at(9, 16).isoformat(), "by": "mentor", "detail": "not_met"}
    first = sessions(deps, seeded.pair_id,
                     (datetime(2026, 3, 1, tzinfo=timezone.utc), 45, "held", []),  # exactly at "from": in
                     (at(9), 45, "missed", [not_met, no_answer]),
                     (datetime(2026, 3, 15, tzinfo=timezone.utc), 45, "held", []))  # exactly at "to": out
    zoe_ids = sessions(deps, second.id, (at(10), 60, "held", []), (at(11), 30, "held", []))
    sessions(deps, outsider.id, (at(10), 45, "missed", []), (at(11), 120, "held", []))
    return seeded, first, zoe_ids, other.id


def test_missed_report_with_reasons_and_local_time(deps, program):
    seeded, first, _, _ = program
    report = reports.program_report(deps, seeded.program_id, "missed", "2026-03-01", "2026-03-15")
    assert report.title == "Missed meetings" and report.program_name == "Pilot"
    assert [row["occurrence_id"] for row in report.rows] == [first[1]]  # not the other program's miss
    row = report.rows[0]
    assert (row["mentor_name"], row["mentee_name"]) == ("Mina", "Ezra")
    assert row["start_utc"] == "2026-03-09T14:00:00Z"
    assert (row["start_local"], row["local_zone"]) == ("2026-03-09T15:00+01:00", "Europe/Berlin")
    assert row["reasons"] == ("Mina (mentor) answered “we didn't meet”; "
                              "No answer from Ezra (mentee) within 3 days")


def test_equal_access_and_recognition_count_the_range_only(deps, program):
    seeded, _, _, _ = program
    equal = reports.program_report(deps, seeded.program_id, "equal-access", "2026-03-01", "2026-03-15")
    assert [(r["mentee_name"], r["sessions_held"], r["minutes_held"], r["share_of_best_served"],
             r["mentor_least_served_share"]) for r in equal.rows] == [
        ("Ezra", 1, 45, 0.5, 0.5), ("Zoe", 2, 90, 1.0, 0.5)]
    recognition = reports.program_report(deps, seeded.program_id, "recognition", "2026-03-01", "2026-03-15")
    assert [(r["mentor_name"], r["sessions_held"], r["hours_mentored"], r["mentees_met"], r["mentees"])
            for r in recognition.rows] == [("Mina", 3, 2.25, 2, "Ezra; Zoe")]
    wider = reports.program_report(deps, seeded.program_id, "recognition", "2026-03-01", "2026-03-16")
    assert wider.rows[0]["sessions_held"] == 4  # the session at midnight on the 15th is in now


def test_the_default_range_is_the_last_30_days_by_the_clock(deps, program, clock):
    seeded, _, _, _ = program
    clock.current = datetime(2026, 3, 20, 23, 30, tzinfo=timezone.utc)
    report = reports.program_report(deps, seeded.program_id, "recognition")
    assert (report.range.start, report.range.end) == (date(2026, 2, 19), date(2026, 3, 21))
    assert report.rows[0]["sessions_held"] == 4
    page = reports.reports_page(deps, seeded.program_id)
    assert page.range == report.range and page.program_name == "Pilot"
    assert [k for k, _ in page.kinds] == ["missed", "equal-access", "recognition"]


def test_bad_input_says_what_is_wrong(deps, program):
    seeded, _, _, other_id = program
    with pytest.raises(reports.UnknownReport, match="the reports are: missed, equal-access, recognition"):
        reports.program_report(deps, seeded.program_id, "salaries")
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        reports.program_report(deps, seeded.program_id, "missed", "03/01/2026")
    with pytest.raises(reports.UnknownProgram):
        reports.program_report(deps, "no-such-program", "missed")
    empty = reports.program_report(deps, other_id, "equal-access", "2026-03-01", "2026-03-15")
    assert [r["mentee_name"] for r in empty.rows] == ["Zoe"]  # the other program sees only its own pair
