"""The dashboard read model on the in-memory unit of work: numbers by hand, filters, sorting,
pages, the viewer's zone for weeks and months, and bad filters."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.core.entities import CalendarConnection, Membership, Occurrence, Pair, Person, Series
from scheduler.errors import InvalidInput
from scheduler.services import dashboard as service
from scheduler.services.programs import UnknownProgram
from tests.unit.services.booked import T0

D = timedelta(days=1)


def _sessions(deps, pair_id, *sessions):
    with deps.uow() as uow:
        series = uow.series.add(Series(pair_id=pair_id, status="booked", tz="UTC", duration_min=45))
        for start, verdict, *signals in sessions:
            uow.occurrences.add(Occurrence(series_id=series.id, original_start=start, start=start,
                                           end=start + timedelta(minutes=45), attendance_verdict=verdict,
                                           attendance_signals=list(signals)))
        uow.commit()


@pytest.fixture
def board(deps, seed, store):
    """T0 is Monday 2 March 2026, 08:00 UTC. The seeded pair (booked): held 20 Feb, missed 24 and
    26 Feb with nobody answering, next on 5 March. A second pair, unschedulable since 25 Feb, whose
    mentor's calendar is broken."""
    s = seed(status="booked")
    no_answer = {"kind": "no_answer", "by": "mentee", "detail": "3"}
    _sessions(deps, s.pair_id, (T0 - 11 * D, "held"), (T0 - 6 * D, "missed", no_answer),
              (T0 - 4 * D, "missed", no_answer), (T0 + 3 * D, "unknown"))
    with deps.uow() as uow:
        other = uow.people.add(Person(email="olu@example.org", name="Olu"))
        mentor = uow.people.add(Person(email="ada@example.org", name="Ada"))
        uow.connections.add(CalendarConnection(person_id=mentor.id, provider="google", status="reconnect"))
        uow.memberships.add(Membership(program_id=s.program_id, person_id=mentor.id, role="mentor"))
        uow.memberships.add(Membership(program_id=s.program_id, person_id=other.id, role="mentee"))
        pair = uow.pairs.add(Pair(program_id=s.program_id, mentor_id=mentor.id, mentee_id=other.id,
                                  status="unschedulable"))
        uow.commit()
        second = pair.id
    store.tables[Pair][second]["updated_at"] = T0 - 5 * D  # the state was entered on 25 Feb
    return s, second


def test_numbers_by_hand(deps, board):
    s, second = board
    page = service.dashboard(deps, s.program_id)
    h = page.headline
    assert (h.pairs, h.at_risk, h.broken_connections) == (2, 2, 1)
    assert dict((state, n) for state, _, n in h.pairs_by_state) == {"booked": 1, "unschedulable": 1}
    # March 2026 so far (UTC): nothing has happened yet
    assert (h.held_this_month, h.missed_this_month, h.missed_rate) == (0, 0, None)
    assert {rule: n for rule, _, n in h.risk_by_rule} == {"misses": 1, "no_held": 0, "connection": 1,
                                                          "unanswered": 1, "unschedulable": 1}
    assert [(b.label, b.held, b.missed) for b in page.weeks[-2:]] == [("23 Feb", 0, 2), ("2 Mar", 0, 0)]
    assert page.weeks[-3] == service.Bar("16 Feb", 1, 0) and len(page.weeks) == 12
    assert [(b.label, b.held, b.missed) for b in page.mentors] == [("Mina", 1, 2)]
    lines = {line.pair_id: line for line in page.lines}
    mine = lines[s.pair_id]
    assert (mine.last_held, mine.next_start, mine.misses_in_a_row) == (T0 - 11 * D, T0 + 3 * D, 2)
    assert [r.rule for r in mine.reasons] == ["misses", "unanswered"] and mine.connection == "ok"
    other = lines[second]
    assert [r.rule for r in other.reasons] == ["connection", "unschedulable"]
    assert other.reasons[0].text == "Ada (mentor) must reconnect their Google calendar."
    assert other.reasons[1].text == "No common time found for 5 days."
    assert (other.last_held_text, other.next_text) == ("never", "none planned")


def test_last_month_in_the_viewer_s_zone(deps, board, clock):
    s, _ = board
    clock.advance(days=-4)  # 26 Feb 08:00 UTC: February is this month
    h = service.dashboard(deps, s.program_id, viewer_tz="Pacific/Auckland").headline
    # Auckland is at 26 Feb 21:00: 20 Feb (held) and 24 Feb (missed) are in February there; the
    # session starting right now (26 Feb 08:00 UTC) is not counted yet.
    assert (h.held_this_month, h.missed_this_month) == (1, 1)
    assert h.missed_rate == 0.5


def test_filters_sorting_and_pages(deps, board):
    s, second = board
    with deps.uow() as uow:
        for i in range(120):
            m = uow.people.add(Person(email=f"m{i}@example.org", name=f"Zed {i:03d}"))
            e = uow.people.add(Person(email=f"e{i}@example.org", name=f"Eve {i:03d}"))
            uow.pairs.add(Pair(program_id=s.program_id, mentor_id=m.id, mentee_id=e.id))
        uow.commit()
    first = service.dashboard(deps, s.program_id)
    assert (first.matching, first.pages, len(first.lines)) == (122, 3, 50)
    last = service.dashboard(deps, s.program_id, service.Filters(page=9))
    assert (last.page, len(last.lines)) == (3, 22)  # a page past the end shows the last one
    risky = service.dashboard(deps, s.program_id, service.Filters(risk="yes"))
    assert {line.pair_id for line in risky.lines} == {s.pair_id, second}
    assert [x.pair_id for x in service.dashboard(deps, s.program_id, service.Filters(risk="unanswered")).lines] \
        == [s.pair_id]
    assert service.dashboard(deps, s.program_id, service.Filters(risk="no")).matching == 120
    assert service.dashboard(deps, s.program_id, service.Filters(state="unschedulable")).matching == 1
    assert service.dashboard(deps, s.program_id, service.Filters(mentor=s.mentor_id)).matching == 1
    assert service.dashboard(deps, s.program_id, service.Filters(mentor="ZED 11")).matching == 10
    desc = service.dashboard(deps, s.program_id, service.Filters(sort="name", descending=True))
    assert desc.lines[0].mentor_name == "Zed 119"
    misses = service.dashboard(deps, s.program_id, service.Filters(sort="misses", descending=True))
    assert misses.lines[0].pair_id == s.pair_id
    nxt = service.dashboard(deps, s.program_id, service.Filters(sort="next", descending=True))
    assert nxt.lines[0].pair_id == s.pair_id  # pairs with nothing planned go last either way
    assert service.Filters(state="booked", sort="misses", page=2).query(page=3) == {
        "state": "booked", "sort": "misses", "page": "3"}


@pytest.mark.parametrize("args, words", [({"state": "gone"}, "Unknown state"), ({"risk": "x"}, "at-risk filter"),
                                         ({"sort": "x"}, "cannot be sorted"), ({"order": "up"}, "asc or desc"),
                                         ({"page": "-1"}, "not a page number"), ({"page": "x"}, "not a page")])
def test_bad_filters_say_what_to_use(args, words):
    with pytest.raises(InvalidInput, match=words):
        service.parse_filters(args)


def test_good_filters_are_read():
    f = service.parse_filters({"state": "booked", "risk": "misses", "mentor": " Mina ", "sort": "last_held",
                               "order": "desc", "page": "2"})
    assert f == service.Filters("booked", "misses", "Mina", "last_held", True, 2)


def test_an_unknown_program(deps):
    with pytest.raises(UnknownProgram):
        service.program_dashboard_page(deps, "nope")
