"""Every page checks who is asking: mentors and mentees never reach coordinator pages, a pair's
page is for its two people only, visitors are sent to sign in."""
from __future__ import annotations

import pytest

from tests.support.web import sign_in_as


def test_a_visitor_is_sent_to_sign_in(client, seeded):
    for path in ("/programs/", f"/programs/{seeded.program_id}", f"/pairs/{seeded.pair_id}", "/calendars/",
                 "/onboarding"):
        reply = client.get(path)
        assert reply.status_code == 302 and "/signin" in reply.headers["Location"], path


def test_a_mentor_cannot_open_coordinator_pages(client, seeded):
    token = sign_in_as(client, seeded.mentor_id)
    for path in ("/programs/", "/programs/new", f"/programs/{seeded.program_id}"):
        reply = client.get(path)
        assert reply.status_code == 403, path
        assert "Only the program&#39;s coordinators" in reply.get_data(as_text=True)
    reply = client.post(f"/programs/{seeded.program_id}/import", data={"csrf_token": token,
                                                                       "csv_text": "mentor_email,mentee_email\n"})
    assert reply.status_code == 403
    reply = client.post(f"/programs/{seeded.program_id}/invitations", data={"csrf_token": token})
    assert reply.status_code == 403


def test_a_mentee_cannot_open_another_pairs_page(client, seeded):
    sign_in_as(client, seeded.mentee_id)
    assert client.get(f"/pairs/{seeded.pair_id}").status_code == 200
    reply = client.get(f"/pairs/{seeded.other_pair_id}")
    assert reply.status_code == 403
    assert "belongs to another mentoring pair" in reply.get_data(as_text=True)


def test_a_mentee_cannot_act_on_another_pairs_sessions(client, seeded):
    token = sign_in_as(client, seeded.mentee_id)
    for path in (f"/pairs/{seeded.other_pair_id}/pause", f"/pairs/{seeded.other_pair_id}/goals"):
        assert client.post(path, data={"csrf_token": token, "text": "x"}).status_code == 403, path


def test_a_coordinator_sees_only_their_own_programs(client, seeded):
    sign_in_as(client, seeded.coordinator_id)
    assert client.get(f"/programs/{seeded.program_id}").status_code == 200
    assert client.get(f"/programs/{seeded.other_program_id}").status_code == 403
    listing = client.get("/programs/").get_data(as_text=True)
    assert "Sandbox program" in listing and "Another program" not in listing


def test_a_coordinator_cannot_read_a_pairs_private_page(client, seeded):
    sign_in_as(client, seeded.coordinator_id)
    assert client.get(f"/pairs/{seeded.pair_id}").status_code == 403


def test_an_admin_can_open_every_program(client, seeded):
    sign_in_as(client, seeded.admin_id)
    assert client.get(f"/programs/{seeded.other_program_id}").status_code == 200
    listing = client.get("/programs/").get_data(as_text=True)
    assert "Sandbox program" in listing and "Another program" in listing
