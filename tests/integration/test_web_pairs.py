"""The pair page: sessions in both people's zones with a DST note, agenda, goals, history; skip,
move (only to mutual free times), pause and resume go through the lifecycle use cases."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from adapters.storage.models import Goal, Notification, Occurrence, OutboxMessage, Pair, Person, Series
from config.bootstrap import bootstrap
from tests.support.web import seed, sign_in_as
from web import create_app

NOW = datetime(2027, 3, 1, 12, tzinfo=timezone.utc)
HOURS = {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


class FixedClock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def container(settings):
    c = bootstrap(settings, clock=FixedClock())
    yield c
    c.dispose()


@pytest.fixture
def booked(container):
    """The seeded pair, booked weekly on Tuesdays 15:00 Berlin from 2 March 2027 (New York
    changes clocks on 14 March, Berlin on 28 March)."""
    seeded = seed(container)
    with container.uow() as uow:
        s = uow.session
        mentor, mentee = s.get(Person, seeded.mentor_id), s.get(Person, seeded.mentee_id)
        mentor.tz, mentee.tz = "Europe/Berlin", "America/New_York"
        for person in (mentor, mentee):
            person.working_hours, person.onboarded_at = HOURS, NOW
        pair = s.get(Pair, seeded.pair_id)
        pair.status = "booked"
        series = Series(pair_id=pair.id, rrule="FREQ=WEEKLY;COUNT=5;BYDAY=TU", dtstart_local="2027-03-02T15:00:00",
                        tz="Europe/Berlin", duration_min=45, status="booked")
        s.add(series)
        starts = [datetime(2027, 3, 2, 14), datetime(2027, 3, 9, 14), datetime(2027, 3, 16, 14),
                  datetime(2027, 3, 23, 14), datetime(2027, 3, 30, 13)]
        for i, start in enumerate(starts):
            start = start.replace(tzinfo=timezone.utc)
            s.add(Occurrence(series=series, original_start=start, start=start, end=start + timedelta(minutes=45),
                             agenda=f"Agenda {i + 1}: goals and progress"))
        uow.commit()
    return seeded


def _occurrences(container, seeded) -> list[tuple[str, datetime, str]]:
    with container.uow() as uow:
        return [(o.id, o.start, o.status) for o in uow.session.scalars(
            select(Occurrence).join(Series).where(Series.pair_id == seeded.pair_id).order_by(Occurrence.original_start))]


def test_the_page_shows_both_zones_the_dst_note_and_the_agenda(container, booked):
    client = create_app(container=container).test_client()
    sign_in_as(client, booked.mentor_id)
    page = client.get(f"/pairs/{booked.pair_id}").get_data(as_text=True)
    assert "Tue 2 Mar, 15:00–15:45" in page and "Tue 2 Mar, 09:00–09:45" in page
    assert "Mia Mentee&#39;s local time moves from 09:00 to 10:00: their clocks change on Sun 14 Mar." in page
    assert "Mia Mentee&#39;s local time moves from 10:00 to 09:00: your clocks change on Sun 28 Mar; theirs do not." in page
    assert "Agenda 1: goals and progress" in page


def test_skipping_a_session_marks_it_and_queues_the_calendar_change(container, booked):
    client = create_app(container=container).test_client()
    token = sign_in_as(client, booked.mentee_id)
    first = _occurrences(container, booked)[0][0]
    assert client.post(f"/pairs/{booked.pair_id}/sessions/{first}/skip", data={"csrf_token": token}).status_code == 302
    assert _occurrences(container, booked)[0][2] == "skipped"
    with container.uow() as uow:
        assert uow.session.scalar(select(OutboxMessage.kind).where(OutboxMessage.subject_id == first)) == "push_occurrence"
    page = client.get(f"/pairs/{booked.pair_id}").get_data(as_text=True)
    upcoming, history = page.split("<h2>History</h2>")
    listed = upcoming.split('id="upcoming"')[1].split("</ol>")[0]
    assert "That session is skipped" in upcoming and "Tue 2 Mar, 09:00–09:45" not in listed
    assert "You skipped the session on Tue 2 Mar, 09:00–09:45" in upcoming and 'id="undo-skip"' in upcoming
    assert "Tue 2 Mar, 09:00–09:45</td><td>Skipped</td>" in history  # the mentee reads New York time


def test_skip_asks_first_and_can_be_undone(container, booked):
    client = create_app(container=container).test_client()
    token = sign_in_as(client, booked.mentee_id)
    first = _occurrences(container, booked)[0][0]
    page = client.get(f"/pairs/{booked.pair_id}").get_data(as_text=True)
    assert f'href="/pairs/{booked.pair_id}/sessions/{first}/skip"' in page  # a link to the question, not a POST
    question = client.get(f"/pairs/{booked.pair_id}/sessions/{first}/skip").get_data(as_text=True)
    assert "Skip your session with Max Mentor?" in question and "Tue 2 Mar, 09:00–09:45" in question
    assert _occurrences(container, booked)[0][2] == "scheduled"  # asking changes nothing
    client.post(f"/pairs/{booked.pair_id}/sessions/{first}/skip", data={"csrf_token": token})
    undone = client.post(f"/pairs/{booked.pair_id}/sessions/{first}/undo-skip", data={"csrf_token": token})
    assert "Undone" in client.get(undone.headers["Location"]).get_data(as_text=True)
    assert _occurrences(container, booked)[0][2] == "scheduled"
    with container.uow() as uow:
        kinds = uow.session.scalars(select(Notification.status).where(Notification.kind == "skipped")).all()
    assert kinds and set(kinds) == {"cancelled"}
    other = create_app(container=container).test_client()
    other_token = sign_in_as(other, booked.other_mentee_id)
    assert other.post(f"/pairs/{booked.pair_id}/sessions/{first}/undo-skip",
                      data={"csrf_token": other_token}).status_code == 403


def test_moving_offers_only_mutual_free_times_and_applies_the_choice(container, booked):
    client = create_app(container=container).test_client()
    token = sign_in_as(client, booked.mentor_id)
    occurrence = _occurrences(container, booked)[1][0]
    page = client.get(f"/pairs/{booked.pair_id}/sessions/{occurrence}/move").get_data(as_text=True)
    choices = [part.split('"')[0] for part in page.split('name="start" value="')[1:]]
    assert choices, "no times offered"
    for value in choices:  # inside both people's hours: 08:00-18:00 Berlin and New York overlap 14:00-18:00 Berlin
        start = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        assert 13 <= start.hour and (start + timedelta(minutes=45)).hour <= 17 and start.weekday() < 5
    refused = client.post(f"/pairs/{booked.pair_id}/sessions/{occurrence}/move",
                          data={"csrf_token": token, "start": "2027-03-13T03:00:00Z"})
    assert refused.status_code == 302 and _occurrences(container, booked)[1][2] == "scheduled"
    client.post(f"/pairs/{booked.pair_id}/sessions/{occurrence}/move", data={"csrf_token": token, "start": choices[0]})
    _, start, status = _occurrences(container, booked)[1]
    assert status == "moved" and start.strftime("%Y-%m-%dT%H:%M:%SZ") == choices[0]


def test_pause_asks_first_then_resume_puts_the_sessions_back(container, booked):
    client = create_app(container=container).test_client()
    token = sign_in_as(client, booked.mentor_id)
    question = client.get(f"/pairs/{booked.pair_id}/pause").get_data(as_text=True)
    assert "Pause your sessions with Mia Mentee?" in question and question.count("<li>") >= 5
    with container.uow() as uow:
        assert uow.session.get(Pair, booked.pair_id).status == "booked"  # asking changes nothing
    client.post(f"/pairs/{booked.pair_id}/pause", data={"csrf_token": token})
    with container.uow() as uow:
        assert uow.session.get(Pair, booked.pair_id).status == "paused"
    page = client.get(f"/pairs/{booked.pair_id}").get_data(as_text=True)
    assert 'id="resume"' in page and "Undo the pause" in page and "5 sessions from Tue 2 Mar, 15:00" in page
    assert "Skipped" not in page.split("<h2>History</h2>")[1]  # paused sessions are not history
    back = client.post(f"/pairs/{booked.pair_id}/resume", data={"csrf_token": token})
    assert "back on the calendars" in client.get(back.headers["Location"]).get_data(as_text=True)
    with container.uow() as uow:
        assert uow.session.get(Pair, booked.pair_id).status == "booked"
        assert uow.session.scalar(select(OutboxMessage.kind).where(OutboxMessage.subject_id == booked.pair_id,
                                                                   OutboxMessage.kind == "plan_pair")) is None
    assert {status for _, _, status in _occurrences(container, booked)} == {"scheduled"}


def test_goals_are_added_and_marked_reached(container, booked):
    client = create_app(container=container).test_client()
    token = sign_in_as(client, booked.mentee_id)
    client.post(f"/pairs/{booked.pair_id}/goals", data={"csrf_token": token, "text": "Lead a design review"})
    empty = client.post(f"/pairs/{booked.pair_id}/goals", data={"csrf_token": token, "text": "  "})
    assert "Write the goal in a few words" in client.get(empty.headers["Location"]).get_data(as_text=True)
    with container.uow() as uow:
        [goal_id] = list(uow.session.scalars(select(Goal.id).where(Goal.pair_id == booked.pair_id)))
    client.post(f"/pairs/{booked.pair_id}/goals/{goal_id}", data={"csrf_token": token, "status": "done"})
    with container.uow() as uow:
        assert uow.session.get(Goal, goal_id).status == "done"
    # another pair's member cannot touch it
    other = create_app(container=container).test_client()
    other_token = sign_in_as(other, booked.other_mentee_id)
    assert other.post(f"/pairs/{booked.pair_id}/goals/{goal_id}",
                      data={"csrf_token": other_token, "status": "open"}).status_code == 403


def test_goals_are_reworded_reviewed_reopened_and_dropped(container, booked):
    client = create_app(container=container).test_client()
    token = sign_in_as(client, booked.mentor_id)
    client.post(f"/pairs/{booked.pair_id}/goals", data={"csrf_token": token, "text": "Lead a review"})
    with container.uow() as uow:
        [goal_id] = list(uow.session.scalars(select(Goal.id).where(Goal.pair_id == booked.pair_id)))
    base = f"/pairs/{booked.pair_id}/goals/{goal_id}"

    client.post(f"{base}/text", data={"csrf_token": token, "text": "Lead the Q3 design review"})
    reviewed = client.post(f"{base}/review", data={"csrf_token": token})
    page = client.get(reviewed.headers["Location"]).get_data(as_text=True)
    assert "Lead the Q3 design review" in page and "last reviewed" in page and "you reviewed this goal today" in page
    client.post(base, data={"csrf_token": token, "status": "done"})
    page = client.get(f"/pairs/{booked.pair_id}").get_data(as_text=True)
    assert 'data-status="done"' in page and ">Reopen<" in page
    client.post(base, data={"csrf_token": token, "status": "open"})
    with container.uow() as uow:
        assert uow.session.get(Goal, goal_id).status == "open"
    empty = client.post(f"{base}/text", data={"csrf_token": token, "text": " "})
    assert "Write the goal in a few words" in client.get(empty.headers["Location"]).get_data(as_text=True)
    client.post(base, data={"csrf_token": token, "status": "dropped"})
    refused = client.post(f"{base}/review", data={"csrf_token": token})
    assert "Only an open goal is reviewed" in client.get(refused.headers["Location"]).get_data(as_text=True)
    with container.uow() as uow:
        goal = uow.session.get(Goal, goal_id)
        assert (goal.text, goal.status) == ("Lead the Q3 design review", "dropped")
    other = create_app(container=container).test_client()
    other_token = sign_in_as(other, booked.other_mentee_id)
    assert other.post(f"{base}/text", data={"csrf_token": other_token, "text": "mine"}).status_code == 403
    assert other.post(f"{base}/review", data={"csrf_token": other_token}).status_code == 403


def test_the_pair_writes_the_agenda_of_an_upcoming_session(container, booked):
    client = create_app(container=container).test_client()
    token = sign_in_as(client, booked.mentee_id)
    second = _occurrences(container, booked)[1][0]
    reply = client.post(f"/pairs/{booked.pair_id}/sessions/{second}/agenda",
                        data={"csrf_token": token, "agenda": "Review my promotion packet\nPractice the pitch"})
    assert reply.status_code == 302
    with container.uow() as uow:
        assert uow.session.get(Occurrence, second).agenda == "Review my promotion packet\nPractice the pitch"
    assert "Review my promotion packet" in client.get(f"/pairs/{booked.pair_id}").get_data(as_text=True)
    other = create_app(container=container).test_client()
    other_token = sign_in_as(other, booked.other_mentee_id)
    assert other.post(f"/pairs/{booked.pair_id}/sessions/{second}/agenda",
                      data={"csrf_token": other_token, "agenda": "x"}).status_code == 403


def test_sessions_beyond_the_listed_ones_are_counted(container, booked):
    from scheduler.services.pair_page import pair_page

    page = pair_page(container, booked.pair_id, booked.mentor_id, limit=3)
    assert len(page.upcoming) == 3 and page.more_upcoming == 2
    client = create_app(container=container).test_client()
    sign_in_as(client, booked.mentor_id)
    html = client.get(f"/pairs/{booked.pair_id}").get_data(as_text=True)
    assert 'id="more-upcoming"' not in html  # five sessions fit the default list of six


def test_action_items_from_the_feedback_page_appear_in_the_next_agenda(container, booked):
    from scheduler.services.notifications import add_notification
    first, second = [o[0] for o in _occurrences(container, booked)[:2]]
    with container.uow() as uow:
        nid = add_notification(uow, kind="feedback", person_id=booked.mentee_id, due_at=datetime(2027, 3, 2, 15, tzinfo=timezone.utc),
                               pair_id=booked.pair_id, occurrence_id=first, key="feedback:web-ai")
        uow.commit()
    token = container.links.sign("feedback", {"n": nid})
    client = create_app(container=container).test_client()
    form = client.get(f"/feedback/{token}").get_data(as_text=True)
    assert 'name="action_items"' in form and "which Max Mentor sees too" in " ".join(form.split())
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    done = client.post(f"/feedback/{token}", data={"csrf_token": csrf, "answer": "met",
                                                    "action_items": "Draft the outline\nBook the room"})
    assert done.status_code == 200
    sign_in_as(client, booked.mentor_id)
    page = client.get(f"/pairs/{booked.pair_id}").get_data(as_text=True)
    assert "Action items from Tue 2 Mar" in page and "- Draft the outline" in page and "- Book the room" in page
    with container.uow() as uow:
        assert "- Book the room" in uow.session.get(Occurrence, second).agenda
