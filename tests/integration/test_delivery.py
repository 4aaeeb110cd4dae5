"""Each notification kind renders into an email with what the reader needs (and is sent once)."""
from datetime import datetime, timezone

import pytest

from adapters.mail.memory import InMemoryMailer
from adapters.storage.models import Notification, Person
from config.bootstrap import bootstrap
from scheduler.services.delivery import deliver_notification
from scheduler.services.notifications import add_notification
from tests.support.pipeline import make_person, make_program, make_ready_pair

NOW = datetime(2027, 3, 1, 9, tzinfo=timezone.utc)


@pytest.fixture
def mailbox(settings):
    mailer = InMemoryMailer()
    container = bootstrap(settings, mailer=mailer, providers={})
    yield container, mailer
    container.dispose()


def _deliver(container, **kw) -> str:
    with container.uow() as uow:
        nid = add_notification(uow, due_at=NOW, **kw)
        uow.commit()
    assert deliver_notification(container, nid) is True
    assert deliver_notification(container, nid) is False  # sent once
    return nid


def test_magic_link_email_carries_the_link(mailbox):
    container, mailer = mailbox
    with container.uow() as uow:
        person = Person(email="ada@example.org", name="Ada Lovelace")
        uow.session.add(person)
        uow.commit()
        pid = person.id
    _deliver(container, kind="magic_link", person_id=pid, key="magic:1",
             payload={"url": "https://tandem.example.org/signin/link/abc"})
    (email,) = mailer.sent
    assert email.to == ("ada@example.org",) and "sign-in link" in email.subject
    assert "https://tandem.example.org/signin/link/abc" in email.text and "30 minutes" in email.text


def test_invitation_reconnect_and_attention_emails(mailbox):
    container, mailer = mailbox
    with container.uow() as uow:
        program = make_program(uow.session, name="Spring cohort")
        mentor = make_person(container, uow.session, "ada@example.org", "America/New_York")
        mentee = make_person(container, uow.session, "lin@example.org", "Europe/Berlin")
        coordinator = make_person(container, uow.session, "casey@example.org", "Europe/London", provider=None)
        pair = make_ready_pair(container, uow.session, program, mentor, mentee, NOW)
        ids = (mentor.id, mentee.id, coordinator.id, pair.id)
        uow.commit()
    mentor_id, mentee_id, coordinator_id, pair_id = ids
    _deliver(container, kind="invitation", person_id=mentee_id, pair_id=pair_id, key="inv:1",
             payload={"join_url": "https://t.example/invite/xyz", "program_name": "Spring cohort",
                      "coordinator_name": "Casey", "role": "mentee"})
    _deliver(container, kind="reconnect", person_id=mentor_id, key="rc:1", payload={"provider": "google"})
    _deliver(container, kind="pair_attention", person_id=coordinator_id, pair_id=pair_id, key="att:1",
             payload={"reason": "shared working time is always busy"})
    invitation, reconnect, attention = mailer.sent
    assert "Spring cohort" in invitation.subject and "https://t.example/invite/xyz" in invitation.text
    assert "Google Calendar" in reconnect.subject and "/calendars/" in reconnect.text
    assert "shared working time is always busy" in attention.text and f"/pairs/{pair_id}" in attention.text
    with container.uow() as uow:
        assert {n.status for n in uow.session.query(Notification)} == {"sent"}
