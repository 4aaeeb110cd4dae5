"""Issue 15, High 3: cross-program pairing without consent.

A coordinator of program B imported a mentor who belonged only to program A: a series was booked
into her calendar and emails queued within seconds, and B's pages showed her free times. A person
already in Tandem must accept a new program before anything about them is read, planned, booked
or shown to its coordinator.
"""
from __future__ import annotations

from datetime import datetime, timezone

from scheduler.core.entities import CalendarConnection, Membership, Person
from scheduler.services import consent, programs
from scheduler.services.links import invite_url
from tests.support.web import csrf_from, sign_in_as
from web import create_app

WORKDAY = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)


def _ada_in_program_a_and_a_program_b(container, calendar: str = "ok"):
    """Ada: a set-up mentor of program A only (her calendar's ``status``: a problem B must not see); Bo: a set-up
    person already in Tandem; Cole coordinates program B."""
    with container.uow() as uow:
        ada = uow.people.add(Person(email="ada@example.org", name="Ada", tz="UTC", working_hours=WORKDAY,
                                    onboarded_at=T0))
        bo = uow.people.add(Person(email="bo@example.org", name="Bo", tz="UTC", working_hours=WORKDAY,
                                   onboarded_at=T0))
        cole = uow.people.add(Person(email="cole@example.org", name="Cole"))
        uow.flush()
        uow.connections.add(CalendarConnection(person_id=ada.id, provider="google", account_email="ada@example.org",
                                               calendar_id="primary", status=calendar,
                                               token_blob=container.cipher.encrypt({})))
        ids = ada.id, bo.id, cole.id
        uow.commit()
    program_a = programs.create_program(container, ids[2], programs.ProgramSpec(name="Program A"))
    with container.uow() as uow:
        uow.memberships.add(Membership(program_id=program_a.id, person_id=ids[0], role="mentor"))
        uow.commit()
    program_b = programs.create_program(container, ids[2], programs.ProgramSpec(name="Program B"))
    return ids, program_b.id


def _pair_of(container, program_id):
    with container.uow() as uow:
        (pair,) = uow.pairs.of_program(program_id)
        return pair.id, pair.status, uow.outbox.count_with_key_prefix(f"plan_pair:{pair.id}:")


def test_importing_someone_already_in_tandem_plans_nothing_until_they_accept(container):
    (ada, bo, _), program_b = _ada_in_program_a_and_a_program_b(container)
    result = programs.import_pairs_csv(container, program_b, "mentor_email,mentee_email\n"
                                                            "ada@example.org,bo@example.org\n")
    assert result.ok
    pair_id, status, planned = _pair_of(container, program_b)
    assert (status, planned) == ("invited", 0)  # both are set up, yet nothing is planned

    consent.accept_program(container, ada, program_b)
    assert _pair_of(container, program_b)[1:] == ("invited", 0)  # Bo has not accepted yet

    consent.accept_program(container, bo, program_b)
    assert _pair_of(container, program_b)[1:] == ("ready", 1)


def test_the_new_programs_coordinator_sees_only_that_they_were_asked(container):
    (ada, _, _), program_b = _ada_in_program_a_and_a_program_b(container, calendar="reconnect_needed")
    programs.import_pairs_csv(container, program_b, "mentor_email,mentee_email\nada@example.org,new@example.org\n")
    with container.uow() as uow:
        (line,) = programs.program_overview(uow, program_b)
    assert line.state == "invited"
    assert "Waiting for Ada to accept the invitation to this program" in line.detail
    assert "reconnect" not in line.detail and "google" not in line.detail.lower()  # A's problem stays in A


def test_a_person_new_to_tandem_joins_by_their_invitation_and_is_not_asked_twice(container):
    (_, _, _), program_b = _ada_in_program_a_and_a_program_b(container)
    programs.import_pairs_csv(container, program_b, "mentor_email,mentee_email\nnew1@example.org,new2@example.org\n")
    with container.uow() as uow:
        consents = {m.consent for m in uow.memberships.of_program(program_b) if m.role != "coordinator"}
    assert consents == {"accepted"}


def test_declining_ends_the_pair_and_reads_nothing(container):
    (ada, _, _), program_b = _ada_in_program_a_and_a_program_b(container)
    programs.import_pairs_csv(container, program_b, "mentor_email,mentee_email\nada@example.org,bo@example.org\n")
    consent.decline_program(container, ada, program_b)
    pair_id, status, planned = _pair_of(container, program_b)
    assert (status, planned) == ("ended", 0)
    with container.uow() as uow:
        assert {m.consent for m in uow.memberships.of_program(program_b) if m.person_id == ada} == {"declined"}


def test_the_invitation_link_of_someone_set_up_leads_to_a_page_that_asks(container):
    (ada, _, _), program_b = _ada_in_program_a_and_a_program_b(container)
    programs.import_pairs_csv(container, program_b, "mentor_email,mentee_email\nada@example.org,bo@example.org\n")
    pair_id = _pair_of(container, program_b)[0]
    client = create_app(container=container).test_client()
    sign_in_as(client, ada)

    link = invite_url(container, ada, pair_id).split("/invite/", 1)[1]
    page = client.get(f"/invite/{link}", follow_redirects=True)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Program B" in html and "Accept" in html
    assert _pair_of(container, program_b)[1:] == ("invited", 0)  # opening the page accepts nothing

    accepted = client.post(f"/programs/{program_b}/join", data={"csrf_token": csrf_from(html), "answer": "accept"})
    assert accepted.status_code == 302
    with container.uow() as uow:
        assert {m.consent for m in uow.memberships.of_program(program_b) if m.person_id == ada} == {"accepted"}


def test_someone_not_invited_cannot_join_a_program(container):
    (ada, bo, _), program_b = _ada_in_program_a_and_a_program_b(container)
    client = create_app(container=container).test_client()
    token = sign_in_as(client, bo)
    assert client.get(f"/programs/{program_b}/join").status_code == 404
    assert client.post(f"/programs/{program_b}/join", data={"csrf_token": token, "answer": "accept"}).status_code == 404
