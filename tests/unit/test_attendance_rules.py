"""The attendance rules (scheduler/core/attendance.py) on every combination of signals: both
people's answers (none, met, didn't meet, moved), a cancellation (none, skipped in Tandem, a
calendar cancellation, deletion or decline, a status without a recorded signal), where time is
(upcoming, within the answer window, past it) and a coordinator's correction."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from scheduler.core.attendance import (LEGACY, Answer, Signal, check_correction, recorded_signals, resolve,
                                       verdict_of)

START = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc)
END = START + timedelta(minutes=45)
WINDOW = timedelta(days=3)
UPCOMING = START - timedelta(hours=1)
IN_WINDOW = END + timedelta(days=1)
AFTER_WINDOW = END + timedelta(days=3)

ANSWER_CHOICES = (None, "met", "not_met", "moved")
# cancellation choice -> (status, recorded signals, expected cancelled_by)
CANCELS = {
    "none": ("scheduled", [], None),
    "skipped_by_mentor": ("skipped", [Signal("skipped", START - timedelta(days=2), "mentor")], "mentor"),
    "tandem_cancelled": ("cancelled", [Signal("cancelled", START - timedelta(hours=3), None)], None),
    "calendar_cancelled": ("cancelled", [Signal("calendar_cancelled", START - timedelta(hours=5))], None),
    "calendar_deleted": ("cancelled", [Signal("calendar_deleted", START - timedelta(hours=30))], None),
    "declined_by_mentee": ("scheduled", [Signal("calendar_declined", START - timedelta(hours=2), "mentee")], "mentee"),
    "status_only": ("skipped", [], None),
}


def expected_from_answers(mentor: str | None, mentee: str | None, cancelled: bool) -> str:
    given = {mentor, mentee} - {None}
    if {"met", "not_met"} <= given:
        return "disputed"
    if "met" in given:
        return "held"
    if "moved" in given:
        return "moved"
    if "not_met" in given:
        return "cancelled" if cancelled else "missed"
    return "cancelled" if cancelled else "unknown"


# The same rules written out as a table (mentor's answer, mentee's answer) -> (no cancel, cancelled).
TABLE = {
    (None, None): ("unknown", "cancelled"),
    ("met", None): ("held", "held"), (None, "met"): ("held", "held"),
    ("met", "met"): ("held", "held"),
    ("met", "not_met"): ("disputed", "disputed"), ("not_met", "met"): ("disputed", "disputed"),
    ("met", "moved"): ("held", "held"), ("moved", "met"): ("held", "held"),
    ("not_met", None): ("missed", "cancelled"), (None, "not_met"): ("missed", "cancelled"),
    ("not_met", "not_met"): ("missed", "cancelled"),
    ("not_met", "moved"): ("moved", "moved"), ("moved", "not_met"): ("moved", "moved"),
    ("moved", None): ("moved", "moved"), (None, "moved"): ("moved", "moved"),
    ("moved", "moved"): ("moved", "moved"),
}


def test_the_table_covers_every_pair_of_answers_and_matches_the_rules():
    assert set(TABLE) == set(itertools.product(ANSWER_CHOICES, ANSWER_CHOICES))
    for (mentor, mentee), (plain, cancelled) in TABLE.items():
        assert expected_from_answers(mentor, mentee, False) == plain
        assert expected_from_answers(mentor, mentee, True) == cancelled


def _answers(mentor, mentee):
    out = {}
    if mentor:
        out["mentor"] = Answer(mentor, END + timedelta(hours=1))
    if mentee:
        out["mentee"] = Answer(mentee, END + timedelta(hours=2))
    return out


@pytest.mark.parametrize("mentor,mentee,cancel,now", list(itertools.product(
    ANSWER_CHOICES, ANSWER_CHOICES, CANCELS, (UPCOMING, IN_WINDOW, AFTER_WINDOW))))
def test_every_combination_of_signals(mentor, mentee, cancel, now):
    status, recorded, by = CANCELS[cancel]
    v = resolve(status=status, start=START, end=END, now=now, window=WINDOW, answers=_answers(mentor, mentee),
                recorded=recorded)
    plain, cancelled = TABLE[(mentor, mentee)]
    assert v.verdict == (plain if cancel == "none" else cancelled)
    assert not v.corrected
    kinds = [s.kind for s in v.signals]
    # every answer is listed beside the verdict, by whom and what
    assert [(s.by, s.detail) for s in v.signals if s.kind == "answer"] == \
        [(r, a) for r, a in (("mentor", mentor), ("mentee", mentee)) if a]
    # every cancellation is listed (a bare status stands in for an unrecorded one)
    expected_cancel_kinds = [s.kind for s in recorded] + (["status"] if cancel == "status_only" else [])
    assert [k for k in kinds if k not in ("answer", "no_answer")] == expected_cancel_kinds
    # silence is a signal only once the window has passed, one per person who did not answer
    silent = [s.by for s in v.signals if s.kind == "no_answer"]
    if now >= AFTER_WINDOW and cancel == "none":  # nobody is asked about a cancelled session
        assert silent == [r for r, a in (("mentor", mentor), ("mentee", mentee)) if not a]
        assert all(s.detail == "3" for s in v.signals if s.kind == "no_answer")
    else:
        assert silent == []
    if v.verdict == "cancelled":
        assert v.cancelled_by == by
        if recorded:
            assert v.notice == START - recorded[0].at
        else:
            assert v.notice is None
    else:
        assert v.cancelled_by is None and v.notice is None
    # the deciding signals come first
    if v.verdict in ("held", "moved", "missed", "disputed"):
        assert v.signals[0].kind == "answer"
    elif v.verdict == "cancelled":
        assert v.signals[0].kind in ("skipped", "cancelled", "calendar_cancelled", "calendar_deleted",
                                     "calendar_declined", "status")


@pytest.mark.parametrize("verdict", ["held", "missed", "cancelled", "moved", "unknown"])
@pytest.mark.parametrize("mentor,mentee", [(None, None), ("met", "not_met"), ("not_met", None), ("moved", "met")])
@pytest.mark.parametrize("cancel", ["none", "skipped_by_mentor", "calendar_deleted"])
def test_a_coordinators_correction_overrides_every_other_signal(verdict, mentor, mentee, cancel):
    status, recorded, _ = CANCELS[cancel]
    correction = Signal("corrected", AFTER_WINDOW, "coordinator", verdict)
    v = resolve(status=status, start=START, end=END, now=AFTER_WINDOW, window=WINDOW,
                answers=_answers(mentor, mentee), recorded=[*recorded, correction])
    assert v.verdict == verdict and v.corrected
    assert v.signals[0] == correction
    assert sum(s.kind == "answer" for s in v.signals) == len([a for a in (mentor, mentee) if a])


def test_the_latest_correction_wins():
    first = Signal("corrected", END + timedelta(days=1), "coordinator", "missed")
    second = Signal("corrected", END + timedelta(days=2), "coordinator", "held")
    v = resolve(status="scheduled", start=START, end=END, now=AFTER_WINDOW, window=WINDOW,
                recorded=[first, second])
    assert v.verdict == "held" and v.signals[0] == second


def test_how_late_a_cancellation_was():
    late = resolve(status="skipped", start=START, end=END, now=UPCOMING, window=WINDOW,
                   recorded=[Signal("skipped", START - timedelta(hours=2), "mentee")])
    early = resolve(status="skipped", start=START, end=END, now=UPCOMING, window=WINDOW,
                    recorded=[Signal("skipped", START - timedelta(days=3), "mentor")])
    after = resolve(status="scheduled", start=START, end=END, now=IN_WINDOW, window=WINDOW,
                    recorded=[Signal("calendar_declined", START + timedelta(minutes=5), "mentor")])
    assert (late.verdict, late.cancelled_by, late.notice, late.late) == ("cancelled", "mentee", timedelta(hours=2), True)
    assert (early.cancelled_by, early.late) == ("mentor", False)
    assert after.notice == -timedelta(minutes=5) and after.late


def test_the_earliest_cancellation_says_who_cancelled():
    v = resolve(status="cancelled", start=START, end=END, now=UPCOMING, window=WINDOW, recorded=[
        Signal("calendar_cancelled", START - timedelta(hours=1)),
        Signal("calendar_declined", START - timedelta(days=1), "mentee")])
    assert v.cancelled_by == "mentee" and [s.kind for s in v.signals] == ["calendar_declined", "calendar_cancelled"]


def test_a_session_tandem_could_not_keep_is_listed_and_unknown_without_answers():
    v = resolve(status="conflict", start=START, end=END, now=AFTER_WINDOW, window=WINDOW)
    assert v.verdict == "unknown"
    assert [(s.kind, s.detail) for s in v.signals] == [("status", "conflict"), ("no_answer", "3"), ("no_answer", "3")]


@pytest.mark.parametrize("days", [1, 3, 7])
def test_the_answer_window_is_the_programs(days):
    window = timedelta(days=days)
    just_before = resolve(status="scheduled", start=START, end=END, now=END + window - timedelta(seconds=1),
                          window=window)
    at = resolve(status="scheduled", start=START, end=END, now=END + window, window=window)
    assert just_before.signals == ()
    assert [s.by for s in at.signals] == ["mentor", "mentee"] and at.verdict == "unknown"
    assert at.signals[0].at == END + window


def test_unknown_answers_and_roles_are_ignored():
    v = resolve(status="scheduled", start=START, end=END, now=IN_WINDOW, window=WINDOW,
                answers={"coordinator": Answer("met"), "mentor": Answer("maybe")})
    assert v.verdict == "unknown" and v.signals == ()


def test_signals_round_trip_through_json_and_only_facts_are_kept():
    v = resolve(status="skipped", start=START, end=END, now=AFTER_WINDOW, window=WINDOW,
                answers=_answers("not_met", None),
                recorded=[Signal("skipped", START - timedelta(days=1), "mentor"),
                          Signal("corrected", AFTER_WINDOW, "coordinator", "missed")])
    stored = v.to_json()
    assert [Signal.from_json(d) for d in stored] == list(v.signals)
    assert [s.kind for s in recorded_signals(stored)] == ["corrected", "skipped"]
    assert recorded_signals(None) == []


def test_old_attendance_values_stay_readable():
    assert {old: verdict_of(old) for old in LEGACY} == {"met": "held", "missed": "missed",
                                                         "rescheduled": "moved", "unknown": "unknown"}
    assert verdict_of("held") == "held" and verdict_of(None) == "unknown" and verdict_of("weird") == "unknown"


def test_a_correction_must_be_a_verdict_a_coordinator_may_set():
    assert check_correction("held") == "held"
    with pytest.raises(ValueError, match="choose one of: held, missed, cancelled, moved, unknown"):
        check_correction("disputed")
