"""The reports over HTTP: the page with its date-range form, CSV and JSON downloads with their
content types, formula escaping of hostile names, clear 400s, and who may see them (a
coordinator of program A gets 403 for program B, pages and CSV alike)."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from adapters.storage.models import Occurrence, Person, Series
from tests.support.web import PageStructure, sign_in_as

HOSTILE_MENTOR = '=HYPERLINK("http://evil.example","click")'
HOSTILE_MENTEE = "@SUM(1+1)"
RANGE = "from=2026-03-01&to=2026-04-01"


def at(day: int) -> datetime:
    return datetime(2026, 3, day, 14, 0, tzinfo=timezone.utc)


@pytest.fixture
def sessions(container, seeded):
    """The seeded pair, renamed to hostile names: one session held (60 min), one missed (the
    mentee said they didn't meet); a held session in the other program that must never show."""
    with container.uow() as uow:
        s = uow.session
        s.get(Person, seeded.mentor_id).name = HOSTILE_MENTOR
        s.get(Person, seeded.mentee_id).name = HOSTILE_MENTEE
        s.get(Person, seeded.mentor_id).tz = "America/New_York"
        series = Series(pair_id=seeded.pair_id, rrule="FREQ=WEEKLY", dtstart_local="2026-03-02T14:00:00", tz="UTC",
                        duration_min=60, status="booked")
        other = Series(pair_id=seeded.other_pair_id, rrule="FREQ=WEEKLY", dtstart_local="2026-03-02T14:00:00",
                       tz="UTC", duration_min=60, status="booked")
        s.add_all([series, other])
        s.flush()
        held = Occurrence(series_id=series.id, original_start=at(2), start=at(2), end=at(2) + timedelta(hours=1),
                          attendance_verdict="held")
        missed = Occurrence(series_id=series.id, original_start=at(9), start=at(9), end=at(9) + timedelta(hours=1),
                            attendance_verdict="missed", attendance_signals=[
                                {"kind": "answer", "at": at(9).isoformat(), "by": "mentee", "detail": "not_met"}])
        elsewhere = Occurrence(series_id=other.id, original_start=at(3), start=at(3), end=at(3) + timedelta(hours=2),
                               attendance_verdict="held")
        s.add_all([held, missed, elsewhere])
        s.flush()
        ids = held.id, missed.id
        uow.commit()
    return ids


def _csv(reply) -> list[list[str]]:
    return list(csv.reader(io.StringIO(reply.get_data(as_text=True))))


def test_the_program_page_links_to_the_reports_page_with_its_form(client, seeded):
    sign_in_as(client, seeded.coordinator_id)
    program_page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    assert f'href="/programs/{seeded.program_id}/reports"' in program_page
    reply = client.get(f"/programs/{seeded.program_id}/reports?{RANGE}")
    page = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert 'name="from" value="2026-03-01"' in page and 'name="to" value="2026-04-01"' in page
    structure = PageStructure()
    structure.feed(page)
    assert structure.lang == "en" and structure.skip_link and structure.h1 == 1
    for control_id, wrapped, aria in structure.controls:
        assert wrapped or aria or (control_id and control_id in structure.label_for), control_id
    for kind in ("missed", "equal-access", "recognition"):
        assert f"/programs/{seeded.program_id}/reports/{kind}.csv?" in page
        assert f"/programs/{seeded.program_id}/reports/{kind}.json?" in page


def test_missed_csv_escapes_hostile_names_and_says_why(client, seeded, sessions):
    sign_in_as(client, seeded.coordinator_id)
    reply = client.get(f"/programs/{seeded.program_id}/reports/missed.csv?{RANGE}")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert reply.headers["Content-Disposition"] == 'attachment; filename="missed-2026-03-01-to-2026-04-01.csv"'
    header, *rows = _csv(reply)
    assert header[:4] == ["occurrence_id", "pair_id", "mentor_name", "mentor_email"]
    assert len(rows) == 1
    row = dict(zip(header, rows[0]))
    assert row["occurrence_id"] == sessions[1]
    assert row["mentor_name"] == "'" + HOSTILE_MENTOR and row["mentee_name"] == "'" + HOSTILE_MENTEE
    assert row["start_utc"] == "2026-03-09T14:00:00Z"
    assert (row["start_local"], row["local_zone"]) == ("2026-03-09T10:00-04:00", "America/New_York")
    assert row["reasons"] == f"'{HOSTILE_MENTEE} (mentee) answered “we didn't meet”"  # begins with the name
    for line in rows:
        for cell in line:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_equal_access_and_recognition_as_json_and_csv(client, seeded, sessions):
    sign_in_as(client, seeded.coordinator_id)
    reply = client.get(f"/programs/{seeded.program_id}/reports/equal-access.json?{RANGE}")
    assert reply.status_code == 200 and reply.mimetype == "application/json"
    body = reply.get_json()
    assert (body["report"], body["from"], body["to"]) == ("equal-access", "2026-03-01", "2026-04-01")
    assert body["program"] == {"id": seeded.program_id, "name": "Sandbox program"}
    assert [(i["mentor_name"], i["mentee_name"], i["minutes_held"], i["mentor_least_served_share"])
            for i in body["items"]] == [(HOSTILE_MENTOR, HOSTILE_MENTEE, 60, 1.0)]  # JSON keeps values as they are
    recognition = client.get(f"/programs/{seeded.program_id}/reports/recognition.csv?{RANGE}")
    header, *rows = _csv(recognition)
    assert header == ["mentor_id", "mentor_name", "mentor_email", "sessions_held", "minutes_held", "hours_mentored",
                      "mentees_met", "mentees"]
    assert rows == [[seeded.mentor_id, "'" + HOSTILE_MENTOR, "mentor@example.org", "1", "60", "1.0", "1",
                     "'" + HOSTILE_MENTEE]]
    as_json = client.get(f"/programs/{seeded.program_id}/reports/recognition.json?{RANGE}").get_json()
    assert as_json["columns"] == header and len(as_json["items"]) == 1


@pytest.mark.parametrize("query,says", [
    ("from=yesterday", "must be a date written YYYY-MM-DD"),
    ("from=2026-04-01&to=2026-03-01", "must be before"),
])
def test_a_bad_range_is_a_clear_400(client, seeded, query, says):
    sign_in_as(client, seeded.coordinator_id)
    for path in ("reports", "reports/missed.csv", "reports/recognition.json"):
        reply = client.get(f"/programs/{seeded.program_id}/{path}?{query}")
        assert reply.status_code == 400, path
        assert says in reply.get_data(as_text=True)


def test_an_unknown_report_or_program_is_404(client, seeded):
    sign_in_as(client, seeded.admin_id)
    assert client.get(f"/programs/{seeded.program_id}/reports/salaries.csv").status_code == 404
    assert client.get("/programs/nope/reports/missed.csv").status_code == 404


def test_a_coordinator_of_another_program_and_the_pair_get_403(client, seeded, sessions):
    sign_in_as(client, seeded.coordinator_id)
    for path in ("reports", "reports/missed.csv", "reports/equal-access.json", "reports/recognition.csv"):
        reply = client.get(f"/programs/{seeded.other_program_id}/{path}?{RANGE}")
        assert reply.status_code == 403, path
        assert "Max Mentor" not in reply.get_data(as_text=True) and "Olu" not in reply.get_data(as_text=True)
    for person in (seeded.mentor_id, seeded.mentee_id):
        sign_in_as(client, person)
        assert client.get(f"/programs/{seeded.program_id}/reports/missed.csv?{RANGE}").status_code == 403
        assert client.get(f"/programs/{seeded.program_id}/reports").status_code == 403
    sign_in_as(client, seeded.admin_id)
    other = client.get(f"/programs/{seeded.other_program_id}/reports/recognition.json?{RANGE}").get_json()
    assert [(i["minutes_held"], i["mentees"]) for i in other["items"]] == [(120, "Olu Other")]


def test_signed_out_readers_are_sent_to_sign_in(client, seeded):
    reply = client.get(f"/programs/{seeded.program_id}/reports/missed.csv")
    assert reply.status_code in (302, 303) and "sign" in reply.headers["Location"]
