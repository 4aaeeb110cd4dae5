"""A change notice names its real cause and who made it (issue 13): a session moved by one of
the pair on the pair page is emailed as "Mina moved this session", never as a calendar conflict."""
from __future__ import annotations

import pytest

from adapters.links import LinkSigner
from adapters.mail.memory import InMemoryMailer
from adapters.mail.renderers import MOVE_CAUSE_TEXT, MailRenderer
from adapters.tokens import TokenCipher
from scheduler.ports import MOVE_CAUSES, Dependencies, ServiceConfig
from scheduler.services import lifecycle, pair_sessions
from scheduler.services.delivery import deliver_notification, move_cause
from tests.unit.services.booked import FIRST, book_series, notifications


@pytest.fixture
def deps(store, clock, calendars) -> Dependencies:
    return Dependencies(unit_of_work=store.uow, clock=clock, providers={"memory": calendars},
                        mailer=InMemoryMailer(), cipher=TokenCipher([TokenCipher.generate_key()]),
                        config=ServiceConfig(base_url="https://tandem.example"),
                        renderer=MailRenderer(), links=LinkSigner("unit-test-link-secret-0123456789", 14))


def _emails_by_recipient(deps) -> dict[str, str]:
    for n in notifications(deps, "moved"):
        deliver_notification(deps, n.id)
    return {address: " ".join(email.text.split()) for email in deps.mailer.sent for address in email.to}


def test_a_move_by_a_person_names_who_moved_it(deps, seed):
    seeded = seed(status="booked", connected=True)
    _, occ_ids = book_series(deps, seeded)
    chosen = pair_sessions.move_options(deps, seeded.pair_id, occ_ids[1])[0]

    pair_sessions.move_session(deps, seeded.pair_id, occ_ids[1], chosen, seeded.mentor_id)

    assert {n.payload["cause"] for n in notifications(deps, "moved")} == {"moved_by_person"}
    texts = _emails_by_recipient(deps)
    assert "Mina moved this session on the pair page." in texts["mentee@example.org"]
    assert "You moved this session with Ezra on the pair page." in texts["mentor@example.org"]
    assert not any("conflict" in text for text in texts.values())


def test_a_notice_queued_before_causes_were_stored_is_still_worded_as_a_persons_move(deps, seed):
    assert move_cause("moved by one of you") == "moved_by_person"
    assert move_cause("mentee: busy", None) == "calendar_conflict"
    assert move_cause("outside working hours for the mentee") == "outside_working_hours"


def test_every_cause_has_its_wording():
    assert set(MOVE_CAUSES) == set(MOVE_CAUSE_TEXT)


def test_the_mentee_moving_a_session_is_named_to_the_mentor(deps, seed):
    seeded = seed(status="booked", connected=True)
    _, occ_ids = book_series(deps, seeded)
    lifecycle.move_occurrence_to(deps, occ_ids[0], FIRST.replace(hour=15), seeded.mentee_id)
    texts = _emails_by_recipient(deps)
    assert "Ezra moved this session" in texts["mentor@example.org"]
