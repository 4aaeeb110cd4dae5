"""Issue 15, Low 9 (unhandled 500s on bad input) and Low 10 (CR/LF in names, non-ASCII email
addresses accepted, then every email using them failed until dead): each is refused at input
with a clear message saying what to fix, or read correctly."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from adapters.storage.models import Pair, Person, Program
from tests.support.web import csrf_from, sign_in_as

HEADER = "mentor_email,mentor_name,mentee_email,mentee_name"


def _count(container, model, *where) -> int:
    with container.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def _import(client, seeded, text: str):
    token = sign_in_as(client, seeded.coordinator_id)
    return client.post(f"/programs/{seeded.program_id}/import", content_type="multipart/form-data", data={
        "csrf_token": token, "csv_file": (io.BytesIO(text.encode()), "pairs.csv")})


# --- Low 9: webhooks ------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    "{not json", "[1, 2]", '"a string"', '{"value": "not a list"}', '{"value": ["not an object"]}',
    '{"value": [{"clientState": 5}]}', '{"value": [{"clientState": ["x"], "resourceData": "x"}]}',
])
def test_malformed_graph_notifications_are_a_400_saying_what_is_expected(client, body):
    reply = client.post("/webhooks/microsoft", data=body, content_type="application/json")

    assert reply.status_code == 400
    assert "expected a JSON object with a \"value\" list of notification objects" in reply.get_data(as_text=True)


def test_a_notification_with_a_forged_state_and_odd_fields_is_refused_not_a_crash(client):
    body = {"value": [{"clientState": "forged", "resourceData": "not an object", "subscriptionId": 7}]}
    reply = client.post("/webhooks/microsoft", data=json.dumps(body), content_type="application/json")
    assert reply.status_code in (400, 403)


# --- Low 9: CSV -----------------------------------------------------------------------------
def test_a_csv_with_old_mac_line_endings_is_read(client, container, seeded):
    text = f"{HEADER}\rlena@example.org,Lena Lee,tom@example.org,Tom Tan\r"

    reply = _import(client, seeded, text)

    assert reply.status_code == 302
    assert _count(container, Person, Person.email == "tom@example.org") == 1


def test_a_csv_field_over_the_parsers_limit_is_a_400_naming_the_line(client, container, seeded):
    text = f"{HEADER}\nlena@example.org,{'L' * 140_000},tom@example.org,Tom\n"

    reply = _import(client, seeded, text)

    page = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert "Line 2:" in page and "longer than" in page and "closing quote" in page
    assert _count(container, Pair, Pair.program_id == seeded.program_id) == 1


def test_an_over_long_name_is_refused(client, seeded):
    reply = _import(client, seeded, f"{HEADER}\nlena@example.org,{'L' * 201},tom@example.org,Tom\n")
    assert reply.status_code == 400
    assert "Line 2: Mentor_name is longer than 200 characters" in reply.get_data(as_text=True)


# --- Low 9: a 5,000-character time zone -----------------------------------------------------
def test_a_five_thousand_character_time_zone_is_a_short_400(app, seeded):
    client = app.test_client()
    token = app.extensions["tandem.links"].sign("invite", {"p": seeded.mentor_id, "pair": seeded.pair_id})
    invitation = client.get(f"/invite/{token}").get_data(as_text=True)
    client.post(f"/invite/{token}", data={"csrf_token": csrf_from(invitation)})
    page = client.get("/onboarding").get_data(as_text=True)

    reply = client.post("/onboarding", data={"csrf_token": csrf_from(page), "tz": "A" * 5000, "preferred": "any",
                                             "day_mon": "on", "start_mon": "09:00", "end_mon": "17:00"})

    problems = reply.get_data(as_text=True).split('id="problems"')[1].split("</div>")[0]
    assert reply.status_code == 400
    assert "is not a time zone Tandem knows" in problems and "A" * 100 not in problems


# --- Low 10: CR/LF in names, non-ASCII addresses ----------------------------------------------
@pytest.mark.parametrize("name", ["Spring\r\nBcc: victim@example.org", "Spring\ncohort", "Spring\u2028cohort",
                                  "Spring\x00cohort"])
def test_a_program_name_with_a_line_break_or_control_character_is_refused(client, container, seeded, name):
    token = sign_in_as(client, seeded.coordinator_id)
    reply = client.post("/programs/new", data={
        "csrf_token": token, "name": name, "cadence": "weekly", "duration_min": "30", "session_count": "4",
        "horizon_weeks": "10", "reminder_offsets": "60", "repair_policy": "auto"})

    assert reply.status_code == 400
    assert "The program name must be one line of text" in reply.get_data(as_text=True)
    assert _count(container, Program) == 2  # the two seeded ones


def test_a_person_name_with_a_line_break_in_a_csv_is_refused(client, container, seeded):
    text = f'{HEADER}\nlena@example.org,"Lena\r\nBcc: x@example.org",tom@example.org,Tom\n'

    reply = _import(client, seeded, text)

    assert reply.status_code == 400
    assert "Mentor_name must be one line of text" in reply.get_data(as_text=True)
    assert _count(container, Person, Person.email == "lena@example.org") == 0


@pytest.mark.parametrize("address", ["jürgen@example.org", "lena@exämple.org", "δοκιμή@example.org"])
def test_a_non_ascii_email_address_is_refused_at_import(client, container, seeded, address):
    reply = _import(client, seeded, f"{HEADER}\n{address},Lena,tom@example.org,Tom\n")

    page = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert "Line 2: Mentor_email" in page and "only plain ASCII" in page
    assert _count(container, Person, Person.email == "tom@example.org") == 0


@pytest.mark.parametrize("address", ["jürgen@example.org", "lena@exämple.org", "ana@example.org\r\nBcc: x@example.org",
                                     "not an address@"])
def test_an_address_no_email_could_reach_is_refused_at_sign_in_and_nothing_is_queued(client, container, seeded,
                                                                                    address):
    from adapters.storage.models import Notification

    token = csrf_from(client.get("/signin").get_data(as_text=True))
    reply = client.post("/signin/email", data={"csrf_token": token, "email": address})
    assert reply.status_code == 302
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "Enter the email address your invitation was sent to." in page
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_a_five_thousand_character_tzid_in_a_calendar_file_is_a_short_refusal_not_a_crash():
    from datetime import datetime, timezone

    from scheduler.core.ics_busy import busy_from_ics
    from scheduler.errors import InvalidInput

    tzid = "A" * 5000
    ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:long-tz\r\n"
           f"DTSTART;TZID={tzid}:20260301T090000\r\nDTEND;TZID={tzid}:20260301T100000\r\n"
           "END:VEVENT\r\nEND:VCALENDAR\r\n")
    with pytest.raises(InvalidInput) as refused:
        busy_from_ics(ics, "f.ics", "UTC", datetime(2026, 3, 1, tzinfo=timezone.utc),
                      datetime(2026, 3, 2, tzinfo=timezone.utc))
    assert str(refused.value).startswith("f.ics: ") and len(str(refused.value)) < 400
