"""The coordinator's actions on the pair page: each a POST with CSRF, for the program's coordinators
(or an administrator), destructive ones confirmed, a flash saying what happened, the change in the
pair's timeline, and the people told."""
from __future__ import annotations

import pytest

from adapters.storage.models import Membership, Person
from tests.support.web import csrf_from, sign_in_as


@pytest.fixture
def booked(container, seeded):
    with container.uow() as uow:
        uow.pairs.get(seeded.pair_id).status = "booked"
        uow.commit()
    return seeded


def _path(seeded, action=""):
    base = f"/programs/{seeded.program_id}/pairs/{seeded.pair_id}"
    return f"{base}/{action}" if action else base


def _pair(container, pair_id):
    with container.uow() as uow:
        pair = uow.pairs.get(pair_id)
        return None if pair is None else (pair.status, [e["kind"] for e in pair.history])


def _member(container, program_id, email, name, role) -> str:
    with container.uow() as uow:
        person = Person(email=email, name=name)
        uow.session.add(person)
        uow.session.flush()
        uow.session.add(Membership(program_id=program_id, person_id=person.id, role=role))
        uow.commit()
        return person.id


def _emails_about(container, kind):
    """Who has an email of ``kind`` queued or sent."""
    from adapters.storage.models import Notification
    with container.uow() as uow:
        rows = uow.session.query(Notification).filter(Notification.kind == kind)
        return sorted(uow.people.get(n.person_id).email for n in rows)


def test_pause_and_resume_from_the_pair_page(client, container, booked):
    token = sign_in_as(client, booked.coordinator_id)
    page = client.get(_path(booked)).get_data(as_text=True)
    assert 'id="action-pause"' in page and 'id="action-plan-again"' in page and 'id="action-resume"' not in page
    assert client.post(_path(booked, "pause")).status_code == 400  # no form token
    assert _pair(container, booked.pair_id) == ("booked", [])
    reply = client.post(_path(booked, "pause"), data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    text = reply.get_data(as_text=True)
    assert reply.status_code == 200 and "The pair is paused" in text
    assert 'id="pair-changes"' in text and "Paused by Cora Coordinator" in text and 'id="action-resume"' in text
    assert _pair(container, booked.pair_id) == ("paused", ["paused"])
    assert _emails_about(container, "paused") == ["mentee@example.org", "mentor@example.org"]
    reply = client.post(_path(booked, "resume"), data={"csrf_token": token}, follow_redirects=True)
    assert "The pair is resumed" in reply.get_data(as_text=True)
    assert _pair(container, booked.pair_id) == ("ready", ["paused", "resumed"])
    reply = client.post(_path(booked, "resume"), data={"csrf_token": token}, follow_redirects=True)
    assert "Nothing changed: Only a paused pair can be resumed." in reply.get_data(as_text=True)


def test_ending_needs_its_box_ticked(client, container, booked):
    token = sign_in_as(client, booked.coordinator_id)
    reply = client.post(_path(booked, "end"), data={"csrf_token": token}, follow_redirects=True)
    assert "tick the box to confirm" in reply.get_data(as_text=True)
    assert _pair(container, booked.pair_id)[0] == "booked"
    reply = client.post(_path(booked, "end"), data={"csrf_token": token, "confirm": "yes"}, follow_redirects=True)
    assert "The pair has ended" in reply.get_data(as_text=True)
    assert _pair(container, booked.pair_id) == ("ended", ["ended"])


def test_change_mentor_lands_on_the_new_pair(client, container, booked):
    nora_id = _member(container, booked.program_id, "nora@example.org", "Nora New", "mentor")
    token = sign_in_as(client, booked.coordinator_id)
    page = client.get(_path(booked)).get_data(as_text=True)
    assert f'<option value="{nora_id}">Nora New (nora@example.org)</option>' in page
    reply = client.post(_path(booked, "change-mentor"), data={"csrf_token": token, "mentor_id": nora_id,
                                                              "confirm": "yes"})
    assert reply.status_code == 302
    new_page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "<h1>Nora New & Mia Mentee</h1>" in new_page
    assert "Nora New is Mia Mentee&#39;s mentor now" in new_page and "Took over from Max Mentor" in new_page
    assert _pair(container, booked.pair_id) == ("ended", ["mentor_changed"])
    reply = client.post(_path(booked, "change-mentor"), data={"csrf_token": token, "mentor_id": nora_id,
                                                              "confirm": "yes"}, follow_redirects=True)
    assert "Nothing changed: This pair has ended" in reply.get_data(as_text=True)


def test_remove_asks_first_then_the_pair_leaves_the_program(client, container, booked):
    token = sign_in_as(client, booked.coordinator_id)
    confirm = client.get(_path(booked, "remove"))
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Remove Max Mentor & Mia Mentee from Sandbox program?" in text
    reply = client.post(_path(booked, "remove"), data={"csrf_token": token})
    assert reply.status_code == 302 and reply.headers["Location"].endswith(_path(booked, "remove"))
    assert _pair(container, booked.pair_id)[0] == "booked"
    reply = client.post(_path(booked, "remove"), data={"csrf_token": token, "confirm": "yes"})
    assert reply.status_code == 302 and reply.headers["Location"].endswith(f"/programs/{booked.program_id}")
    assert "are removed from the program" in client.get(reply.headers["Location"]).get_data(as_text=True)
    assert _pair(container, booked.pair_id) == ("ended", ["removed"])
    assert _emails_about(container, "pair_removed") == ["mentee@example.org", "mentor@example.org"]


def test_only_the_programs_coordinators_and_admins_may_act(client, container, booked):
    other_id = _member(container, booked.other_program_id, "other-coordinator@example.org", "Otto Other",
                       "coordinator")
    for person_id in (other_id, booked.mentor_id, booked.mentee_id):
        token = sign_in_as(client, person_id)
        for action in ("pause", "plan-again", "end", "remove"):
            reply = client.post(_path(booked, action), data={"csrf_token": token, "confirm": "yes"})
            assert reply.status_code == 403, (person_id, action)
    token = sign_in_as(client, other_id)  # their program, this pair: not found
    reply = client.post(f"/programs/{booked.other_program_id}/pairs/{booked.pair_id}/pause",
                        data={"csrf_token": token})
    assert reply.status_code == 404
    assert _pair(container, booked.pair_id) == ("booked", [])
    token = sign_in_as(client, booked.admin_id)
    assert client.post(_path(booked, "pause"), data={"csrf_token": token}).status_code == 302
    assert _pair(container, booked.pair_id)[0] == "paused"
    assert client.post(_path(booked, "explode"), data={"csrf_token": token}).status_code == 404


def test_the_program_page_turns_at_risk_alerts_on_and_off(client, container, seeded):
    token = sign_in_as(client, seeded.coordinator_id)
    page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    assert 'id="at_risk_alerts">' in page  # off by default
    url = f"/programs/{seeded.program_id}/alerts"
    assert client.post(url, data={"at_risk_alerts": "on"}).status_code == 400  # no form token
    reply = client.post(url, data={"csrf_token": token, "at_risk_alerts": "on"}, follow_redirects=True)
    text = reply.get_data(as_text=True)
    assert "as soon as a pair becomes at risk" in text and 'id="at_risk_alerts" checked' in text
    with container.uow() as uow:
        assert uow.programs.get(seeded.program_id).at_risk_alerts is True
    reply = client.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert "Immediate at-risk alerts are off" in reply.get_data(as_text=True)
    token = sign_in_as(client, seeded.mentor_id)
    assert client.post(url, data={"csrf_token": token, "at_risk_alerts": "on"}).status_code == 403
    with container.uow() as uow:
        assert uow.programs.get(seeded.program_id).at_risk_alerts is False
