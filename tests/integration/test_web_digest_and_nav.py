"""The weekly digest's settings (the checkbox on the Programs page, the signed one-click
unsubscribe link) and role-aware navigation and home page, per role."""
from __future__ import annotations

import re

from scheduler.core.entities import Membership, Pair, Person
from tests.support.web import sign_in_as


def _opted_out(container, person_id: str) -> bool:
    with container.uow() as uow:
        return uow.people.get(person_id).digest_opt_out


def _nav(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S).group(1)
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav)


def test_a_coordinator_turns_the_digest_off_and_on_with_the_checkbox(client, seeded, container):
    token = sign_in_as(client, seeded.coordinator_id)
    page = client.get("/programs/").get_data(as_text=True)
    assert 'id="digest-settings"' in page and re.search(r'name="digest" value="on"\s+checked', page)
    reply = client.post("/programs/digest", data={"csrf_token": token}, follow_redirects=True)
    assert reply.status_code == 200 and "The weekly digest is off" in reply.get_data(as_text=True)
    assert _opted_out(container, seeded.coordinator_id) is True
    assert not re.search(r'name="digest" value="on"\s+checked', reply.get_data(as_text=True))
    reply = client.post("/programs/digest", data={"csrf_token": token, "digest": "on"}, follow_redirects=True)
    assert "You will get the weekly digest every Monday" in reply.get_data(as_text=True)
    assert _opted_out(container, seeded.coordinator_id) is False


def test_the_digest_form_needs_csrf_and_a_coordinator(client, seeded, container):
    sign_in_as(client, seeded.coordinator_id)
    assert client.post("/programs/digest", data={}).status_code in (400, 403)
    assert _opted_out(container, seeded.coordinator_id) is False
    token = sign_in_as(client, seeded.mentee_id)
    assert client.post("/programs/digest", data={"csrf_token": token}).status_code == 403


def test_the_signed_link_stops_the_digest_with_one_click(client, seeded, container):
    link_token = container.links.sign("digest_unsubscribe", {"p": seeded.coordinator_id})
    page = client.get(f"/digest/unsubscribe/{link_token}")  # opening it (a mail scanner) changes nothing
    assert page.status_code == 200 and "Stop the weekly digest" in page.get_data(as_text=True)
    assert _opted_out(container, seeded.coordinator_id) is False
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    done = client.post(f"/digest/unsubscribe/{link_token}", data={"csrf_token": csrf})
    assert done.status_code == 200 and "coordinator@example.org will no longer get it" in done.get_data(as_text=True)
    assert _opted_out(container, seeded.coordinator_id) is True


def test_a_tampered_or_foreign_link_is_refused_clearly(client, seeded, container):
    reply = client.get("/digest/unsubscribe/not-a-token")
    assert reply.status_code == 400 and "not valid" in reply.get_data(as_text=True)
    feedback_token = container.links.sign("feedback", {"p": seeded.coordinator_id})  # another purpose
    assert client.get(f"/digest/unsubscribe/{feedback_token}").status_code == 400


def test_a_coordinator_without_pairs_sees_programs_not_the_mentee_pages(client, seeded):
    sign_in_as(client, seeded.coordinator_id)
    home = client.get("/").get_data(as_text=True)
    assert _nav(home) == ["Programs"]
    assert "Your coordinator will send you an invitation" not in home
    assert "My mentoring pairs" not in home
    assert "You coordinate 1 program:" in home and 'href="/programs/"' in home


def test_a_mentee_sees_their_pages_and_not_programs(client, seeded):
    sign_in_as(client, seeded.mentee_id)
    home = client.get("/").get_data(as_text=True)
    assert _nav(home) == ["My sessions", "Calendars", "My hours"]
    assert "My mentoring pairs" in home and "Programs" not in home


def test_someone_invited_before_their_pair_exists_is_told_an_invitation_comes(client, container):
    with container.uow() as uow:
        person = Person(email="new@example.org", name="Nia New")
        uow.session.add(person)
        uow.commit()
        person_id = person.id
    sign_in_as(client, person_id)
    home = client.get("/").get_data(as_text=True)
    assert _nav(home) == ["My sessions", "Calendars", "My hours"]
    assert "Your coordinator will send you an invitation" in home


def test_an_admin_without_pairs_sees_programs_only(client, seeded):
    sign_in_as(client, seeded.admin_id)
    home = client.get("/").get_data(as_text=True)
    assert _nav(home) == ["Programs"]
    assert "Your coordinator will send you an invitation" not in home
    assert "you see every program" in home


def test_a_coordinator_who_is_also_a_mentor_sees_both(client, seeded, container):
    with container.uow() as uow:
        mentee = Person(email="pia@example.org", name="Pia")
        uow.session.add(mentee)
        uow.session.flush()
        uow.session.add_all([Membership(program_id=seeded.program_id, person_id=mentee.id, role="mentee"),
                             Pair(program_id=seeded.program_id, mentor_id=seeded.coordinator_id,
                                  mentee_id=mentee.id)])
        uow.commit()
    sign_in_as(client, seeded.coordinator_id)
    home = client.get("/").get_data(as_text=True)
    assert _nav(home) == ["My sessions", "Calendars", "My hours", "Programs"]
    assert "My mentoring pairs" in home and "with Pia" in home
