"""Emails in batches: the ``deliver_notifications`` actor leases many ``deliver_notification`` rows,
reads them at once and sends them on one kept SMTP connection (a real aiosmtpd on loopback),
each marked sent with its outbox row done right after the server's 250. Each row still ends
done, retried or dead on its own; a second run of the same batch sends nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from adapters.mail.smtp import SmtpMailer, message_id_for
from adapters.storage.models import Goal, Occurrence, OutboxMessage, Series
from config.bootstrap import bootstrap
from config.settings import MailSection
from scheduler.services import delivery
from scheduler.services.notifications import DELIVER, DELIVER_BATCH, add_notification
from tests.integration.test_smtp_mailer import RecordingHandler, smtp_server
from tests.support.pipeline import FakeClock, make_person, make_program, make_ready_pair
from tests.support.services import free_port
from workers.actors import run_delivery_batch
from workers.tick import messages_for, tick_once

NOW = datetime(2027, 3, 1, 9, tzinfo=timezone.utc)
LEASE = timedelta(minutes=5)


def _world(settings, port: int):
    """A container whose mailer talks SMTP to ``port`` on loopback, and its clock."""
    clock = FakeClock(NOW)
    mailer = SmtpMailer(MailSection(smtp_host="127.0.0.1", smtp_port=port, from_address="Tandem <t@example.org>"),
                        timeout=5)
    return bootstrap(settings, mailer=mailer, providers={}, clock=clock), mailer


def _reminders(container, count: int, *, emails=("ada@example.org", "lin@example.org")) -> list[str]:
    """``count`` due reminders (half to each person of one pair) with claimed outbox rows; their
    outbox ids, earliest first."""
    with container.uow() as uow:
        s = uow.session
        program = make_program(s, name="Spring cohort")
        mentor = make_person(container, s, emails[0], "America/New_York")
        mentee = make_person(container, s, emails[1], "Europe/Berlin")
        pair = make_ready_pair(container, s, program, mentor, mentee, NOW)
        pair.status = "booked"
        s.add(Goal(pair_id=pair.id, text="Ship the talk"))
        series = Series(pair_id=pair.id, rrule="FREQ=WEEKLY", tz="Europe/Berlin", duration_min=30, status="booked",
                        video_url="https://meet.example.org/abc")
        s.add(series)
        s.flush()
        for week in range(-(-count // 2)):
            start = NOW + timedelta(days=1, weeks=week)
            occ = Occurrence(series_id=series.id, original_start=start, start=start, end=start + timedelta(minutes=30),
                             agenda="Goals since last time\nWhat is blocking you")
            s.add(occ)
            s.flush()
            for person in (mentor, mentee)[:count - 2 * week]:
                add_notification(uow, kind="reminder", person_id=person.id, pair_id=pair.id, occurrence_id=occ.id,
                                 due_at=NOW, key=f"reminder:{occ.id}:{person.id}")
        uow.commit()
    with container.uow() as uow:
        rows = [r for r in uow.outbox.claim_due(NOW, limit=10_000, claim_timeout=LEASE, max_attempts=8)
                if r.kind == DELIVER]
        uow.commit()
    return [r.id for r in rows]


def _rows(container, outbox_ids) -> dict[str, tuple[str, str]]:
    """outbox id -> (outbox status, notification status)."""
    with container.uow() as uow:
        return {r.id: (r.status, uow.notifications.get(r.subject_id).status if uow.notifications.get(r.subject_id)
                       else "gone") for r in uow.outbox.get_many(outbox_ids)}


def _message_ids(handler) -> list[str]:
    return [message["Message-ID"] for _, _, message in handler.received]


def test_a_batch_is_sent_once_on_one_connection_and_each_row_finished(settings):
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        container, mailer = _world(settings, port)
        try:
            ids = _reminders(container, 12)
            run_delivery_batch(container, ids)
            run_delivery_batch(container, ids)  # the same message delivered twice: nothing more is sent
            mailer.close()
            states = _rows(container, ids)
            with container.uow() as uow:
                keys = [uow.notifications.get(r.subject_id).idempotency_key for r in uow.outbox.get_many(ids)]
        finally:
            container.dispose()
    assert len(handler.received) == 12 and len(set(_message_ids(handler))) == 12
    assert len(set(handler.peers)) == 1  # one connection for the whole batch
    assert set(states.values()) == {("done", "sent")}
    assert set(_message_ids(handler)) == {message_id_for(k) for k in keys}
    first = handler.received[0][2]
    assert "Ship the talk" in first.get_body(("plain",)).get_content()  # goals read with the batch


def test_each_row_of_a_batch_ends_on_its_own(settings):
    """A refused address is dead, a cancelled notification is done unsent, a notification that
    cannot be rendered is retried; the others are sent."""
    handler = RecordingHandler(refuse=("lin@example.org",))
    with smtp_server(handler) as port:
        container, mailer = _world(settings, port)
        try:
            ids = _reminders(container, 6)
            with container.uow() as uow:
                rows = uow.outbox.get_many(ids)
                by_person = {}
                for row in rows:
                    n = uow.notifications.get(row.subject_id)
                    by_person.setdefault(uow.people.get(n.person_id).email, []).append((row.id, n))
                ada_rows, lin_rows = by_person["ada@example.org"], by_person["lin@example.org"]
                cancelled_id, broken_id = ada_rows[0][0], ada_rows[1][0]
                ada_rows[0][1].status = "cancelled"
                ada_rows[1][1].kind = "moved"  # a "moved" notice without its times cannot be rendered
                uow.commit()
            run_delivery_batch(container, ids)
            mailer.close()
            states = _rows(container, ids)
            with container.uow() as uow:
                assert "KeyError" in uow.outbox.get(broken_id).last_error
                assert "lin@example.org" in uow.outbox.get(lin_rows[0][0]).last_error
        finally:
            container.dispose()
    assert states[cancelled_id] == ("done", "cancelled")
    assert states[broken_id] == ("pending", "pending")  # retried later, with the error kept
    assert [states[i] for i, _ in lin_rows] == [("dead", "pending")] * 3  # 550: retrying cannot help
    assert states[ada_rows[2][0]] == ("done", "sent")
    assert len(handler.received) == 1


def test_a_mail_server_away_stops_the_batch_and_every_row_is_retried(settings):
    container, mailer = _world(settings, free_port())  # nothing listens there
    try:
        ids = _reminders(container, 8)
        run_delivery_batch(container, ids)
        with container.uow() as uow:
            rows = uow.outbox.get_many(ids)
            errors = [r.last_error for r in rows]
            assert {r.status for r in rows} == {"pending"} and all(r.due_at > NOW for r in rows)
            assert {uow.notifications.get(r.subject_id).status for r in rows} == {"pending"}
        assert sum("MailUnavailable" in e for e in errors) == delivery.MAX_UNAVAILABLE_IN_A_ROW
        assert sum("NotTried" in e and "mail server is unavailable" in e for e in errors) == 8 - 2
    finally:
        container.dispose()


def test_no_email_starts_once_the_lease_is_running_out(settings):
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        container, mailer = _world(settings, port)
        try:
            ids = _reminders(container, 5)
            with container.uow() as uow:
                jobs = [delivery.DeliveryJob(r.id, r.subject_id) for r in uow.outbox.acquire_many(ids, NOW, LEASE)]
                uow.commit()
            answers = iter([True, True, False])
            outcomes = list(delivery.deliver_many(container, jobs, time_left=lambda: next(answers, False)))
            mailer.close()
        finally:
            container.dispose()
    assert [o.sent for o in outcomes] == [True, True, False, False, False]
    assert all(isinstance(o.error, delivery.NotTried) for o in outcomes[2:])
    assert [o.job for o in outcomes] == jobs and len(handler.received) == 2


def test_reading_a_batch_costs_the_same_queries_whatever_its_size(settings):
    """What the emails need is read for the whole batch at once: no query per email but the
    two writes that mark it sent and its row done."""
    handler = RecordingHandler()
    counts = {}
    with smtp_server(handler) as port:
        container, mailer = _world(settings, port)
        try:
            ids = _reminders(container, 24)
            statements: list[str] = []
            event.listen(container.engine, "before_cursor_execute",
                         lambda conn, cursor, statement, *args: statements.append(statement.lstrip().upper()))
            for size, batch in ((4, ids[:4]), (20, ids[4:])):
                statements.clear()
                run_delivery_batch(container, batch)
                counts[size] = (sum(s.startswith("SELECT") for s in statements),
                                sum(s.startswith("UPDATE") for s in statements))
            mailer.close()
        finally:
            container.dispose()
    assert counts[4][0] == counts[20][0] > 0
    assert counts[20][1] - counts[4][1] == 2 * 16  # mark sent + mark done per email, nothing else
    assert len(handler.received) == 24


def test_the_tick_hands_emails_over_in_batches(settings):
    assert [(m.actor_name, m.args) for m in messages_for(
        [("a", DELIVER), ("p", "plan_pair"), ("b", DELIVER), ("c", DELIVER)], 2)] == [
        ("plan_pair", ("p",)), (DELIVER_BATCH, (["a", "b"],)), (DELIVER_BATCH, (["c"],))]
    assert [(m.actor_name, m.args) for m in messages_for([("a", DELIVER), ("b", DELIVER)], 1)] == [
        (DELIVER, ("a",)), (DELIVER, ("b",))]


class _Broker:
    """Collects what the tick enqueues (the tick's side of a broker, nothing more)."""

    def __init__(self):
        self.messages = []

    def enqueue(self, message):
        self.messages.append(message)


def test_a_tick_sends_a_batch_of_due_emails_in_one_message(settings):
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        container, mailer = _world(settings, port)
        try:
            ids = _reminders(container, 7)
            with container.uow() as uow:  # un-claim them: the tick claims them
                for row in uow.outbox.get_many(ids):
                    row.status, row.attempts = "pending", 0
                uow.commit()
            broker = _Broker()
            assert tick_once(container, broker) == 7
            batch = [m for m in broker.messages if m.actor_name == DELIVER_BATCH]
            assert len(batch) == 1 and sorted(batch[0].args[0]) == sorted(ids)
            run_delivery_batch(container, *batch[0].args)
            mailer.close()
        finally:
            container.dispose()
    assert len(handler.received) == 7


@pytest.mark.parametrize("max_waiting, expected", [(1000, 23), (10, 10)])
def test_a_backlog_is_claimed_without_waiting_for_the_interval(settings, max_waiting, expected):
    """With an interval of an hour, a full batch is followed by the next at once — until as
    many rows wait in the broker as ``tick.max_waiting`` allows."""
    import threading
    from dataclasses import replace

    from workers.tick import run_tick_loop

    tick = replace(settings.tick, interval_seconds=3600, batch_size=5, max_waiting=max_waiting)
    container, _ = _world(replace(settings, tick=tick), free_port())
    try:
        with container.uow() as uow:
            person = make_person(container, uow.session, "ada@example.org", "Europe/Berlin", provider=None)
            for n in range(23):
                add_notification(uow, kind="magic_link", person_id=person.id, due_at=NOW, key=f"magic:{n}",
                                 payload={"url": "https://t.example/x"})
            uow.commit()
        broker, stop = _Broker(), threading.Event()
        loop = threading.Thread(target=run_tick_loop, args=(container, broker, stop), daemon=True)
        loop.start()
        try:
            deadline = datetime.now() + timedelta(seconds=60)
            while _claimed(container) < expected and datetime.now() < deadline:
                stop.wait(0.05)
            stop.wait(0.5)  # time enough for a tick too many to show
            assert _claimed(container) == expected
        finally:
            stop.set()
            loop.join(timeout=30)
    finally:
        container.dispose()


def _claimed(container) -> int:
    with container.uow() as uow:
        return sum(1 for _ in uow.session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "enqueued")))


def test_a_batch_cut_short_after_its_sends_finishes_later_without_sending_again(settings):
    """A worker that dies after the sends, before it finished the outbox rows, leaves them
    running: once their lease runs out they are taken again, find their notifications sent, and
    are done without a second email."""
    handler = RecordingHandler()
    with smtp_server(handler) as port:
        container, mailer = _world(settings, port)
        try:
            ids = _reminders(container, 3)
            with container.uow() as uow:
                jobs = [delivery.DeliveryJob(r.id, r.subject_id) for r in uow.outbox.acquire_many(ids, NOW, LEASE)]
                uow.commit()
            assert [o.sent for o in delivery.deliver_many(container, jobs)] == [True] * 3  # ... and the worker dies
            assert set(_rows(container, ids).values()) == {("running", "sent")}
            run_delivery_batch(container, ids)  # the lease has not run out: not taken
            assert set(_rows(container, ids).values()) == {("running", "sent")}
            container.clock.advance(LEASE + timedelta(seconds=1))
            run_delivery_batch(container, ids)
            mailer.close()
            states = _rows(container, ids)
        finally:
            container.dispose()
    assert set(states.values()) == {("done", "sent")} and len(handler.received) == 3
