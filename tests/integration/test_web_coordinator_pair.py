"""The coordinator's pair page: the pair's sessions with their attendance verdicts and signals,
ratings (never notes, agendas or calendars), corrections with CSRF, and who may see it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from adapters.storage.models import Feedback, Membership, Occurrence, Person, Series
from scheduler.services import attendance, lifecycle
from tests.support.web import csrf_from, sign_in_as


@pytest.fixture
def timeline(container, seeded):
    """Three past sessions (one both say they met, one they disagree on, one the mentor skipped)
    and one to come; returns the occurrence ids in time order."""
    now = datetime.now(timezone.utc)
    first = (now - timedelta(days=20)).replace(microsecond=0)
    with container.uow() as uow:
        s = uow.session
        series = Series(pair_id=seeded.pair_id, rrule="FREQ=WEEKLY;COUNT=4", dtstart_local="2026-01-01T10:00:00",
                        tz="UTC", duration_min=45, status="booked")
        s.add(series)
        s.flush()
        occs = [Occurrence(series_id=series.id, original_start=first + timedelta(weeks=w),
                           start=first + timedelta(weeks=w), end=first + timedelta(weeks=w, minutes=45),
                           agenda="SECRET AGENDA about salary") for w in range(4)]
        s.add_all(occs)
        s.flush()
        s.add_all([
            Feedback(occurrence_id=occs[0].id, person_id=seeded.mentor_id, answer="met", rating=5,
                     notes="PRIVATE NOTE one", created_at=first + timedelta(hours=1)),
            Feedback(occurrence_id=occs[0].id, person_id=seeded.mentee_id, answer="met", rating=4,
                     created_at=first + timedelta(hours=2)),
            Feedback(occurrence_id=occs[1].id, person_id=seeded.mentor_id, answer="met",
                     created_at=first + timedelta(weeks=1, hours=1)),
            Feedback(occurrence_id=occs[1].id, person_id=seeded.mentee_id, answer="not_met",
                     notes="PRIVATE NOTE two", created_at=first + timedelta(weeks=1, hours=2)),
        ])
        ids = [o.id for o in occs]
        uow.commit()
    # the third session was skipped by the mentor the day before (set up as if it were upcoming then)
    with container.uow() as uow:
        occ = uow.occurrences.get(ids[2])
        occ.status = "skipped"
        occ.attendance_signals = [{"kind": "skipped", "at": (occ.start - timedelta(days=1)).isoformat(),
                                   "by": "mentor", "detail": None}]
        uow.commit()
    for occurrence_id in ids:
        attendance.resolve_attendance(container, occurrence_id)
    return ids


def _page(client, seeded):
    return client.get(f"/programs/{seeded.program_id}/pairs/{seeded.pair_id}")


def test_the_coordinator_sees_the_timeline_with_verdicts_signals_and_ratings(client, seeded, timeline):
    sign_in_as(client, seeded.coordinator_id)
    reply = _page(client, seeded)
    page = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert "<h1>Max Mentor & Mia Mentee</h1>" in page
    held, disputed, skipped, upcoming = timeline
    assert f'id="session-{held}" data-verdict="held"' in page
    assert f'id="session-{disputed}" data-verdict="disputed"' in page and "They disagree" in page
    assert f'id="session-{skipped}" data-verdict="cancelled"' in page
    assert f'id="session-{upcoming}" data-verdict="unknown"' in page
    assert "Max Mentor (mentor) answered “we met”" in page
    assert "Mia Mentee (mentee) answered “we didn&#39;t meet”" in page
    assert "Skipped in Tandem by Max Mentor (mentor), 24 hours before" in page
    assert "ratings: mentee 4/5, mentor 5/5" in page
    for private in ("PRIVATE NOTE", "SECRET AGENDA"):
        assert private not in page
    assert page.count("Correct this session") == 3  # past sessions only
    programs_page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    assert f"/programs/{seeded.program_id}/pairs/{seeded.pair_id}" in programs_page


def test_a_correction_needs_the_form_token_and_a_note_then_stays_beside_the_session(client, container, seeded,
                                                                                  timeline):
    sign_in_as(client, seeded.coordinator_id)
    token = csrf_from(_page(client, seeded).get_data(as_text=True))
    disputed = timeline[1]
    url = f"/programs/{seeded.program_id}/pairs/{seeded.pair_id}/sessions/{disputed}/attendance"
    assert client.post(url, data={"verdict": "held", "note": "no token"}).status_code == 400
    reply = client.post(url, data={"csrf_token": token, "verdict": "held", "note": "  "}, follow_redirects=True)
    assert "Say in a few words why you correct this session" in reply.get_data(as_text=True)
    with container.uow() as uow:
        assert uow.occurrences.get(disputed).attendance_verdict == "disputed"
    reply = client.post(url, data={"csrf_token": token, "verdict": "held", "note": "Both confirmed by phone."})
    assert reply.status_code == 302 and reply.headers["Location"].endswith(f"#session-{disputed}")
    page = _page(client, seeded).get_data(as_text=True)
    assert f'id="session-{disputed}" data-verdict="held"' in page
    assert "Note by Cora Coordinator: Both confirmed by phone." in page
    assert "Corrected by a coordinator to “Held”" in page
    with container.uow() as uow:
        occ = uow.occurrences.get(disputed)
        assert (occ.attendance_set_by, occ.attendance_note) == (seeded.coordinator_id, "Both confirmed by phone.")
    upcoming = timeline[3]
    reply = client.post(f"/programs/{seeded.program_id}/pairs/{seeded.pair_id}/sessions/{upcoming}/attendance",
                        data={"csrf_token": token, "verdict": "held", "note": "too early"}, follow_redirects=True)
    assert "this one is still to come" in reply.get_data(as_text=True)


def test_who_may_see_and_correct_the_pair_page(client, container, seeded, timeline):
    with container.uow() as uow:
        other = Person(email="other-coordinator@example.org", name="Otto Other")
        uow.session.add(other)
        uow.session.flush()
        uow.session.add(Membership(program_id=seeded.other_program_id, person_id=other.id, role="coordinator"))
        uow.commit()
        other_id = other.id
    path = f"/programs/{seeded.program_id}/pairs/{seeded.pair_id}"
    correct = f"{path}/sessions/{timeline[1]}/attendance"
    # a coordinator of another program: 403 on this program's pages, 404 for this pair under theirs
    token = sign_in_as(client, other_id)
    assert client.get(path).status_code == 403
    assert client.post(correct, data={"csrf_token": token, "verdict": "held", "note": "x"}).status_code == 403
    assert client.get(f"/programs/{seeded.other_program_id}/pairs/{seeded.pair_id}").status_code == 404
    reply = client.post(f"/programs/{seeded.other_program_id}/pairs/{seeded.pair_id}/sessions/{timeline[1]}"
                        "/attendance", data={"csrf_token": token, "verdict": "held", "note": "x"})
    assert reply.status_code == 403
    # the pair's own coordinator cannot reach a pair of another program through their program
    sign_in_as(client, seeded.coordinator_id)
    assert client.get(f"/programs/{seeded.program_id}/pairs/{seeded.other_pair_id}").status_code == 404
    # the mentee (and the mentor) of the pair: 403
    for person_id in (seeded.mentee_id, seeded.mentor_id):
        token = sign_in_as(client, person_id)
        assert client.get(path).status_code == 403
        assert client.post(correct, data={"csrf_token": token, "verdict": "held", "note": "x"}).status_code == 403
    with container.uow() as uow:
        assert uow.occurrences.get(timeline[1]).attendance_verdict == "disputed"
    # an administrator sees every program's pairs
    sign_in_as(client, seeded.admin_id)
    assert client.get(path).status_code == 200
    # a visitor is sent to sign in
    with client.session_transaction() as session:
        session.clear()
    reply = client.get(path)
    assert reply.status_code == 302 and "/signin" in reply.headers["Location"]
