"""Onboarding use cases on the in-memory unit of work, and the one preferences parser."""
from __future__ import annotations

import pytest

from adapters.links import LinkSigner
from scheduler.core.entities import CalendarConnection
from scheduler.core.preferences import parse_preferences, parse_time_off, validate_tz
from scheduler.errors import InvalidInput, UnknownTimeZone
from scheduler.ports import Dependencies
from scheduler.services import onboarding, programs
from scheduler.services.links import LinkError, invite_url
from scheduler.services.onboarding import OnboardingAnswers

HOURS = {"tue": [["10:00", "16:00"]]}


def _not_onboarded(deps, person_id):
    with deps.uow() as uow:
        uow.people.get(person_id).onboarded_at = None
        uow.commit()


def test_preferences_and_time_zones_are_parsed_in_one_place():
    prefs = parse_preferences({"preferred": [["08:00", "12:00"]], "earliest": "09:00", "avoid_days": ["mon", "fri"]})
    assert (prefs.earliest_min, prefs.latest_min, prefs.avoid_days) == (540, None, frozenset({0, 4}))
    assert parse_preferences(None).preferred == ()
    with pytest.raises(InvalidInput, match="weekdays mon..sun"):
        parse_preferences({"avoid_days": ["someday"]})
    assert [str(a) for a, _ in parse_time_off({"time_off": [["2026-04-01", "2026-04-03"]]})] == ["2026-04-01"]
    assert validate_tz(" Asia/Tokyo ") == "Asia/Tokyo"
    with pytest.raises(UnknownTimeZone):
        validate_tz("Moon/Base")


def test_completing_onboarding_makes_the_pair_ready_and_queues_planning_once(deps, seed):
    s = seed()
    _not_onboarded(deps, s.mentee_id)
    outcome = onboarding.complete_onboarding(deps, s.mentee_id, OnboardingAnswers(
        tz="Asia/Tokyo", working_hours=HOURS, preferences={"earliest": "11:00"}))
    assert outcome.ready_pair_ids == (s.pair_id,) and outcome.has_calendar is False
    with deps.uow() as uow:
        person = uow.people.get(s.mentee_id)
        assert (person.tz, person.working_hours, person.onboarded_at) == ("Asia/Tokyo", HOURS, deps.clock.now())
        assert uow.pairs.get(s.pair_id).status == "ready"
        assert [m.idempotency_key for m in uow.outbox.all()] == [f"plan_pair:{s.pair_id}:1"]


def test_answers_with_problems_change_nothing(deps, seed):
    s = seed()
    _not_onboarded(deps, s.mentee_id)
    with pytest.raises(InvalidInput, match="not a time zone Tandem knows"):
        onboarding.complete_onboarding(deps, s.mentee_id, OnboardingAnswers(
            tz="Nowhere/Town", working_hours=HOURS, preferences={}))
    with deps.uow() as uow:
        assert uow.people.get(s.mentee_id).onboarded_at is None
        assert uow.pairs.get(s.pair_id).status == "invited"


def test_rhythm_is_applied_only_where_the_program_allows_it(deps, seed):
    allowed = seed(allow_pair_cadence=True)
    answers = OnboardingAnswers(tz="UTC", working_hours=HOURS, preferences={}, cadence="monthly", duration_min=60)
    onboarding.complete_onboarding(deps, allowed.mentor_id, answers, pair_id=allowed.pair_id)
    with deps.uow() as uow:
        pair = uow.pairs.get(allowed.pair_id)
        assert (pair.cadence, pair.duration_min) == ("monthly", 60)
    page = onboarding.onboarding_page(deps, allowed.mentor_id, allowed.pair_id)
    assert page.may_choose and page.pair.role == "mentor" and page.pair.other == "Ezra"
    assert (page.pair.cadence, page.pair.duration_min, page.tz) == ("monthly", 60, "UTC")


def test_a_broken_calendar_keeps_a_person_from_being_set_up(deps, seed):
    s = seed()
    with deps.uow() as uow:
        uow.connections.add(CalendarConnection(person_id=s.mentor_id, provider="google", status="reconnect_needed"))
        uow.commit()
    with deps.uow() as uow:
        assert onboarding.refresh_readiness(uow, s.mentor_id, deps.clock.now()) == []
        assert not onboarding.is_set_up(uow, uow.people.get(s.mentor_id))
        assert onboarding.is_set_up(uow, uow.people.get(s.mentee_id))


def test_planning_is_queued_again_each_time_a_pair_becomes_ready(deps, seed):
    s = seed()
    with deps.uow() as uow:
        onboarding.queue_planning(uow, s.pair_id, deps.clock.now())
        onboarding.queue_planning(uow, s.pair_id, deps.clock.now())
        uow.commit()
    with deps.uow() as uow:
        assert sorted(m.idempotency_key for m in uow.outbox.all()) == [f"plan_pair:{s.pair_id}:1",
                                                                       f"plan_pair:{s.pair_id}:2"]


def test_an_invitation_is_valid_only_for_a_person_of_the_pair(deps, seed):
    s = seed()
    invite = onboarding.invitation(deps, s.mentee_id, s.pair_id)
    assert (invite.name, invite.pair_id, invite.onboarded) == ("Ezra", s.pair_id, True)
    assert onboarding.invitation(deps, s.coordinator_id, s.pair_id) is None
    assert onboarding.invitation(deps, s.mentee_id, "gone") is None


def _with_links(deps):
    return Dependencies(unit_of_work=deps.unit_of_work, clock=deps.clock, providers=deps.providers,
                        mailer=deps.mailer, cipher=deps.cipher, config=deps.config,
                        links=LinkSigner("unit-test-link-secret-0123456789", 14))


def test_the_hours_form_is_checked_and_stored_in_one_call(deps, seed):
    s = seed()  # the program does not let pairs choose their rhythm
    _not_onboarded(deps, s.mentee_id)
    outcome = onboarding.submit_onboarding(deps, s.mentee_id, s.pair_id, OnboardingAnswers(
        tz="Asia/Tokyo", working_hours=HOURS, preferences={}, cadence="hourly", duration_min=999))
    assert outcome.ready_pair_ids == (s.pair_id,)  # the rhythm it may not choose is dropped, not refused
    with deps.uow() as uow:
        pair = uow.pairs.get(s.pair_id)
        assert (pair.status, pair.cadence, pair.duration_min) == ("ready", None, None)
        assert uow.people.get(s.mentee_id).tz == "Asia/Tokyo"


def test_refused_answers_change_nothing_and_carry_the_page_to_show_again(deps, seed):
    s = seed(allow_pair_cadence=True)
    _not_onboarded(deps, s.mentee_id)
    with pytest.raises(onboarding.AnswersRefused, match="Meeting rhythm must be one of") as refused:
        onboarding.submit_onboarding(deps, s.mentee_id, s.pair_id, OnboardingAnswers(
            tz="UTC", working_hours=HOURS, preferences={}, cadence="hourly"))
    page = refused.value.page
    assert page.may_choose and (page.pair.role, page.pair.other, page.pair.program) == ("mentee", "Mina", "Pilot")
    with pytest.raises(onboarding.AnswersRefused, match="no longer exists") as gone:
        onboarding.submit_onboarding(deps, "nobody", None, OnboardingAnswers(tz="UTC", working_hours=HOURS,
                                                                             preferences={}))
    assert gone.value.page.pair is None and not gone.value.page.may_choose
    with deps.uow() as uow:
        assert uow.people.get(s.mentee_id).onboarded_at is None
        assert uow.pairs.get(s.pair_id).status == "invited" and uow.outbox.all() == []


def test_an_invitation_link_is_read_in_one_call(deps, seed):
    deps = _with_links(deps)
    s = seed()
    token = invite_url(deps, s.mentee_id, s.pair_id).rsplit("/", 1)[1]
    invite = onboarding.read_invitation(deps, token)
    assert (invite.person_id, invite.pair_id, invite.name) == (s.mentee_id, s.pair_id, "Ezra")
    with pytest.raises(LinkError, match="not valid"):
        onboarding.read_invitation(deps, token[:-3] + "abc")
    stranger = invite_url(deps, s.coordinator_id, s.pair_id).rsplit("/", 1)[1]
    with pytest.raises(onboarding.InvitationGone, match="no longer valid"):
        onboarding.read_invitation(deps, stranger)


def test_set_up_is_one_rule_for_onboarding_and_the_coordinators_overview(deps, seed):
    s = seed()
    with deps.uow() as uow:
        mentee = uow.people.get(s.mentee_id)
        assert onboarding.has_set_up(mentee, []) and onboarding.is_set_up(uow, mentee)
        mentee.working_hours = None  # no hours and no calendar: Tandem cannot know when they meet
        uow.commit()
    with deps.uow() as uow:
        mentee = uow.people.get(s.mentee_id)
        assert not onboarding.is_set_up(uow, mentee)
        ok = CalendarConnection(person_id=s.mentee_id, provider="memory", status="ok")
        assert onboarding.has_set_up(mentee, [ok])
        assert not onboarding.has_set_up(mentee, [ok, CalendarConnection(person_id=s.mentee_id,
                                                                         provider="google", status="reconnect_needed")])
    (line,) = programs.program_page(deps, s.program_id).overview
    assert (line.state, line.detail) == ("invited", "Waiting for Ezra to finish setting up.")
