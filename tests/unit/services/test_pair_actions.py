"""A coordinator's actions on a pair: plan again now, pause, resume, end, change mentor, remove —
each checked for the role, kept in the pair's history, and told to the people in their words."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.core.entities import Membership, Person, Program
from scheduler.errors import InvalidInput, NotFound
from scheduler.ports import Dependencies
from scheduler.services import pair_actions
from scheduler.services.coordinator_pair import coordinator_pair_page
from scheduler.services.delivery import deliver_notification
from tests.unit.services.booked import T0, WORKDAY, book_series


@pytest.fixture
def deps(deps_with_mail) -> Dependencies:
    return deps_with_mail


@pytest.fixture
def booked(deps, seed):
    seeded = seed(status="booked", connected=True)
    series_id, occ_ids = book_series(deps, seeded)
    return seeded, series_id, occ_ids


def _pair(deps, pair_id):
    with deps.uow() as uow:
        return uow.pairs.get(pair_id)


def _deliver_all(deps) -> dict[str, list]:
    """Send every pending email; returns address -> [(subject, text)]."""
    with deps.uow() as uow:
        ids = [n.id for n in uow.notifications.where(lambda n: n.status == "pending")]
    for nid in ids:
        deliver_notification(deps, nid)
    sent: dict[str, list] = {}
    for email in deps.mailer.sent:
        for address in email.to:
            sent.setdefault(address, []).append((email.subject, email.text))
    return sent


def _outbox_kinds(deps) -> list[str]:
    with deps.uow() as uow:
        return sorted({m.kind for m in uow.outbox.where(lambda m: m.status == "pending")} - {"deliver_notification"})


def _add_mentor(deps, seeded, email="nora@example.org", name="Nora", *, set_up=True) -> str:
    with deps.uow() as uow:
        person = uow.people.add(Person(email=email, name=name, tz="UTC", working_hours=WORKDAY,
                                       onboarded_at=T0 if set_up else None))
        uow.memberships.add(Membership(program_id=seeded.program_id, person_id=person.id, role="mentor"))
        if set_up:
            from scheduler.core.entities import CalendarConnection
            uow.connections.add(CalendarConnection(person_id=person.id, provider="memory", account_email=email,
                                                   calendar_id=email, token_blob=deps.cipher.encrypt({"tz": "UTC"})))
        uow.commit()
        return person.id


def test_a_coordinator_pauses_and_resumes_and_both_are_told_who_did_it(deps, booked, clock):
    seeded, _, occ_ids = booked
    result = pair_actions.pause(deps, seeded.program_id, seeded.pair_id, by=seeded.coordinator_id)
    assert "paused" in result.message and result.pair_id == seeded.pair_id
    pair = _pair(deps, seeded.pair_id)
    assert pair.status == "paused"
    assert [(e["kind"], e["by"]) for e in pair.history] == [("paused", seeded.coordinator_id)]
    sent = _deliver_all(deps)
    (subject, text), = sent["mentee@example.org"]
    assert subject == "Cora paused your sessions with Mina" and "your program's coordinator" in text
    assert sent["mentor@example.org"][0][0] == "Cora paused your sessions with Ezra"

    clock.advance(minutes=5)  # past the pause's undo window
    result = pair_actions.resume(deps, seeded.program_id, seeded.pair_id, by=seeded.coordinator_id)
    assert "back on both calendars as they were" in result.message
    pair = _pair(deps, seeded.pair_id)
    assert pair.status == "booked" and [e["kind"] for e in pair.history] == ["paused", "resumed"]
    assert "plan_pair" not in _outbox_kinds(deps)  # the same sessions came back: nothing to plan
    sent = _deliver_all(deps)
    [text] = [t for subject, t in sent["mentee@example.org"] if subject == "Your sessions with Mina start again"]
    assert "back on your calendars as they were" in text
    page = coordinator_pair_page(deps, seeded.program_id, seeded.pair_id, "UTC")
    assert [c.text for c in page.changes] == ["Resumed by Cora", "Paused by Cora"]


def test_plan_again_replaces_the_upcoming_sessions_with_a_new_series(deps, booked):
    seeded, series_id, occ_ids = booked
    pair_actions.plan_again(deps, seeded.program_id, seeded.pair_id, by=seeded.coordinator_id)
    with deps.uow() as uow:
        assert uow.series.get(series_id).status == "cancelled"
        assert {o.status for o in uow.occurrences.get_many(occ_ids)} == {"cancelled"}
        assert [s["detail"] for s in uow.occurrences.get(occ_ids[0]).attendance_signals] == ["replanned"]
    assert _pair(deps, seeded.pair_id).status == "ready"
    assert _outbox_kinds(deps) == ["cancel_series", "plan_pair"]
    sent = _deliver_all(deps)
    assert sent["mentor@example.org"][0][0] == "New times are coming for your sessions with Ezra"


def test_plan_again_refuses_a_pair_it_cannot_plan_and_says_what_to_do(deps, seed):
    seeded = seed(status="invited")
    with pytest.raises(InvalidInput, match="send them a reminder"):
        pair_actions.plan_again(deps, seeded.program_id, seeded.pair_id, by=seeded.coordinator_id)
    assert _pair(deps, seeded.pair_id).history == []


def test_ending_says_so_in_the_coordinators_words_and_cannot_be_done_twice(deps, booked):
    seeded, _, _ = booked
    pair_actions.end(deps, seeded.program_id, seeded.pair_id, by=seeded.coordinator_id)
    assert _pair(deps, seeded.pair_id).status == "ended"
    assert "cancel_series" in _outbox_kinds(deps)
    sent = _deliver_all(deps)
    assert "Cora, your program's coordinator, ended" in sent["mentee@example.org"][0][1]
    with pytest.raises(InvalidInput, match="has ended"):
        pair_actions.end(deps, seeded.program_id, seeded.pair_id, by=seeded.coordinator_id)


def test_only_the_programs_coordinators_or_an_admin_may_act(deps, booked):
    seeded, _, _ = booked
    with deps.uow() as uow:
        other = uow.programs.add(Program(name="Other"))
        stranger = uow.people.add(Person(email="x@example.org", name="X"))
        uow.memberships.add(Membership(program_id=other.id, person_id=stranger.id, role="coordinator"))
        admin = uow.people.add(Person(email="admin@example.org", name="Ada", is_admin=True))
        uow.commit()
        stranger_id, admin_id, other_id = stranger.id, admin.id, other.id
    for action in (pair_actions.pause, pair_actions.end, pair_actions.remove, pair_actions.plan_again):
        with pytest.raises(pair_actions.NotAllowed):
            action(deps, seeded.program_id, seeded.pair_id, by=stranger_id)
        with pytest.raises(pair_actions.NotAllowed):
            action(deps, seeded.program_id, seeded.pair_id, by=seeded.mentor_id)
    with pytest.raises(NotFound):  # a pair of another program, named under this one
        pair_actions.pause(deps, other_id, seeded.pair_id, by=admin_id)
    assert _pair(deps, seeded.pair_id).status == "booked"
    pair_actions.pause(deps, seeded.program_id, seeded.pair_id, by=admin_id)
    assert _pair(deps, seeded.pair_id).status == "paused"


def test_changing_the_mentor_ends_this_pair_and_plans_the_mentee_with_the_new_one(deps, booked):
    seeded, series_id, occ_ids = booked
    nora = _add_mentor(deps, seeded)
    page = coordinator_pair_page(deps, seeded.program_id, seeded.pair_id, "UTC")
    assert [m.name for m in page.other_mentors] == ["Nora"] and "change-mentor" in page.actions
    result = pair_actions.change_mentor(deps, seeded.program_id, seeded.pair_id, nora, by=seeded.coordinator_id)
    old, new = _pair(deps, seeded.pair_id), _pair(deps, result.pair_id)
    assert old.status == "ended" and old.status_reason == "the mentor changed to Nora"
    assert (new.mentor_id, new.mentee_id, new.status) == (nora, seeded.mentee_id, "ready")
    assert old.history[-1]["other_pair"] == new.id and new.history[-1]["other_pair"] == old.id
    with deps.uow() as uow:
        assert {o.status for o in uow.occurrences.get_many(occ_ids)} == {"cancelled"}
    assert _outbox_kinds(deps) == ["cancel_series", "plan_pair"]
    sent = _deliver_all(deps)
    assert sent["mentor@example.org"] == [("Your mentoring of Ezra has ended", sent["mentor@example.org"][0][1])]
    assert "paired Ezra with another mentor, Nora" in sent["mentor@example.org"][0][1]
    assert sent["mentee@example.org"][0][0] == "Your new mentor is Nora"
    assert "sessions with Mina were removed" in sent["mentee@example.org"][0][1]
    assert sent["nora@example.org"][0][0] == "You are now mentoring Ezra"
    page = coordinator_pair_page(deps, seeded.program_id, new.id, "UTC")
    assert page.changes[0].text == "Took over from Mina as mentor by Cora"
    with pytest.raises(InvalidInput, match="has ended"):
        pair_actions.change_mentor(deps, seeded.program_id, seeded.pair_id, nora, by=seeded.coordinator_id)


def test_changing_to_someone_who_is_not_a_mentor_of_the_program_is_refused(deps, booked):
    seeded, _, _ = booked
    with pytest.raises(InvalidInput, match="not a mentor of this program"):
        pair_actions.change_mentor(deps, seeded.program_id, seeded.pair_id, seeded.coordinator_id,
                                   by=seeded.coordinator_id)
    with pytest.raises(InvalidInput, match="another mentor"):
        pair_actions.change_mentor(deps, seeded.program_id, seeded.pair_id, seeded.mentor_id,
                                   by=seeded.coordinator_id)
    assert _pair(deps, seeded.pair_id).status == "booked"


def test_a_new_mentor_not_set_up_yet_waits_for_the_invitation(deps, booked):
    seeded, _, _ = booked
    newbie = _add_mentor(deps, seeded, "newbie@example.org", "Neo", set_up=False)
    result = pair_actions.change_mentor(deps, seeded.program_id, seeded.pair_id, newbie, by=seeded.coordinator_id)
    assert "send the invitations" in result.message
    assert _pair(deps, result.pair_id).status == "invited"
    assert "newbie@example.org" not in _deliver_all(deps)  # the program's invitation introduces them


def test_removing_ends_at_once_and_deletes_once_calendars_and_emails_are_done(deps, booked, calendars):
    seeded, series_id, _ = booked
    result = pair_actions.remove(deps, seeded.program_id, seeded.pair_id, by=seeded.coordinator_id)
    assert result.pair_id is None
    assert _pair(deps, seeded.pair_id).status == "ended"
    # calendar work and emails still to run: the removal waits for them
    with deps.uow() as uow:
        (row,) = uow.outbox.where(lambda m: m.kind == "remove_pair")
    assert pair_actions.delete_removed_pair(deps, seeded.pair_id) is False
    with deps.uow() as uow:
        assert len(uow.outbox.where(lambda m: m.kind == "remove_pair")) == 2
    from scheduler.services.lifecycle import cancel_series_at_provider
    cancel_series_at_provider(deps, series_id)
    with deps.uow() as uow:
        for m in uow.outbox.where(lambda m: m.kind == "cancel_series"):
            m.status = "done"
        uow.commit()
    sent = _deliver_all(deps)
    assert sent["mentee@example.org"][-1][0] == "Your mentoring pair with Mina was removed from Pilot"
    assert pair_actions.delete_removed_pair(deps, seeded.pair_id) is True
    assert _pair(deps, seeded.pair_id) is None
    with deps.uow() as uow:
        assert uow.series.get(series_id) is None
    assert pair_actions.delete_removed_pair(deps, seeded.pair_id) is False  # a repeat does nothing


def test_a_pair_never_removed_is_never_deleted_by_the_actor(deps, booked):
    seeded, _, _ = booked
    assert pair_actions.delete_removed_pair(deps, seeded.pair_id) is False
    assert _pair(deps, seeded.pair_id) is not None


def test_the_page_offers_only_what_fits_the_state(deps, booked, clock):
    seeded, _, _ = booked
    page = coordinator_pair_page(deps, seeded.program_id, seeded.pair_id, "UTC")
    assert page.actions == {"plan-again", "pause", "end", "change-mentor", "remove"}
    clock.current = T0 + timedelta(minutes=1)
    pair_actions.pause(deps, seeded.program_id, seeded.pair_id, by=seeded.coordinator_id)
    page = coordinator_pair_page(deps, seeded.program_id, seeded.pair_id, "UTC")
    assert page.actions == {"resume", "end", "change-mentor", "remove"}
