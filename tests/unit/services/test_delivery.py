"""Delivering notifications on the in-memory unit of work: the use case builds a context, the
mail renderer of its kind makes the email, the row is sent once."""
from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.links import LinkSigner
from adapters.mail.memory import InMemoryMailer
from adapters.mail.renderers import MailRenderer
from adapters.tokens import TokenCipher
from scheduler.core.entities import Goal, Occurrence, Series
from scheduler.ports import Dependencies, ServiceConfig
from scheduler.services.delivery import deliver_notification
from scheduler.services.notifications import add_notification
from tests.unit.services.booked import T0

SECRET = "unit-test-link-secret-0123456789"


@pytest.fixture
def deps(store, clock, calendars) -> Dependencies:
    return Dependencies(unit_of_work=store.uow, clock=clock, providers={"memory": calendars},
                        mailer=InMemoryMailer(), cipher=TokenCipher([TokenCipher.generate_key()]),
                        config=ServiceConfig(base_url="https://tandem.example"),
                        renderer=MailRenderer(), links=LinkSigner(SECRET, 14))


def _series(deps, pair_id: str, *, video_url: str = "https://meet.example/abc") -> tuple[str, list[str]]:
    """A weekly series of three Tuesday sessions at 10:00 UTC; the second is skipped, the third moved."""
    with deps.uow() as uow:
        series = uow.series.add(Series(pair_id=pair_id, rrule="FREQ=WEEKLY;COUNT=3;BYDAY=TU",
                                       dtstart_local="2026-03-03T10:00:00", tz="UTC", duration_min=45,
                                       video_url=video_url, status="booked"))
        ids = []
        for week, status in enumerate(("scheduled", "skipped", "moved")):
            original = T0.replace(day=3, hour=10) + timedelta(weeks=week)
            start = original + timedelta(hours=2) if status == "moved" else original
            occ = uow.occurrences.add(Occurrence(series_id=series.id, original_start=original, start=start,
                                                 end=start + timedelta(minutes=45), status=status,
                                                 agenda="Check in\n\nReview goals"))
            ids.append(occ.id)
        uow.commit()
        return series.id, ids


def _notify(deps, **kw) -> str:
    with deps.uow() as uow:
        nid = add_notification(uow, due_at=T0, **kw)
        uow.commit()
    return nid


def _status(deps, nid: str) -> str:
    with deps.uow() as uow:
        return uow.notifications.get(nid).status


def test_a_reminder_is_rendered_sent_once_and_marked_sent(deps, seed):
    s = seed()
    _, (first, *_) = _series(deps, s.pair_id)
    with deps.uow() as uow:
        uow.goals.add(Goal(pair_id=s.pair_id, text="Practise code review"))
        uow.goals.add(Goal(pair_id=s.pair_id, text="An old goal", status="done"))
        uow.commit()
    nid = _notify(deps, kind="reminder", person_id=s.mentor_id, pair_id=s.pair_id, occurrence_id=first,
                  key="reminder:1")
    assert deliver_notification(deps, nid) is True
    assert deliver_notification(deps, nid) is False  # sent already: nothing new goes out
    (email,) = deps.mailer.sent
    assert email.to == ("mentor@example.org",) and email.idempotency_key == "reminder:1"
    assert "Coming up: your session with Ezra" in email.subject
    assert "Practise code review" in email.text and "An old goal" not in email.text
    assert "Review goals" in email.text and "https://meet.example/abc" in email.text
    assert f"https://tandem.example/pairs/{s.pair_id}" in email.text
    assert _status(deps, nid) == "sent"


def test_a_feedback_request_carries_signed_links_to_its_notification(deps, seed):
    s = seed()
    _, (first, *_) = _series(deps, s.pair_id)
    nid = _notify(deps, kind="feedback", person_id=s.mentee_id, pair_id=s.pair_id, occurrence_id=first,
                  key="feedback:1")
    deliver_notification(deps, nid)
    (email,) = deps.mailer.sent
    assert "Did you and Mina meet?" == email.subject
    link = next(word for word in email.text.split() if "/feedback/" in word and "answer=met" in word)
    token = link.split("/feedback/")[1].split("?")[0]
    assert link.startswith("https://tandem.example/feedback/")
    assert deps.links.read("feedback", token) == {"n": nid}


def test_an_emailed_invitation_attaches_the_series_as_an_itip_request(deps, seed):
    s = seed()
    series_id, _ = _series(deps, s.pair_id)
    nid = _notify(deps, kind="series_invite", person_id=s.mentee_id, pair_id=s.pair_id, key="invite:1",
                  payload={"series_id": series_id, "sequence": 2})
    deliver_notification(deps, nid)
    (email,) = deps.mailer.sent
    assert email.ics_method == "REQUEST" and "METHOD:REQUEST" in email.ics
    assert "SEQUENCE:2" in email.ics and "EXDATE" in email.ics and "RECURRENCE-ID" in email.ics
    assert "mentor@example.org" in email.ics  # the mentor organizes by default


def test_a_booked_series_without_invitation_has_no_attachment(deps, seed):
    s = seed()
    series_id, _ = _series(deps, s.pair_id)
    nid = _notify(deps, kind="series_booked", person_id=s.mentor_id, pair_id=s.pair_id, key="booked:1",
                  payload={"series_id": series_id})
    deliver_notification(deps, nid)
    (email,) = deps.mailer.sent
    assert email.ics is None and email.ics_method is None
    assert "Your sessions with Ezra are booked" == email.subject


def test_ending_a_series_by_email_sends_an_itip_cancel(deps, seed):
    s = seed()
    series_id, _ = _series(deps, s.pair_id)
    nid = _notify(deps, kind="series_cancel_ics", person_id=s.mentee_id, pair_id=s.pair_id, key="cancel:1",
                  payload={"series_id": series_id, "sequence": 3})
    deliver_notification(deps, nid)
    (email,) = deps.mailer.sent
    assert email.ics_method == "CANCEL" and "METHOD:CANCEL" in email.ics and "STATUS:CANCELLED" in email.ics
    assert email.subject == "Your mentoring sessions with Mina have ended"


def test_a_moved_session_says_why_without_naming_the_other_meeting(deps, seed):
    s = seed()
    _, (first, *_) = _series(deps, s.pair_id)
    nid = _notify(deps, kind="moved", person_id=s.mentor_id, pair_id=s.pair_id, occurrence_id=first,
                  key="moved:1", payload={"old_start": "2026-03-03T10:00:00+00:00",
                                          "new_start": "2026-03-03T12:00:00+00:00",
                                          "why": "busy: Board meeting with ACME"})
    deliver_notification(deps, nid)
    (email,) = deps.mailer.sent
    assert "one of your calendars now shows a conflict" in email.text
    assert "ACME" not in email.text and "Board meeting" not in email.text


def test_a_kind_without_a_template_becomes_a_short_notice(deps, seed):
    s = seed()
    nid = _notify(deps, kind="something_new", person_id=s.mentor_id, pair_id=s.pair_id, key="new:1")
    deliver_notification(deps, nid)
    (email,) = deps.mailer.sent
    assert email.subject == "Update from Tandem" and email.html is None
    assert f"https://tandem.example/pairs/{s.pair_id}" in email.text and email.text.startswith("Hi Mina,")


def test_a_cancelled_notification_is_not_sent(deps, seed):
    s = seed()
    nid = _notify(deps, kind="reconnect", person_id=s.mentor_id, key="rc:1", payload={"provider": "google"})
    with deps.uow() as uow:
        uow.notifications.get(nid).status = "cancelled"
        uow.commit()
    assert deliver_notification(deps, nid) is False
    assert deps.mailer.sent == ()


def test_a_failed_send_leaves_the_row_pending_for_a_retry(deps, seed):
    s = seed()
    nid = _notify(deps, kind="reconnect", person_id=s.mentor_id, key="rc:2", payload={"provider": "microsoft"})
    deps.mailer.fail_next(ConnectionError("smtp down"))
    with pytest.raises(ConnectionError):
        deliver_notification(deps, nid)
    assert _status(deps, nid) == "pending"
    assert deliver_notification(deps, nid) is True
    (email,) = deps.mailer.sent
    assert "Outlook calendar" in email.subject and "https://tandem.example/calendars/" in email.text
    assert _status(deps, nid) == "sent"


def test_a_pair_attention_email_links_to_the_coordinators_pair_page(deps, seed):
    s = seed()
    nid = _notify(deps, kind="pair_attention", person_id=s.coordinator_id, pair_id=s.pair_id,
                  key="attention:1", payload={"reason": "two sessions missed"})
    assert deliver_notification(deps, nid) is True
    (email,) = deps.mailer.sent
    assert f"https://tandem.example/programs/{s.program_id}/pairs/{s.pair_id}" in email.text
    assert f"https://tandem.example/pairs/{s.pair_id}" not in email.text  # the pair's own page answers 403


def test_a_database_away_after_the_server_accepted_is_waited_for_not_a_second_send(deps, seed, monkeypatch):
    """The mark after SMTP accepted is tried again while the database is away (up to half the
    lease), so the outbox does not retry, which would send the email again."""
    from dataclasses import replace

    from scheduler.services import delivery

    s = seed()
    _, (first, *_) = _series(deps, s.pair_id)
    nid = _notify(deps, kind="reminder", person_id=s.mentor_id, pair_id=s.pair_id, occurrence_id=first,
                  key="reminder:away")
    calls, waits = {"n": 0}, []

    def flaky_uow():
        calls["n"] += 1
        if calls["n"] in (2, 3):  # the 1st unit of work renders; the 2nd and 3rd (the mark) fail
            raise ConnectionError("the database is restarting")
        return deps.unit_of_work()

    monkeypatch.setattr(delivery, "_sleep", waits.append)
    assert deliver_notification(replace(deps, unit_of_work=flaky_uow), nid) is True
    assert len(deps.mailer.sent) == 1 and _status(deps, nid) == "sent"
    assert waits == [0.1, 0.25]


def test_a_database_away_longer_than_half_the_lease_fails_the_run(deps, seed):
    from dataclasses import replace

    from scheduler.services.delivery import _mark_sent

    s = seed()
    _, (first, *_) = _series(deps, s.pair_id)
    nid = _notify(deps, kind="reminder", person_id=s.mentor_id, pair_id=s.pair_id, occurrence_id=first,
                  key="reminder:gone")

    def gone():
        raise ConnectionError("the database is gone")

    waits = []
    short = replace(deps, unit_of_work=gone, config=replace(deps.config, claim_timeout=timedelta(seconds=4)))
    with pytest.raises(ConnectionError):
        _mark_sent(short, nid, sleep=waits.append)
    assert sum(waits) <= 2 and waits == [0.1, 0.25, 0.5, 1.0]
