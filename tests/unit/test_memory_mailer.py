"""The in-memory mailer keeps what was sent, once per idempotency key, and can fail on demand."""
from __future__ import annotations

import threading

import pytest

from adapters.mail import InMemoryMailer
from scheduler.errors import MailUnavailable
from scheduler.ports import Mailer, OutgoingEmail


def _email(key: str, to: str = "sam@example.org") -> OutgoingEmail:
    return OutgoingEmail(to=(to,), subject="Reminder", text="See you at 10:00.", idempotency_key=key)


def test_it_is_a_mailer_that_sends_each_key_once():
    mailer: Mailer = InMemoryMailer()

    mailer.send(_email("reminder:occ-1"))
    mailer.send(_email("reminder:occ-1"))
    mailer.send(_email("reminder:occ-2", to="Ana@Example.org"))

    assert [e.idempotency_key for e in mailer.sent] == ["reminder:occ-1", "reminder:occ-2"]
    assert [e.idempotency_key for e in mailer.sent_to("ana@example.org")] == ["reminder:occ-2"]
    assert mailer.attempts == 3


def test_queued_failures_come_first_then_the_retry_goes_through():
    mailer = InMemoryMailer()
    mailer.fail_next(MailUnavailable("mail server down"))

    with pytest.raises(MailUnavailable):
        mailer.send(_email("feedback:occ-1"))
    mailer.send(_email("feedback:occ-1"))

    assert [e.idempotency_key for e in mailer.sent] == ["feedback:occ-1"]


def test_concurrent_resends_of_one_key_are_kept_once():
    mailer = InMemoryMailer()
    threads = [threading.Thread(target=mailer.send, args=(_email("booked:s-1"),)) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(mailer.sent) == 1 and mailer.attempts == 16


def test_clear_forgets_everything():
    mailer = InMemoryMailer()
    mailer.send(_email("k"))
    mailer.clear()
    mailer.send(_email("k"))

    assert len(mailer.sent) == 1 and mailer.attempts == 1
