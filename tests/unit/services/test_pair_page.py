"""The pair page and the home page's list of pairs, read from the in-memory unit of work."""
from __future__ import annotations

from datetime import timedelta

from scheduler.core.entities import Goal, Occurrence, Series
from scheduler.services.pair_page import pair_page, pairs_of_person
from tests.unit.services.booked import T0


def test_the_page_lists_upcoming_sessions_in_both_zones_and_the_history(deps, seed):
    s = seed(status="booked")
    with deps.uow() as uow:
        series = uow.series.add(Series(pair_id=s.pair_id, rrule="FREQ=WEEKLY", dtstart_local="2026-02-24T15:00:00",
                                       tz="Europe/Berlin", duration_min=45, status="booked",
                                       video_url="https://meet.example/abc"))
        old = uow.series.add(Series(pair_id=s.pair_id, rrule="FREQ=WEEKLY", dtstart_local="2026-02-24T15:00:00",
                                    tz="Europe/Berlin", duration_min=45, status="cancelled"))
        for week in range(-1, 4):
            start = T0.replace(hour=14) + timedelta(days=1, weeks=week)
            uow.occurrences.add(Occurrence(series_id=series.id, original_start=start, start=start,
                                           end=start + timedelta(minutes=45), attendance="met" if week < 0 else "unknown",
                                           agenda=f"Agenda {week}"))
        start = T0.replace(hour=16) + timedelta(days=2)
        uow.occurrences.add(Occurrence(series_id=old.id, original_start=start, start=start,
                                       end=start + timedelta(minutes=45)))
        uow.goals.add(Goal(pair_id=s.pair_id, text="Lead a design review"))
        uow.commit()

    page = pair_page(deps, s.pair_id, s.mentor_id, limit=3)

    assert (page.role, page.other_name, page.status_label) == ("mentor", "Ezra", "Booked")
    assert (page.my_tz, page.other_tz) == ("Europe/Berlin", "America/New_York")
    assert [u.time.mine for u in page.upcoming] == ["Tue 3 Mar, 15:00–15:45", "Tue 10 Mar, 15:00–15:45",
                                                   "Tue 17 Mar, 15:00–15:45"]
    assert [u.time.theirs for u in page.upcoming] == ["Tue 3 Mar, 09:00–09:45", "Tue 10 Mar, 10:00–10:45",
                                                     "Tue 17 Mar, 10:00–10:45"]
    assert page.upcoming[1].time.dst_note  # New York's clocks change on 8 March
    assert page.more_upcoming == 1  # the cancelled series' session is not listed
    assert [(h.when, h.attendance) for h in page.history] == [("Tue 24 Feb, 15:00–15:45", "Met")]
    assert page.video_url == "https://meet.example/abc"
    assert [g.text for g in page.goals] == ["Lead a design review"]
    assert page.needs_setup is False

    mentee_view = pair_page(deps, s.pair_id, s.mentee_id)
    assert (mentee_view.role, mentee_view.other_name, mentee_view.my_tz) == ("mentee", "Mina", "America/New_York")
    assert len(mentee_view.upcoming) == 4 and mentee_view.more_upcoming == 0


def test_the_home_page_lists_each_pair_with_the_other_person(deps, seed):
    s = seed(status="unschedulable")

    (as_mentor,) = pairs_of_person(deps, s.mentor_id)
    (as_mentee,) = pairs_of_person(deps, s.mentee_id)

    assert (as_mentor.role, as_mentor.other_name, as_mentor.program_name) == ("mentor", "Ezra", "Pilot")
    assert (as_mentee.role, as_mentee.other_name) == ("mentee", "Mina")
    assert (as_mentor.state, as_mentor.state_label) == ("needs_attention", "No common time found")
    assert pairs_of_person(deps, s.coordinator_id) == []
