"""Coordinator pages: create a program, import pairs from CSV (all or nothing, errors per line),
send invitations once, and see each pair's state."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from adapters.storage.models import AgendaTemplate, Membership, Notification, OutboxMessage, Pair, Person, Program
from tests.support.web import csrf_from, sign_in_as
from web import create_app

GOOD_CSV = ("mentor_email,mentor_name,mentee_email,mentee_name\n"
            "lena@example.org,Lena Lee,tom@example.org,Tom Tan\n"
            "lena@example.org,Lena Lee,ravi@example.org,Ravi Rao\n")


def _count(container, model, *where) -> int:
    with container.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_coordinator_creates_a_program_with_templates(client, container, seeded):
    token = sign_in_as(client, seeded.coordinator_id)
    reply = client.post("/programs/new", data={
        "csrf_token": token, "name": "Spring cohort", "cadence": "weekly", "duration_min": "30",
        "session_count": "8", "horizon_weeks": "10", "reminder_offsets": "60, 1440", "repair_policy": "propose",
        "allow_pair_cadence": "on", "templates": "Kick-off\nMeet each other\n\nGoals\nAgree goals"})
    assert reply.status_code == 302
    with container.uow() as uow:
        program = uow.session.scalar(select(Program).where(Program.name == "Spring cohort"))
        assert (program.cadence, program.duration_min, program.session_count, program.horizon_weeks) == ("weekly", 30, 8, 10)
        assert program.reminder_offsets_min == [1440, 60] and program.repair_policy == "propose"
        assert program.allow_pair_cadence is True
        assert [(t.name, t.body) for t in uow.session.scalars(
            select(AgendaTemplate).where(AgendaTemplate.program_id == program.id).order_by(AgendaTemplate.position))] \
            == [("Kick-off", "Meet each other"), ("Goals", "Agree goals")]
        assert uow.session.scalar(select(Membership.role).where(Membership.program_id == program.id,
                                                                Membership.person_id == seeded.coordinator_id)) == "coordinator"


def test_an_invalid_program_form_says_what_to_fix(client, container, seeded):
    token = sign_in_as(client, seeded.coordinator_id)
    reply = client.post("/programs/new", data={"csrf_token": token, "name": "", "cadence": "weekly",
                                               "duration_min": "500", "session_count": "20", "horizon_weeks": "4",
                                               "reminder_offsets": "soon"})
    page = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert "Give the program a name." in page
    assert "Session length must be between 15 and 180 minutes." in page
    assert "raise the horizon or lower the number of sessions" in page
    assert "is not a whole number of minutes" in page
    assert _count(container, Program) == 2  # the two seeded ones


def test_importing_a_good_csv_creates_people_memberships_and_pairs(client, container, seeded):
    token = sign_in_as(client, seeded.coordinator_id)
    reply = client.post(f"/programs/{seeded.program_id}/import", content_type="multipart/form-data", data={
        "csrf_token": token, "csv_file": (io.BytesIO(GOOD_CSV.encode()), "pairs.csv")})
    assert reply.status_code == 302
    assert _count(container, Pair, Pair.program_id == seeded.program_id) == 3
    assert _count(container, Person, Person.email == "lena@example.org") == 1
    assert _count(container, Membership, Membership.program_id == seeded.program_id, Membership.role == "mentor") == 2
    page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    assert "Lena Lee" in page and "Ravi Rao" in page and "Invited" in page


def test_a_csv_with_bad_rows_imports_nothing_and_lists_every_problem(client, container, seeded):
    token = sign_in_as(client, seeded.coordinator_id)
    bad = ("mentor_email,mentor_name,mentee_email,mentee_name\n"
           "lena@example.org,Lena,tom@example.org,Tom\n"
           "not-an-email,X,ravi@example.org,Ravi\n"
           "lena@example.org,Lena,lena@example.org,Lena\n"
           "lena@example.org,Lena,tom@example.org,Tom\n"
           "mentor@example.org,Max,mentee@example.org,Mia\n")
    reply = client.post(f"/programs/{seeded.program_id}/import", content_type="multipart/form-data", data={
        "csrf_token": token, "csv_file": (io.BytesIO(bad.encode()), "pairs.csv")})
    page = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert "Nothing was imported" in page
    assert "Line 3: Mentor_email &#39;not-an-email&#39; is not an email address." in page
    assert "Line 4: Mentor and mentee are the same person." in page
    assert "Line 5: The same pair is already on line 2." in page
    assert "Line 6: mentor@example.org and mentee@example.org are already a pair" in page
    assert _count(container, Pair, Pair.program_id == seeded.program_id) == 1
    assert _count(container, Person, Person.email == "tom@example.org") == 0


def test_a_csv_without_the_right_header_is_refused(client, container, seeded):
    token = sign_in_as(client, seeded.coordinator_id)
    reply = client.post(f"/programs/{seeded.program_id}/import", content_type="multipart/form-data", data={
        "csrf_token": token, "csv_file": (io.BytesIO(b"mentor,mentee\na@x.org,b@x.org\n"), "pairs.csv")})
    assert reply.status_code == 400
    assert "Line 1: The header is missing column(s) mentor_email, mentee_email" in reply.get_data(as_text=True)


def test_invitations_are_queued_once_with_signed_links(client, container, seeded):
    token = sign_in_as(client, seeded.coordinator_id)
    client.post(f"/programs/{seeded.program_id}/invitations", data={"csrf_token": token})
    client.post(f"/programs/{seeded.program_id}/invitations", data={"csrf_token": token})
    with container.uow() as uow:
        rows = list(uow.session.scalars(select(Notification).where(Notification.kind == "invitation")))
        assert sorted(n.person_id for n in rows) == sorted([seeded.mentor_id, seeded.mentee_id])
        assert all(n.payload["join_url"].startswith("http://127.0.0.1:5000/invite/") for n in rows)
        assert {n.payload["coordinator_name"] for n in rows} == {"Cora Coordinator"}
        assert {n.payload["program_name"] for n in rows} == {"Sandbox program"}
        delivery = uow.session.scalar(select(func.count()).select_from(OutboxMessage)
                                      .where(OutboxMessage.kind == "deliver_notification"))
        assert delivery == 2
        link = rows[0].payload["join_url"].removeprefix("http://127.0.0.1:5000")
    fresh = create_app(container=container).test_client()
    page = fresh.get(link)
    assert page.status_code == 200
    reply = fresh.post(link, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/onboarding")


def test_people_who_have_not_set_up_can_be_reminded_once_a_day(client, container, seeded):
    from datetime import datetime, timezone

    token = sign_in_as(client, seeded.coordinator_id)
    client.post(f"/programs/{seeded.program_id}/invitations", data={"csrf_token": token})
    with container.uow() as uow:  # the mentor sets up; the mentee does not
        mentor = uow.session.get(Person, seeded.mentor_id)
        mentor.tz, mentor.working_hours = "Europe/Berlin", {"mon": [["09:00", "17:00"]]}
        mentor.onboarded_at = datetime(2026, 1, 1, tzinfo=timezone.utc)
        uow.commit()
    reply = client.post(f"/programs/{seeded.program_id}/invitations", data={"csrf_token": token, "again": "1"},
                        follow_redirects=True)
    assert "1 reminder(s) with a fresh link" in reply.get_data(as_text=True)
    client.post(f"/programs/{seeded.program_id}/invitations", data={"csrf_token": token, "again": "1"})
    with container.uow() as uow:
        rows = list(uow.session.scalars(select(Notification).where(Notification.kind == "invitation")))
        again = [n for n in rows if ":again:" in n.idempotency_key]
        assert [n.person_id for n in again] == [seeded.mentee_id]  # once, and only to who is not set up
        assert again[0].payload["join_url"].startswith("http://127.0.0.1:5000/invite/")


def test_a_pair_of_people_already_set_up_is_ready_once_the_newcomer_to_the_program_accepts(client, container, seeded):
    from datetime import datetime, timezone

    with container.uow() as uow:
        for person_id in (seeded.mentor_id, seeded.mentee_id):
            person = uow.session.get(Person, person_id)
            person.tz, person.working_hours = "Europe/Berlin", {"mon": [["09:00", "17:00"]]}
            person.onboarded_at = datetime(2026, 1, 1, tzinfo=timezone.utc)
        uow.commit()
    token = sign_in_as(client, seeded.admin_id)
    client.post(f"/programs/{seeded.other_program_id}/import", content_type="multipart/form-data", data={
        "csrf_token": token, "csv_file": (io.BytesIO(b"mentor_email,mentee_email\nmentor@example.org,mentee@example.org\n"),
                                          "pairs.csv")})
    with container.uow() as uow:
        pair = uow.session.scalar(select(Pair).where(Pair.program_id == seeded.other_program_id,
                                                     Pair.mentee_id == seeded.mentee_id))
        assert pair.status == "invited"  # the mentee is new to this program: asked first (issue 15, High 3)
        pair_id = pair.id
    token = sign_in_as(client, seeded.mentee_id)
    assert client.post(f"/programs/{seeded.other_program_id}/join",
                       data={"csrf_token": token, "answer": "accept"}).status_code == 302
    with container.uow() as uow:
        pair = uow.session.get(Pair, pair_id)
        assert pair.status == "ready"
        assert uow.session.scalar(select(OutboxMessage.idempotency_key).where(
            OutboxMessage.kind == "plan_pair", OutboxMessage.subject_id == pair.id)) == f"plan_pair:{pair.id}:1"


def test_the_overview_lists_pairs_still_setting_up_and_the_dashboard_counts_every_pair(client, container, seeded):
    # the page changed with the dashboard's SQL pairs table: "Pairs at a glance" listed every pair;
    # "Pairs setting up" lists those not booked yet (booked ones are in the pairs table above)
    with container.uow() as uow:
        uow.session.get(Pair, seeded.pair_id).status = "booked"
        uow.session.add(Pair(program_id=seeded.program_id, mentor_id=seeded.admin_id, mentee_id=seeded.other_mentee_id,
                             status="unschedulable", status_reason="No mutual time: Olu works nights."))
        uow.commit()
    sign_in_as(client, seeded.coordinator_id)
    page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    setting_up = page[page.index("<h2>Pairs setting up</h2>"):]
    assert "No mutual time: Olu works nights." in setting_up and f'data-pair="{seeded.pair_id}"' not in setting_up
    assert "Booked: 1" in page and "No common time found: 1" in page
    assert page.count("<tr", page.index('id="dashboard-pairs"'), page.index("<h2>Pairs setting up</h2>")) == 3


def test_work_that_kept_failing_is_shown_on_the_program_page(client, container, seeded):
    from datetime import datetime, timezone

    from adapters.storage.outbox import add_outbox

    with container.uow() as uow:
        add_outbox(uow.session, "plan_pair", seeded.pair_id, "plan_pair:test", datetime.now(timezone.utc))
        row = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == "plan_pair:test")).one()
        row.status, row.attempts, row.last_error = "dead", 8, "ReconnectNeeded: Google access was revoked"
        uow.commit()
    sign_in_as(client, seeded.coordinator_id)
    page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    assert 'id="failed-work"' in page
    assert "planning the sessions" in page and "Google access was revoked" in page


def test_a_mentor_with_two_mentees_gets_one_invitation_naming_both(client, container, seeded):
    token = sign_in_as(client, seeded.coordinator_id)
    client.post(f"/programs/{seeded.program_id}/import", content_type="multipart/form-data", data={
        "csrf_token": token, "csv_file": (io.BytesIO(GOOD_CSV.encode()), "pairs.csv")})
    client.post(f"/programs/{seeded.program_id}/invitations", data={"csrf_token": token})
    client.post(f"/programs/{seeded.program_id}/invitations", data={"csrf_token": token})
    with container.uow() as uow:
        lena = uow.session.scalar(select(Person).where(Person.email == "lena@example.org"))
        rows = list(uow.session.scalars(select(Notification).where(Notification.person_id == lena.id)))
        emails = [n for n in rows if n.status == "pending"]
        assert len(emails) == 1 and len(rows) == 2  # one email; the second pair is marked as named in it
        assert sorted(p["other_name"] for p in emails[0].payload["pairs"]) == ["Ravi Rao", "Tom Tan"]
        ids = [n.id for n in rows]
    assert _count(container, OutboxMessage, OutboxMessage.subject_id.in_(ids)) == 1


def test_wide_tables_scroll_in_a_labelled_region_and_stack_on_narrow_screens(client, container, seeded):
    import re

    sign_in_as(client, seeded.coordinator_id)
    page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    wrapper = re.search(r'<div class="table-wrap"([^>]*)>\s*<table id="pairs" class="stack">', page)
    assert wrapper, "the pairs table sits in its own scroll region"
    assert 'role="region"' in wrapper[1] and 'tabindex="0"' in wrapper[1]
    assert re.search(r'aria-label="Pairs of [^"]+"', wrapper[1])
    for label in ("Mentor", "Mentee", "State", "Details"):
        assert f'data-label="{label}"' in page
    reply = client.get("/static/tandem.css")
    css = reply.get_data(as_text=True)
    reply.close()
    narrow = css[css.index("@media (max-width: 40rem)"):]
    assert "table.stack tr" in narrow and "attr(data-label)" in narrow
    assert re.search(r"\.table-wrap \{[^}]*overflow-x: auto", css)


def test_a_failure_box_words_errors_for_people_and_clears_after_a_reconnect(client, container, seeded):
    from datetime import datetime, timedelta, timezone

    from adapters.storage.models import CalendarConnection
    from scheduler.services.connections import store_connection

    failed_at = datetime.now(timezone.utc) - timedelta(hours=1)
    with container.uow() as uow:
        for conn in uow.session.scalars(select(CalendarConnection).where(
                CalendarConnection.person_id == seeded.mentor_id)):
            conn.status = "reconnect_needed"
        uow.session.add(CalendarConnection(person_id=seeded.mentor_id, provider="memory",
                                           account_email="max@example.org", status="reconnect_needed"))
        uow.session.add(OutboxMessage(kind="plan_pair", subject_id=seeded.pair_id, idempotency_key="plan_pair:gone",
                                      status="dead", attempts=8, due_at=failed_at, enqueued_at=failed_at,
                                      last_error="ReconnectNeeded: Google access was revoked"))
        uow.commit()
    sign_in_as(client, seeded.coordinator_id)
    page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    assert 'id="failed-work"' in page and "Google access was revoked" in page
    assert "ReconnectNeeded" not in page and "must reconnect it on their Calendars page" in page
    with container.uow() as uow:  # every other calendar of the mentor is fine again
        for conn in uow.session.scalars(select(CalendarConnection).where(
                CalendarConnection.person_id == seeded.mentor_id, CalendarConnection.provider != "memory")):
            conn.status = "ok"
        uow.commit()
    store_connection(container, seeded.mentor_id, "memory", "max@example.org", {"tz": "UTC"})
    page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    assert 'id="failed-work"' not in page


def test_a_coordinator_edits_the_programs_settings(client, container, seeded):
    token = sign_in_as(client, seeded.coordinator_id)
    page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    assert f'href="/programs/{seeded.program_id}/settings"' in page
    form = client.get(f"/programs/{seeded.program_id}/settings").get_data(as_text=True)
    with container.uow() as uow:
        program = uow.session.get(Program, seeded.program_id)
        name, cadence = program.name, program.cadence
    assert f'value="{name}"' in form and f'<option value="{cadence}" selected>' in form
    reply = client.post(f"/programs/{seeded.program_id}/settings", data={
        "csrf_token": token, "name": name, "cadence": "weekly", "duration_min": "30", "session_count": "6",
        "horizon_weeks": "12", "reminder_offsets": "120", "repair_policy": "notify", "attendance_window_days": "5",
        "mentor_max_sessions_per_week": "2", "templates": "Kick-off\nMeet each other"})
    assert reply.status_code == 302
    assert "Saved:" in client.get(reply.headers["Location"]).get_data(as_text=True)
    with container.uow() as uow:
        program = uow.session.get(Program, seeded.program_id)
        assert (program.cadence, program.duration_min, program.reminder_offsets_min, program.repair_policy,
                program.attendance_window_days, program.mentor_max_sessions_per_week) == \
            ("weekly", 30, [120], "notify", 5, 2)
    refused = client.post(f"/programs/{seeded.program_id}/settings", data={
        "csrf_token": token, "name": name, "cadence": "weekly", "duration_min": "30", "session_count": "40",
        "horizon_weeks": "4", "reminder_offsets": "120", "repair_policy": "notify", "attendance_window_days": "5"})
    assert refused.status_code == 400 and "raise the horizon" in refused.get_data(as_text=True)
    assert client.post(f"/programs/{seeded.program_id}/settings", data={"name": "x"}).status_code == 400  # no CSRF


def test_only_the_programs_coordinators_edit_its_settings(app, container, seeded):
    for person, program_id in ((seeded.mentor_id, seeded.program_id), (seeded.coordinator_id, seeded.other_program_id)):
        client = app.test_client()
        token = sign_in_as(client, person)
        assert client.get(f"/programs/{program_id}/settings").status_code == 403
        assert client.post(f"/programs/{program_id}/settings", data={"csrf_token": token, "name": "Taken"}).status_code == 403
    with container.uow() as uow:
        assert "Taken" not in {p.name for p in uow.session.scalars(select(Program))}
    admin = app.test_client()
    sign_in_as(admin, seeded.admin_id)
    assert admin.get(f"/programs/{seeded.other_program_id}/settings").status_code == 200
    assert admin.get("/programs/no-such-program/settings").status_code == 404
