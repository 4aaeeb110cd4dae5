"""Coordinator use cases on the in-memory unit of work: programs, CSV import, invitations, pages."""
from __future__ import annotations

import pytest

from adapters.links import LinkSigner
from scheduler.core.entities import CalendarConnection, OutboxMessage, Person
from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies
from scheduler.services import consent, programs
from scheduler.services.links import invitation_of_link
from tests.unit.services.booked import T0, WORKDAY


def _link(person_id: str, pair_id: str) -> str:
    return f"https://tandem.example/invite/{person_id}/{pair_id}"


def test_a_program_is_created_with_its_templates_and_its_coordinator(deps):
    spec = programs.ProgramSpec(name="  Spring  ", cadence="weekly", session_count=4,
                                templates=(("Kick-off", "Goals"), ("Check-in", "Progress")))
    created = programs.create_program(deps, "coord-1", spec)
    assert created.name == "Spring"
    with deps.uow() as uow:
        program = uow.programs.get(created.id)
        assert [(t.name, t.position) for t in program.agenda_templates] == [("Kick-off", 0), ("Check-in", 1)]
        assert uow.memberships.coordinator_ids(created.id) == ["coord-1"]
    assert [p.id for p in programs.programs_for_coordinator(deps, "coord-1")] == [created.id]
    assert programs.programs_for_coordinator(deps, "someone-else") == []
    assert [p.name for p in programs.programs_for_coordinator(deps, "someone-else", is_admin=True)] == ["Spring"]


def test_a_bad_program_spec_is_refused_and_nothing_is_stored(deps):
    with pytest.raises(InvalidInput, match="Give the program a name"):
        programs.create_program(deps, "coord-1", programs.ProgramSpec(name=" "))
    assert programs.programs_for_coordinator(deps, "x", is_admin=True) == []


def test_importing_pairs_creates_people_and_makes_set_up_pairs_ready_once_accepted(deps, seed):
    s = seed()
    with deps.uow() as uow:  # someone who already uses Tandem, with hours
        uow.people.add(Person(email="old@example.org", name="Olga", tz="UTC", working_hours=WORKDAY, onboarded_at=T0))
        uow.commit()
    text = "mentor_email,mentee_email,mentee_name\nmentor@example.org,new@example.org,Nia\n" \
           "old@example.org,mentee@example.org,\n"
    result = programs.import_pairs_csv(deps, s.program_id, text)
    assert result.ok and (result.pairs_created, result.people_created) == (2, 1)
    with deps.uow() as uow:
        pairs = {(p.mentor.email, p.mentee.email): p for p in uow.pairs.of_program(s.program_id)}
        assert pairs[("mentor@example.org", "new@example.org")].status == "invited"
        ready = pairs[("old@example.org", "mentee@example.org")]
        assert ready.status == "invited"  # Olga already uses Tandem: she is asked first
        olga = uow.people.by_email("old@example.org").id
    assert consent.accept_program(deps, olga, s.program_id) == [ready.id]
    with deps.uow() as uow:
        assert uow.pairs.get(ready.id).status == "ready"
        assert uow.outbox.count_with_key_prefix(f"plan_pair:{ready.id}:") == 1
        assert uow.people.by_email("new@example.org").name == "Nia"


def test_an_import_with_a_bad_row_writes_nothing(deps, seed):
    s = seed()
    text = "mentor_email,mentee_email\na@x.org,b@x.org\nmentor@example.org,mentee@example.org\n"
    result = programs.import_pairs_csv(deps, s.program_id, text)
    assert [(e.line, "already a pair" in e.message) for e in result.errors] == [(3, True)]
    with deps.uow() as uow:
        assert uow.people.by_email("a@x.org") is None
        assert len(uow.pairs.of_program(s.program_id)) == 1


def test_importing_into_a_missing_program_is_refused(deps):
    with pytest.raises(programs.UnknownProgram):
        programs.import_pairs_csv(deps, "nope", "mentor_email,mentee_email\na@x.org,b@x.org\n")


def test_invitations_are_queued_once_per_person_and_pair(deps, seed, clock):
    s = seed()
    assert programs.send_invitations(deps, s.program_id, _link, "Cora") == 2
    assert programs.send_invitations(deps, s.program_id, _link, "Cora") == 0
    with deps.uow() as uow:
        assert uow.notifications.has_key(f"invitation:{s.pair_id}:{s.mentor_id}")
        notification = next(n for n in uow.notifications.all() if n.person_id == s.mentee_id)
        assert notification.payload["join_url"] == _link(s.mentee_id, s.pair_id)
        assert notification.payload["other_name"] == "Mina"
        assert uow.outbox.count_with_key_prefix(f"deliver:{notification.id}") == 1


def test_a_nudge_goes_only_to_people_not_set_up_and_once_a_day(deps, seed, clock):
    s = seed()
    with deps.uow() as uow:
        uow.people.get(s.mentee_id).onboarded_at = None
        uow.commit()
    assert programs.send_invitations(deps, s.program_id, _link, again=True) == 0  # never invited yet
    programs.send_invitations(deps, s.program_id, _link)
    assert programs.send_invitations(deps, s.program_id, _link, again=True) == 1  # only the mentee
    assert programs.send_invitations(deps, s.program_id, _link, again=True) == 0
    clock.advance(days=1)
    assert programs.send_invitations(deps, s.program_id, _link, again=True) == 1
    with deps.uow() as uow:
        assert uow.notifications.has_key(f"invitation:{s.pair_id}:{s.mentee_id}:again:2026-03-03")


def test_the_program_page_puts_pairs_needing_attention_first_and_shows_failed_work(deps, seed):
    s = seed()
    with deps.uow() as uow:
        uow.connections.add(CalendarConnection(person_id=s.mentor_id, provider="google", account_email="m@x.org",
                                               status="reconnect_needed"))
        uow.outbox.add(OutboxMessage(kind="plan_pair", subject_id=s.pair_id, idempotency_key="plan_pair:x:1",
                                     status="dead", last_error="ReconnectNeeded: gone", attempts=8))
        uow.commit()
    page = programs.program_page(deps, s.program_id)
    assert page.program.name == "Pilot"
    assert [(line.state, line.detail) for line in page.overview] == [
        ("needs_attention", "Mina must reconnect their google calendar.")]
    assert [(f.pair_id, f.what, f.error) for f in page.failures] == [
        (s.pair_id, "planning the sessions", "ReconnectNeeded: gone")]
    with pytest.raises(programs.UnknownProgram):
        programs.program_page(deps, "nope")


def test_the_home_page_lists_a_persons_pairs_and_broken_calendars(deps, seed):
    s = seed()
    with deps.uow() as uow:
        uow.connections.add(CalendarConnection(person_id=s.mentee_id, provider="microsoft", account_email="e@x.org",
                                               status="reconnect_needed"))
        uow.commit()
    page = programs.home_page(deps, s.mentee_id)
    assert [(p.pair_id, p.program_name, p.role, p.other_name, p.state) for p in page.pairs] == [
        (s.pair_id, "Pilot", "mentee", "Mina", "invited")]
    assert page.broken_calendars == ["Microsoft 365"]
    assert programs.home_page(deps, s.mentor_id).broken_calendars == []


def test_invitations_carry_signed_invite_links_by_default(deps, seed):
    signer = LinkSigner("unit-test-link-secret-0123456789", 14)
    deps = Dependencies(unit_of_work=deps.unit_of_work, clock=deps.clock, providers=deps.providers,
                        mailer=deps.mailer, cipher=deps.cipher, config=deps.config, links=signer)
    s = seed()
    assert programs.send_invitations(deps, s.program_id, coordinator_name="Cora") == 2
    with deps.uow() as uow:
        urls = {n.person_id: n.payload["join_url"] for n in uow.notifications.all()}
    token = urls[s.mentee_id].removeprefix("https://tandem.example/invite/")
    assert invitation_of_link(deps, token) == (s.mentee_id, s.pair_id)


def _second_mentee(deps, s, name: str = "Sam Okafor") -> str:
    from scheduler.core.entities import Membership, Pair
    with deps.uow() as uow:
        mentee = uow.people.add(Person(email=f"{name.split()[0].lower()}@example.org", name=name))
        uow.memberships.add(Membership(program_id=s.program_id, person_id=mentee.id, role="mentee"))
        pair = uow.pairs.add(Pair(program_id=s.program_id, mentor_id=s.mentor_id, mentee_id=mentee.id,
                                  status="invited"))
        uow.commit()
        return pair.id


def _deliver_all(deps) -> list:
    import dataclasses

    from adapters.mail.renderers import MailRenderer
    from scheduler.services.delivery import deliver_notification
    rendering = dataclasses.replace(deps, renderer=MailRenderer())
    with deps.uow() as uow:
        pending = [n.id for n in uow.notifications.all() if n.status == "pending"]
    for nid in pending:
        deliver_notification(rendering, nid)
    return deps.mailer.sent


def test_a_mentor_with_two_mentees_gets_one_invitation_naming_both(deps, seed):
    s = seed()
    second = _second_mentee(deps, s)
    assert programs.send_invitations(deps, s.program_id, _link, "Cora") == 3  # mentor once, each mentee once
    assert programs.send_invitations(deps, s.program_id, _link, "Cora") == 0
    with deps.uow() as uow:  # both pairs count as invited for the mentor: nothing is sent twice
        assert uow.notifications.has_key(f"invitation:{s.pair_id}:{s.mentor_id}")
        assert uow.notifications.has_key(f"invitation:{second}:{s.mentor_id}")
    sent = _deliver_all(deps)
    to_mentor = [e for e in sent if e.to == ("mentor@example.org",)]
    assert len(to_mentor) == 1 and len(sent) == 3
    assert "You will mentor Ezra and Sam Okafor." in to_mentor[0].text
    assert "with each of Ezra and Sam Okafor" in to_mentor[0].text
    to_sam = next(e for e in sent if e.to == ("sam@example.org",))
    assert "Your mentor will be Mina." in to_sam.text and "your mentor are both set up" in to_sam.text


def test_a_pair_added_later_is_invited_on_its_own_and_nudges_are_one_per_person(deps, seed, clock):
    s = seed()
    with deps.uow() as uow:
        uow.people.get(s.mentor_id).onboarded_at = None
        uow.commit()
    assert programs.send_invitations(deps, s.program_id, _link) == 2
    second = _second_mentee(deps, s)
    assert programs.send_invitations(deps, s.program_id, _link) == 2  # the new pair: its mentee and the mentor
    with deps.uow() as uow:
        mentor_rows = [n for n in uow.notifications.all() if n.person_id == s.mentor_id]
        assert sorted(n.payload["pairs"][0]["other_name"] for n in mentor_rows) == ["Ezra", "Sam Okafor"]
    # the nudge: the mentor (not set up) gets ONE reminder naming both mentees, once a day
    assert programs.send_invitations(deps, s.program_id, _link, again=True) == 2  # the mentor and Sam
    assert programs.send_invitations(deps, s.program_id, _link, again=True) == 0
    with deps.uow() as uow:
        nudge = [n for n in uow.notifications.all() if n.person_id == s.mentor_id and ":again:" in n.idempotency_key
                 and n.status == "pending"]
        assert len(nudge) == 1
        assert sorted(p["other_name"] for p in nudge[0].payload["pairs"]) == ["Ezra", "Sam Okafor"]
        assert uow.notifications.has_key(f"invitation:{second}:{s.mentor_id}:again:2026-03-02")
