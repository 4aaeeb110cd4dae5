"""The program dashboard on the program page: headline numbers and charts on seeded data computed
by hand, the pairs table's filters, sorting and pages (links keep the filters), bad filters, and
who may see it."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from adapters.storage.models import CalendarConnection, Occurrence, Pair, Person, Series
from tests.support.web import sign_in_as

NOW = datetime.now(timezone.utc)


def _series(s, pair_id: str) -> Series:
    series = Series(pair_id=pair_id, rrule="FREQ=WEEKLY", dtstart_local="2026-01-01T10:00:00", tz="UTC",
                    duration_min=45, status="booked")
    s.add(series)
    s.flush()
    return series


def _occ(s, series: Series, start: datetime, verdict: str, signals=None) -> None:
    s.add(Occurrence(series_id=series.id, original_start=start, start=start, end=start + timedelta(minutes=45),
                     attendance_verdict=verdict, attendance_signals=signals or []))


@pytest.fixture
def program(container, seeded):
    """The seeded pair (Max & Mia, booked): held 10 days ago, then missed 3 and 2 days ago (two
    in a row), one still to come in 3 days. A second pair (Ada & Olu, booked) had its first
    session 40 days ago (held), nothing held since: no held session in 30 days; Olu's calendar
    must be reconnected. Sixty more pairs (invited) fill the table past one page."""
    with container.uow() as uow:
        s = uow.session
        s.get(Pair, seeded.pair_id).status = "booked"
        first = _series(s, seeded.pair_id)
        day = timedelta(days=1)
        _occ(s, first, NOW - 10 * day, "held")
        _occ(s, first, NOW - 3 * day, "missed")
        _occ(s, first, NOW - 2 * day, "missed")
        _occ(s, first, NOW + 3 * day, "unknown")
        second = Pair(program_id=seeded.program_id, mentor_id=seeded.admin_id, mentee_id=seeded.other_mentee_id,
                      status="booked")
        s.add(second)
        s.flush()
        other = _series(s, second.id)
        _occ(s, other, NOW - 40 * day, "held")
        _occ(s, other, NOW - 33 * day, "cancelled")
        s.add(CalendarConnection(person_id=seeded.other_mentee_id, provider="google", account_email="o@example.org",
                                 status="reconnect"))
        for i in range(60):
            mentor = Person(email=f"m{i:02d}@example.org", name=f"Zed Mentor {i:02d}")
            mentee = Person(email=f"e{i:02d}@example.org", name=f"Eve Mentee {i:02d}")
            s.add_all([mentor, mentee])
            s.flush()
            s.add(Pair(program_id=seeded.program_id, mentor_id=mentor.id, mentee_id=mentee.id))
        uow.commit()
        return second.id


def _page(client, seeded, query: str = ""):
    return client.get(f"/programs/{seeded.program_id}{query}")


def _text(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">(.*?)</dd>', page, re.S)
    assert match, element_id
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def _held_missed_this_month(seeded_days: list[tuple[int, str]]) -> tuple[int, int]:
    month_start = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    held = sum(1 for d, v in seeded_days if v == "held" and NOW - timedelta(days=d) >= month_start)
    missed = sum(1 for d, v in seeded_days if v == "missed" and NOW - timedelta(days=d) >= month_start)
    return held, missed


def test_headline_numbers_charts_and_reasons(client, seeded, program):
    sign_in_as(client, seeded.coordinator_id)  # no zone set: months and weeks in UTC
    reply = _page(client, seeded)
    page = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert _text(page, "h-pairs") == "62"
    held, missed = _held_missed_this_month([(10, "held"), (3, "missed"), (2, "missed"), (40, "held")])
    assert (_text(page, "h-held"), _text(page, "h-missed")) == (str(held), str(missed))
    rate = f"{round(100 * missed / (held + missed))}%" if held + missed else "—"
    assert _text(page, "h-missed-rate") == rate
    assert _text(page, "h-at-risk") == "2" and _text(page, "h-broken") == "1"
    assert "Booked: 2" in page and "Setting up: 60" in page
    # both charts are inline SVG with a title, a description and a table of the same numbers
    assert page.count("<svg") >= 2 and 'id="chart-weekly"' in page and 'id="chart-mentors"' in page
    assert "<title id=\"chart-weekly-title\">" in page and "<desc id=\"chart-weekly-desc\">" in page
    assert "12 weeks: 2 sessions held and 2 missed in all." in page
    weekly = re.search(r'id="table-weekly".*?</table>', page, re.S).group(0)
    assert len(re.findall(r"<tr><th scope=\"row\">", weekly)) == 12
    counts = [tuple(map(int, m)) for m in re.findall(r"</th><td>(\d+)</td><td>(\d+)</td></tr>", weekly)]
    assert sum(h for h, _ in counts) == 2 and sum(m for _, m in counts) == 2  # 10 days ago, 40 days ago (week 6)
    mentors = re.search(r'id="table-mentors".*?</table>', page, re.S).group(0)
    assert mentors.index("Max Mentor") < mentors.index("Ada Admin")  # the most missed first
    assert "<td>1</td><td>2</td>" in mentors and "<td>1</td><td>0</td>" in mentors
    assert "cdn" not in page.lower() and "chart.js" not in page.lower()
    # the seeded pair's line: last held, next, misses in a row, its reason
    row = re.search(rf'data-dashboard-pair="{seeded.pair_id}".*?</tr>', page, re.S).group(0)
    assert '<td class="misses">2</td>' in row and "Missed the last 2 sessions in a row." in row
    assert "none planned" not in row and "never" not in row
    second = re.search(rf'data-dashboard-pair="{program}".*?</tr>', page, re.S).group(0)
    assert "No session held in the last 40 days." in second
    assert "Olu Other (mentee) must reconnect their Google calendar." in second
    assert 'class="connection-broken"' in second
    # the existing content stays
    assert 'id="pairs"' in page and "Import pairs from a CSV file" in page


def test_filters_sorting_and_pages_keep_each_other(client, seeded, program):
    sign_in_as(client, seeded.coordinator_id)
    page = _page(client, seeded).get_data(as_text=True)
    assert "62 pairs match; page 1 of 2." in page
    assert page.count("data-dashboard-pair=") == 50
    page2 = _page(client, seeded, "?page=2").get_data(as_text=True)
    assert page2.count("data-dashboard-pair=") == 12
    risky = _page(client, seeded, "?risk=yes").get_data(as_text=True)
    assert "2 pairs match." in risky and risky.count("data-dashboard-pair=") == 2
    only = _page(client, seeded, "?risk=connection").get_data(as_text=True)
    assert only.count("data-dashboard-pair=") == 1 and f'data-dashboard-pair="{program}"' in only
    booked = _page(client, seeded, "?state=invited&mentor=zed&sort=name&order=desc").get_data(as_text=True)
    assert "60 pairs match; page 1 of 2." in booked
    assert booked.index("Zed Mentor 59") < booked.index("Zed Mentor 58")
    nxt = re.search(r'rel="next" href="([^"]+)"', booked).group(1).replace("&amp;", "&")
    assert all(part in nxt for part in ("state=invited", "mentor=zed", "order=desc", "page=2"))
    assert client.get(nxt).get_data(as_text=True).count("data-dashboard-pair=") == 10
    by_mentor = _page(client, seeded, f"?mentor={seeded.mentor_id}").get_data(as_text=True)
    assert "1 pair matches." in by_mentor
    misses = _page(client, seeded, "?sort=misses&order=desc").get_data(as_text=True)
    first = re.search(r'data-dashboard-pair="([^"]+)"', misses).group(1)
    assert first == seeded.pair_id
    held = _page(client, seeded, "?sort=last_held&order=desc").get_data(as_text=True)
    assert re.findall(r'data-dashboard-pair="([^"]+)"', held)[:2] == [seeded.pair_id, program]
    soon = _page(client, seeded, "?sort=next").get_data(as_text=True)
    assert re.search(r'data-dashboard-pair="([^"]+)"', soon).group(1) == seeded.pair_id


@pytest.mark.parametrize("query, words", [("?state=lost", "Unknown state"), ("?page=0", "not a page number"),
                                          ("?sort=colour", "cannot be sorted by"), ("?risk=maybe", "at-risk filter")])
def test_a_bad_filter_says_what_to_use(client, seeded, query, words):
    sign_in_as(client, seeded.coordinator_id)
    reply = _page(client, seeded, query)
    assert reply.status_code == 400 and words in reply.get_data(as_text=True)


def test_only_the_program_s_coordinators_and_admins_see_the_dashboard(client, container, seeded, program):
    sign_in_as(client, seeded.coordinator_id)
    reply = client.get(f"/programs/{seeded.other_program_id}?risk=yes")
    assert reply.status_code == 403 and "Dashboard" not in reply.get_data(as_text=True)
    sign_in_as(client, seeded.mentor_id)
    assert _page(client, seeded).status_code == 403
    sign_in_as(client, seeded.admin_id)
    assert 'id="dashboard"' in _page(client, seeded).get_data(as_text=True)
