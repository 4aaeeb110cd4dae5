"""Pure rules of the coordinator services: CSV rows, program settings, time zones, signed links."""
from __future__ import annotations

import doctest
from datetime import timedelta

import pytest

import scheduler.services.onboarding as onboarding
import scheduler.services.programs as programs
from scheduler.errors import UnknownTimeZone
from scheduler.services.onboarding import OnboardingAnswers, check_answers, validate_timezone
from scheduler.services.programs import ProgramSpec, _read_rows, validate_program_spec
from adapters.links import LinkSigner
from scheduler.services.links import LinkError


def test_doctests():
    assert doctest.testmod(programs).failed == 0
    assert doctest.testmod(onboarding).failed == 0


def test_csv_rows_are_normalised_and_blank_lines_skipped():
    rows, errors = _read_rows("\ufeffMentor_Email, Mentee_Email\n A@X.org , b@x.org \n\n")
    assert errors == []
    assert [(r.line, r.mentor_email, r.mentee_email) for r in rows] == [(2, "a@x.org", "b@x.org")]


def test_csv_row_with_an_extra_value_is_reported_with_its_line():
    _, errors = _read_rows("mentor_email,mentee_email\na@x.org,b@x.org,c@x.org\n")
    assert [(e.line, e.message[:40]) for e in errors] == [(2, "This row has more values than the header")]


def test_an_empty_csv_says_to_add_pairs():
    _, errors = _read_rows("mentor_email,mentee_email\n")
    assert errors[0].line == 1 and "no pairs" in errors[0].message


def test_program_spec_problems_name_what_to_change():
    assert validate_program_spec(ProgramSpec(name="Ok")) == []
    problems = validate_program_spec(ProgramSpec(name="x", cadence="daily", repair_policy="ignore",
                                                 reminder_offsets_min=(1,)))
    assert "Cadence must be one of weekly, biweekly, monthly." in problems
    assert "Conflict repair must be one of auto, propose, notify." in problems
    assert "Reminders must be between 5 minutes and 14 days before a session." in problems


def test_time_zones_must_be_iana_names():
    assert validate_timezone("America/Sao_Paulo") == "America/Sao_Paulo"
    with pytest.raises(UnknownTimeZone, match="'Mars/Olympus' is not a time zone Tandem knows"):
        validate_timezone("Mars/Olympus")
    with pytest.raises(UnknownTimeZone, match="Choose your time zone"):
        validate_timezone("  ")


def test_answers_that_leave_no_time_are_refused():
    answers = OnboardingAnswers(tz="Europe/Berlin", working_hours={"mon": [["09:00", "12:00"]]},
                                preferences={"earliest": "13:00"})
    assert any("leave none of the working hours" in p for p in check_answers(answers))
    assert check_answers(OnboardingAnswers(tz="Europe/Berlin", working_hours={}, preferences={})) == [
        "Tick at least one day you could meet, with a start and an end time."]


def test_links_are_bound_to_their_purpose_and_key():
    signer = LinkSigner("k" * 40, invite_max_age_days=14)
    token = signer.sign("invite", {"p": "person"})
    assert signer.read("invite", token) == {"p": "person"}
    with pytest.raises(LinkError, match="not valid"):
        signer.read("signin", token)
    with pytest.raises(LinkError, match="not valid"):
        LinkSigner("j" * 40, 14).read("invite", token)
    signer.max_age["invite"] = timedelta(seconds=-1)
    with pytest.raises(LinkError, match="expired. Ask your program coordinator"):
        signer.read("invite", token)
