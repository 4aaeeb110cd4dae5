"""The at-risk rules, each alone, at and around their thresholds, and together."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from scheduler.core.at_risk import RULES, BrokenConnection, PairFacts, connection_health, reasons

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=timezone.utc)
D = timedelta(days=1)
ACTIVE = ("invited", "ready", "planning", "booked", "needs_attention", "unschedulable")


def rules(facts: PairFacts, now: datetime = NOW) -> list[str]:
    return [r.rule for r in reasons(facts, now)]


def test_a_quiet_pair_is_not_at_risk():
    assert reasons(PairFacts("booked"), NOW) == ()


@pytest.mark.parametrize("misses, at_risk", [(0, False), (1, False), (2, True), (5, True)])
def test_two_misses_in_a_row(misses, at_risk):
    found = reasons(PairFacts("booked", misses_in_a_row=misses), NOW)
    assert [r.rule for r in found] == (["misses"] if at_risk else [])
    if at_risk:
        assert found[0].text == f"Missed the last {misses} sessions in a row."


@pytest.mark.parametrize("first_days, held_days, at_risk", [
    (None, None, False),  # no session yet
    (29, None, False),  # not booked long enough
    (30, None, True),  # exactly 30 days of sessions, none held
    (45, 31, True), (45, 30, False), (45, 29, False), (45, 0, False)])
def test_no_held_session_in_30_days(first_days, held_days, at_risk):
    facts = PairFacts("booked", first_session=None if first_days is None else NOW - first_days * D,
                      last_held=None if held_days is None else NOW - held_days * D)
    assert rules(facts) == (["no_held"] if at_risk else [])


def test_no_held_reasons_say_how_long():
    never = reasons(PairFacts("booked", first_session=NOW - 40 * D), NOW)[0].text
    assert never == "No session held since the first one, 40 days ago."
    since = reasons(PairFacts("booked", first_session=NOW - 90 * D, last_held=NOW - 33 * D), NOW)[0].text
    assert since == "No session held in the last 33 days."


def test_a_broken_connection_of_either_person():
    broken = (BrokenConnection("mentee", "Ezra", "Google"),)
    facts = PairFacts("booked", broken=broken)
    (reason,) = reasons(facts, NOW)
    assert reason.rule == "connection" and reason.text == "Ezra (mentee) must reconnect their Google calendar."
    both = PairFacts("booked", broken=(BrokenConnection("mentor", "Mina", "Microsoft"), *broken))
    assert "Mina (mentor)" in reasons(both, NOW)[0].text and "Ezra (mentee)" in reasons(both, NOW)[0].text
    assert connection_health(facts) == "broken" and connection_health(PairFacts("booked")) == "ok"


@pytest.mark.parametrize("unanswered, at_risk", [(0, False), (1, False), (2, True), (3, True)])
def test_follow_ups_unanswered_twice(unanswered, at_risk):
    found = reasons(PairFacts("booked", unanswered_in_a_row=unanswered), NOW)
    assert [r.rule for r in found] == (["unanswered"] if at_risk else [])


@pytest.mark.parametrize("status, since, at_risk", [
    ("unschedulable", NOW - 3 * D - timedelta(seconds=1), True), ("unschedulable", NOW - 3 * D, False),
    ("unschedulable", NOW - D, False), ("unschedulable", None, False), ("ready", NOW - 30 * D, False),
    ("needs_attention", NOW - 30 * D, False)])
def test_unschedulable_for_more_than_3_days(status, since, at_risk):
    assert rules(PairFacts(status, state_since=since)) == (["unschedulable"] if at_risk else [])


@pytest.mark.parametrize("status", ["paused", "ended"])
def test_paused_and_ended_pairs_are_never_at_risk(status):
    facts = PairFacts(status, state_since=NOW - 90 * D, misses_in_a_row=4, unanswered_in_a_row=4,
                      first_session=NOW - 90 * D, broken=(BrokenConnection("mentor", "Mina", "Google"),))
    assert reasons(facts, NOW) == ()


@pytest.mark.parametrize("status", ACTIVE)
def test_every_rule_at_once_in_order(status):
    facts = PairFacts(status, state_since=NOW - 10 * D, misses_in_a_row=2, unanswered_in_a_row=2,
                      first_session=NOW - 60 * D, last_held=NOW - 40 * D,
                      broken=(BrokenConnection("mentor", "Mina", "Google"),))
    expected = [r for r in RULES if r != "unschedulable" or status == "unschedulable"]
    assert rules(facts) == expected
