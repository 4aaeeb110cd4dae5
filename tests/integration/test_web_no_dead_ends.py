"""Issue 13 on the web: an unschedulable pair offers "Try again" (POST with CSRF, through the
outbox), the same reason is worded for the person on the pair page and for the coordinator on the
program page, and the program page says reminders in words."""
from __future__ import annotations

from sqlalchemy import select

from adapters.storage.models import OutboxMessage, Pair, Person, Program
from tests.support.web import sign_in_as

HOURS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
DIAGNOSIS = ("mentor (Europe/Rome, Mon-Fri 09:00-17:00) and mentee (Pacific/Auckland, Mon-Fri 09:00-17:00) share "
             "no working time; widen one person's working hours or pair them with someone in a closer time zone")


def _no_common_time(container, seeded) -> None:
    with container.uow() as uow:
        s = uow.session
        for person_id, tz in ((seeded.mentor_id, "Europe/Rome"), (seeded.mentee_id, "Pacific/Auckland")):
            person = s.get(Person, person_id)
            person.tz, person.working_hours = tz, HOURS
            person.onboarded_at = person.created_at
        pair = s.get(Pair, seeded.pair_id)
        pair.status, pair.status_reason = "unschedulable", DIAGNOSIS
        uow.commit()


def _pair(container, seeded):
    with container.uow() as uow:
        pair = uow.session.get(Pair, seeded.pair_id)
        plans = uow.session.scalars(select(OutboxMessage.idempotency_key).where(
            OutboxMessage.kind == "plan_pair", OutboxMessage.subject_id == seeded.pair_id)).all()
        return pair.status, list(plans)


def test_the_mentee_reads_what_she_can_do_and_the_coordinator_the_diagnosis(client, container, seeded):
    _no_common_time(container, seeded)
    sign_in_as(client, seeded.mentee_id)
    page = client.get(f"/pairs/{seeded.pair_id}").get_data(as_text=True)
    assert "Your working hours and Max Mentor&#39;s never overlap" in page
    assert "pair them with someone" not in page and "Europe/Rome, Mon-Fri" not in page
    assert 'href="/onboarding"' in page and ">My hours</a>" in page
    assert 'id="try-again"' in page

    sign_in_as(client, seeded.coordinator_id)
    program = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    assert "pair them with someone in a closer time zone" in program


def test_try_again_replans_through_the_outbox_and_needs_its_csrf_token(client, container, seeded):
    _no_common_time(container, seeded)
    token = sign_in_as(client, seeded.mentee_id)

    assert client.post(f"/pairs/{seeded.pair_id}/try-again").status_code == 400  # no CSRF token
    assert _pair(container, seeded) == ("unschedulable", [])

    reply = client.post(f"/pairs/{seeded.pair_id}/try-again", data={"csrf_token": token})
    assert reply.status_code == 302
    status, plans = _pair(container, seeded)
    assert status == "ready" and len(plans) == 1 and plans[0].startswith(f"plan_pair:{seeded.pair_id}:replan:")
    page = client.get(f"/pairs/{seeded.pair_id}").get_data(as_text=True)
    assert "Tandem is looking for a time again" in page and 'id="try-again"' not in page

    client.post(f"/pairs/{seeded.pair_id}/try-again", data={"csrf_token": token})  # pressed again: nothing new
    assert len(_pair(container, seeded)[1]) == 1


def test_try_again_is_only_for_the_pairs_people(client, container, seeded):
    _no_common_time(container, seeded)
    token = sign_in_as(client, seeded.other_mentee_id)
    assert client.post(f"/pairs/{seeded.pair_id}/try-again", data={"csrf_token": token}).status_code in (403, 404)
    assert _pair(container, seeded) == ("unschedulable", [])


def test_the_program_page_says_reminders_in_words(client, container, seeded):
    with container.uow() as uow:
        uow.session.get(Program, seeded.program_id).reminder_offsets_min = [1440, 60]
        uow.commit()
    sign_in_as(client, seeded.coordinator_id)
    page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    assert "Reminders 1 day and 1 hour before." in page and "1440" not in page
