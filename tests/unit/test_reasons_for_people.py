"""Every reason Tandem stores has a code, and the people of the pair read their own sentence for
it (what they can do, and where), never the coordinator's diagnosis (issue 13)."""
from __future__ import annotations

import doctest

import pytest

from scheduler.core import reasons, wording
from scheduler.core.availability import PersonAvailability, WeeklyHours
from scheduler.services.pair_status import NO_SESSIONS_LEFT

HOURS = WeeklyHours.from_mapping({d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")})
ROME, AUCKLAND = PersonAvailability("m", "Europe/Rome", HOURS), PersonAvailability("e", "Pacific/Auckland", HOURS)

STORED = {
    "no_shared_working_time": reasons.no_shared_working_time(ROME, AUCKLAND),
    "shared_time_too_short": reasons.shared_time_too_short(ROME, AUCKLAND, "Mon 09:00-09:30 UTC", 45),
    "horizon_passed": reasons.horizon_passed("from 2026-03-02, 8 weeks"),
    "always_busy": reasons.always_busy("the mentee's calendar", "Mon 09:00-12:00 UTC"),
    "cap_reached": reasons.cap_reached(2),
    "taken_by_other_sessions": reasons.taken_by_other_sessions("mentor", ["Ada", "Bo"]),
    "no_pattern_fits": reasons.no_pattern_fits("weekly"),
    "too_few_sessions": reasons.too_few_sessions("weekly Mon 09:00 Europe/Rome", 1, 4),
    "session_lost": "no mutual time left for the session of 10 Mar: mentee: busy",
    "no_sessions_left": NO_SESSIONS_LEFT,
    "series_removed": "the booked series was deleted from the organizer's calendar",
    "waiting_for_reconnect": "waiting for ezra@example.org to reconnect their calendar",
}


@pytest.mark.parametrize("code", sorted(STORED))
def test_every_stored_reason_has_its_code_and_a_sentence_for_each_person(code):
    assert reasons.reason_code(STORED[code]) == code
    for role in ("mentor", "mentee"):
        text, links = reasons.for_person(code, role, "Mina")
        assert text and set(links) <= {"hours", "calendars"}
        # never the coordinator's instructions nor the other person's zone and hours
        assert not any(w in text for w in ("pair them", "assign another mentor", "mentor_max", "Europe/Rome",
                                           "horizon start", "lower the count"))


def test_a_reason_tandem_does_not_know_gets_a_general_sentence_with_both_links():
    assert reasons.reason_code("earliest must be before latest") == "other"
    assert reasons.for_person("other", "mentee", "Mina")[1] == ("hours", "calendars")
    assert reasons.reason_code(None) is None and reasons.for_person(None, "mentee", "Mina") is None


def test_every_cap_reason_reads_as_the_cap_for_the_people_of_the_pair():
    for text in (reasons.cap_shared(1, 5, 0, 4), reasons.cap_leaves_too_few(2, "weekly Mon 09:00 Europe/Rome", 1, 4)):
        assert reasons.reason_code(text) == "cap_reached"


def test_the_mentor_and_the_mentee_read_the_cap_from_their_side():
    assert "your weekly number" in reasons.for_person("cap_reached", "mentor", "Ezra")[0]
    assert "as many sessions as the mentor takes" in reasons.for_person("cap_reached", "mentee", "Mina")[0]


@pytest.mark.parametrize("offsets, text", [
    ([1440, 60], "1 day and 1 hour before"),
    ([60, 1440], "1 day and 1 hour before"),
    ([30], "30 minutes before"),
    ([1440], "1 day before"),
    ([2880, 90, 15], "2 days, 1 hour 30 minutes and 15 minutes before"),
    ([10080, 1440], "1 week and 1 day before"),
    ([], "none"),
])
def test_reminder_offsets_read_as_words(offsets, text):
    assert wording.reminders_before(offsets) == text


def test_doctests():
    assert doctest.testmod(reasons).failed == 0 and doctest.testmod(wording).failed == 0
