"""The same stored reason, worded per reader (issue 13): the pair page gives the person what they
can do and where; the program page keeps the coordinator's diagnosis and their actions."""
from __future__ import annotations

from scheduler.services.pair_page import pair_page
from scheduler.services.planning import plan_mentor_group
from scheduler.services.programs import program_page


def test_the_mentee_and_the_coordinator_read_the_same_reason_each_their_way(deps, seed):
    s = seed(status="ready", connected=True, mentor_tz="Europe/Rome", mentee_tz="Pacific/Auckland")
    plan_mentor_group(deps, s.pair_id)

    mine = pair_page(deps, s.pair_id, s.mentee_id)
    assert mine.status == "unschedulable" and mine.may_try_again
    assert mine.reason_for_you.startswith("Your working hours and Mina's never overlap")
    assert mine.reason_links == ("hours",)
    assert "pair them" not in mine.reason_for_you and "Europe/Rome" not in mine.reason_for_you

    (line,) = program_page(deps, s.program_id).overview
    assert "share no working time" in line.detail and "pair them with someone in a closer time zone" in line.detail
    assert "Europe/Rome" in line.detail


def test_a_pair_without_a_reason_shows_none(deps, seed):
    s = seed(status="booked", connected=True)
    page = pair_page(deps, s.pair_id, s.mentor_id)
    assert (page.reason_for_you, page.reason_links, page.may_try_again) == (None, (), False)
