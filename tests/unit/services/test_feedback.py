"""Answers from the signed feedback link, on the in-memory unit of work."""
from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.links import LinkSigner
from adapters.mail.memory import InMemoryMailer
from adapters.tokens import TokenCipher
from scheduler.core.entities import Occurrence, Series
from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies, ServiceConfig
from scheduler.services.feedback import (FeedbackLinkGone, answer_feedback, feedback_for_link, record_feedback,
                                         record_feedback_for_link)
from scheduler.services.links import LinkError
from scheduler.services.notifications import add_notification
from tests.unit.services.booked import T0


@pytest.fixture
def deps(store, clock, calendars) -> Dependencies:
    return Dependencies(unit_of_work=store.uow, clock=clock, providers={"memory": calendars},
                        mailer=InMemoryMailer(), cipher=TokenCipher([TokenCipher.generate_key()]),
                        config=ServiceConfig(base_url="https://tandem.example"),
                        links=LinkSigner("unit-test-link-secret-0123456789", 14))


@pytest.fixture
def asked(deps, seed):
    """A session that took place and the mentee's feedback request about it: (seeded, occurrence id, token)."""
    s = seed()
    with deps.uow() as uow:
        series = uow.series.add(Series(pair_id=s.pair_id, rrule="FREQ=WEEKLY;COUNT=1", tz="UTC",
                                       dtstart_local="2026-03-03T10:00:00", duration_min=45))
        start = T0.replace(day=3, hour=10)
        occ = uow.occurrences.add(Occurrence(series_id=series.id, original_start=start, start=start,
                                             end=start + timedelta(minutes=45)))
        nid = add_notification(uow, kind="feedback", person_id=s.mentee_id, due_at=start, pair_id=s.pair_id,
                               occurrence_id=occ.id, key="feedback:1")
        uow.commit()
    return s, occ.id, deps.links.sign("feedback", {"n": nid})


def _attendance(deps, occurrence_id: str) -> str:
    with deps.uow() as uow:
        return uow.occurrences.get(occurrence_id).attendance


def test_the_link_opens_the_session_from_the_readers_side(deps, asked):
    s, occurrence_id, token = asked
    ctx = feedback_for_link(deps, token)
    assert (ctx.person_id, ctx.occurrence_id, ctx.other_name, ctx.tz) == (
        s.mentee_id, occurrence_id, "Mina", "America/New_York")
    assert ctx.existing_answer is None


def test_an_answer_is_stored_once_per_person_and_sets_attendance(deps, asked):
    s, occurrence_id, token = asked
    record_feedback_for_link(deps, token, "not_met", None, "  ")
    assert _attendance(deps, occurrence_id) == "missed"
    record_feedback_for_link(deps, token, "met", 5, " Great talk ")  # the answer changes, no second row
    assert _attendance(deps, occurrence_id) == "met"
    with deps.uow() as uow:
        (row,) = uow.feedback.all()
        assert (row.answer, row.rating, row.notes) == ("met", 5, "Great talk")
        assert uow.feedback.given_by(s.mentee_id, occurrence_id) is not None
        assert uow.feedback.given_by(s.mentor_id, occurrence_id) is None
    assert feedback_for_link(deps, token).existing_answer == "met"
    record_feedback_for_link(deps, token, "not_met", None, None)
    assert _attendance(deps, occurrence_id) == "met"  # someone said they met: that stands


def test_wrong_answers_ratings_and_links_are_refused(deps, asked):
    _, occurrence_id, token = asked
    with pytest.raises(InvalidInput, match="choose one of"):
        record_feedback_for_link(deps, token, "maybe", None, None)
    with pytest.raises(InvalidInput, match="from 1 to 5"):
        record_feedback_for_link(deps, token, "met", 9, None)
    with pytest.raises(LinkError, match="not valid"):
        feedback_for_link(deps, token[:-3] + "abc")
    with pytest.raises(InvalidInput, match="does not belong to a session"):
        record_feedback(deps, "no-such-notification", "met", None, None)
    assert _attendance(deps, occurrence_id) == "unknown"


def test_one_call_checks_the_link_records_the_answer_and_returns_the_page(deps, asked):
    s, occurrence_id, token = asked
    ctx = answer_feedback(deps, token, "moved", "4", " moved to Friday ")
    assert (ctx.person_id, ctx.other_name, ctx.existing_answer) == (s.mentee_id, "Mina", None)
    assert ctx.when == "Tue 3 Mar 2026, 05:00 (New York time)"  # formatted in the reader's zone
    assert _attendance(deps, occurrence_id) == "rescheduled"
    with deps.uow() as uow:
        (row,) = uow.feedback.all()
        assert (row.answer, row.rating, row.notes) == ("moved", 4, "moved to Friday")
    assert feedback_for_link(deps, token).when == ctx.when


def test_a_link_problem_comes_before_an_answer_problem_and_nothing_is_stored(deps, asked):
    _, occurrence_id, token = asked
    with pytest.raises(LinkError, match="not valid"):
        answer_feedback(deps, token[:-3] + "abc", "maybe", "x", None)
    with pytest.raises(InvalidInput, match="from 1 to 5") as refused:
        answer_feedback(deps, token, "met", "five", None)
    assert not isinstance(refused.value, LinkError)  # the page flashes it instead of the problem page
    with deps.uow() as uow:
        uow.notifications.get(deps.links.read("feedback", token)["n"]).occurrence_id = None
        uow.commit()
    with pytest.raises(FeedbackLinkGone, match="does not belong to a session"):
        answer_feedback(deps, token, "met", None, None)
    assert _attendance(deps, occurrence_id) == "unknown"
    with deps.uow() as uow:
        assert uow.feedback.all() == []


@pytest.fixture
def asked_with_next(deps, seed):
    """Two sessions a week apart (the second with an agenda) and the mentee's feedback request
    about the first: (seeded, first id, second id, token)."""
    s = seed()
    with deps.uow() as uow:
        series = uow.series.add(Series(pair_id=s.pair_id, rrule="FREQ=WEEKLY;COUNT=2", tz="UTC",
                                       dtstart_local="2026-03-03T10:00:00", duration_min=45))
        first_start = T0.replace(day=3, hour=10)
        first = uow.occurrences.add(Occurrence(series_id=series.id, original_start=first_start, start=first_start,
                                               end=first_start + timedelta(minutes=45)))
        second_start = first_start + timedelta(weeks=1)
        second = uow.occurrences.add(Occurrence(series_id=series.id, original_start=second_start, start=second_start,
                                                end=second_start + timedelta(minutes=45), agenda="1. Check in"))
        nid = add_notification(uow, kind="feedback", person_id=s.mentee_id, due_at=first_start, pair_id=s.pair_id,
                               occurrence_id=first.id, key="feedback:ai")
        uow.commit()
    return s, first.id, second.id, deps.links.sign("feedback", {"n": nid})


def _agenda(deps, occurrence_id):
    with deps.uow() as uow:
        return uow.occurrences.get(occurrence_id).agenda


def test_action_items_are_carried_into_the_next_sessions_agenda_once(deps, asked_with_next, clock):
    s, first_id, second_id, token = asked_with_next
    clock.current = T0.replace(day=4)

    answer_feedback(deps, token, "met", "4", None, "- Draft the talk outline\n\n* Ask for the review slot ")
    agenda = _agenda(deps, second_id)
    assert agenda.splitlines() == ["1. Check in", "", "Action items from Tue 3 Mar (Ezra):",
                                   "- Draft the talk outline", "- Ask for the review slot"]

    answer_feedback(deps, token, "met", "5", None, "Draft the talk outline\nBook the room")  # answered again
    assert _agenda(deps, second_id).count("- Draft the talk outline") == 1
    assert _agenda(deps, second_id).endswith("- Book the room")
    with deps.uow() as uow:
        row = uow.feedback.given_by(s.mentee_id, first_id)
        assert row.action_items.splitlines() == ["Draft the talk outline", "Ask for the review slot", "Book the room"]


def test_too_many_or_too_long_action_items_are_refused_and_nothing_is_stored(deps, asked_with_next, clock):
    s, first_id, second_id, token = asked_with_next
    clock.current = T0.replace(day=4)
    with pytest.raises(InvalidInput, match="10 action items"):
        answer_feedback(deps, token, "met", None, None, "\n".join(f"item {i}" for i in range(11)))
    with pytest.raises(InvalidInput, match="under 300 characters"):
        answer_feedback(deps, token, "met", None, None, "x" * 301)
    assert _agenda(deps, second_id) == "1. Check in"
    with deps.uow() as uow:
        assert uow.feedback.given_by(s.mentee_id, first_id) is None


def test_action_items_after_the_last_session_stay_with_the_answer(deps, asked, clock):
    s, occurrence_id, token = asked
    clock.current = T0.replace(day=4)
    answer_feedback(deps, token, "met", None, None, "Send the slides")
    with deps.uow() as uow:
        assert uow.feedback.given_by(s.mentee_id, occurrence_id).action_items == "Send the slides"
