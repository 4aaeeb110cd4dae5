"""Onboarding from an invitation: time zone, hours and preferences; the pair becomes ready (and
planning is queued) when both people are set up."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from adapters.storage.models import OutboxMessage, Pair, Person, Program
from tests.support.web import PageStructure, csrf_from, sign_in_as

WEEKDAYS = {"day_mon": "on", "start_mon": "09:00", "end_mon": "17:00",
            "day_wed": "on", "start_wed": "10:00", "end_wed": "16:00"}


def _open_invitation(app, seeded, person_id: str):
    client = app.test_client()
    token = app.extensions["tandem.links"].sign("invite", {"p": person_id, "pair": seeded.pair_id})
    page = client.get(f"/invite/{token}")  # shows the invitation; its button continues
    assert page.status_code == 200
    reply = client.post(f"/invite/{token}", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/onboarding")
    return client, token


def _submit(client, **fields):
    page = client.get("/onboarding").get_data(as_text=True)
    return client.post("/onboarding", data={"csrf_token": csrf_from(page), **WEEKDAYS, **fields})


def test_an_unknown_time_zone_is_refused_with_what_to_do(app, container, seeded):
    client, _ = _open_invitation(app, seeded, seeded.mentor_id)
    reply = _submit(client, tz="Atlantis/Capital", preferred="any")
    assert reply.status_code == 400
    assert "is not a time zone Tandem knows; pick one from the list" in reply.get_data(as_text=True)
    with container.uow() as uow:
        assert uow.session.get(Person, seeded.mentor_id).onboarded_at is None


def test_both_people_onboarded_makes_the_pair_ready_and_queues_planning(app, container, seeded):
    mentor, _ = _open_invitation(app, seeded, seeded.mentor_id)
    page = mentor.get("/onboarding").get_data(as_text=True)
    assert "Welcome to <strong>Sandbox program</strong>" in page and "data-detect-timezone" in page
    assert _submit(mentor, tz="Europe/Berlin", preferred="morning").status_code == 302
    with container.uow() as uow:
        person = uow.session.get(Person, seeded.mentor_id)
        assert person.tz == "Europe/Berlin"
        assert person.working_hours == {"mon": [["09:00", "17:00"]], "wed": [["10:00", "16:00"]]}
        assert person.preferences == {"preferred": [["08:00", "12:00"]]}
        assert uow.session.get(Pair, seeded.pair_id).status == "invited"

    mentee, _ = _open_invitation(app, seeded, seeded.mentee_id)
    reply = _submit(mentee, tz="America/New_York", preferred="any")
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/calendars/")
    with container.uow() as uow:
        assert uow.session.get(Pair, seeded.pair_id).status == "ready"
        rows = list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "plan_pair")))
        assert [(r.subject_id, r.idempotency_key) for r in rows] == [(seeded.pair_id, f"plan_pair:{seeded.pair_id}:1")]


def test_the_pair_may_choose_rhythm_only_where_the_program_allows(app, container, seeded):
    mentor, _ = _open_invitation(app, seeded, seeded.mentor_id)
    assert 'name="cadence"' not in mentor.get("/onboarding").get_data(as_text=True)
    with container.uow() as uow:
        uow.session.get(Program, seeded.program_id).allow_pair_cadence = True
        uow.commit()
    assert 'name="cadence"' in mentor.get("/onboarding").get_data(as_text=True)
    _submit(mentor, tz="Europe/Berlin", cadence="weekly", duration_min="30")
    with container.uow() as uow:
        pair = uow.session.get(Pair, seeded.pair_id)
        assert (pair.cadence, pair.duration_min) == ("weekly", 30)


def test_after_onboarding_an_old_invitation_no_longer_signs_in(app, container, seeded):
    mentor, token = _open_invitation(app, seeded, seeded.mentor_id)
    _submit(mentor, tz="Europe/Berlin")
    stranger = app.test_client()
    reply = stranger.get(f"/invite/{token}")
    assert reply.status_code == 302 and "/signin" in reply.headers["Location"]
    assert stranger.get("/calendars/").status_code == 302


def _invitation_for(app, person_id: str, pair_id: str) -> str:
    return app.extensions["tandem.links"].sign("invite", {"p": person_id, "pair": pair_id})


def _signed_in_as(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("pid")


def test_someone_elses_invitation_asks_before_switching_and_only_a_real_form_switches(app, seeded):
    client = app.test_client()
    sign_in_as(client, seeded.mentor_id)
    token = _invitation_for(app, seeded.other_mentee_id, seeded.other_pair_id)
    page = client.get(f"/invite/{token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "You are signed in as <strong>Max Mentor</strong>" in text
    assert "This invitation is for <strong>Olu Other</strong>" in text
    assert "Sign out and continue as Olu Other" in text
    structure = PageStructure()
    structure.feed(text)
    assert structure.lang == "en" and structure.skip_link and structure.h1 == 1
    assert _signed_in_as(client) == seeded.mentor_id
    # A forged form (no token, or a guessed one) changes nothing.
    assert client.post(f"/invite/{token}").status_code == 400
    assert client.post(f"/invite/{token}", data={"csrf_token": "guessed"}).status_code == 400
    assert _signed_in_as(client) == seeded.mentor_id
    reply = client.post(f"/invite/{token}", data={"csrf_token": csrf_from(text)})
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/onboarding")
    assert _signed_in_as(client) == seeded.other_mentee_id
    assert "Olu Other" in client.get("/onboarding").get_data(as_text=True)


def test_ones_own_invitation_continues_without_asking(app, seeded):
    client = app.test_client()
    sign_in_as(client, seeded.mentor_id)
    token = _invitation_for(app, seeded.mentor_id, seeded.pair_id)
    page = client.get(f"/invite/{token}")
    assert page.status_code == 200 and "Join and continue" in page.get_data(as_text=True)
    reply = client.post(f"/invite/{token}", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/onboarding")
    assert _signed_in_as(client) == seeded.mentor_id


def test_a_forged_switch_with_a_bad_link_is_refused(app, seeded):
    client = app.test_client()
    sign_in_as(client, seeded.mentor_id)
    page = client.get("/calendars/").get_data(as_text=True)
    reply = client.post("/invite/not-a-token", data={"csrf_token": csrf_from(page)})
    assert reply.status_code == 400
    assert _signed_in_as(client) == seeded.mentor_id
