"""The weekly digest through the SQL unit of work (SQLite and PostgreSQL): the sweep queues it
once a week, delivery builds it from the dashboard's aggregate queries, the opt-out is kept."""
from datetime import datetime, timedelta, timezone

import pytest

from adapters.mail.memory import InMemoryMailer
from adapters.storage.models import Membership, Notification, Occurrence, Pair, Person, Series
from config.bootstrap import bootstrap
from scheduler.services import digest, sweeps
from scheduler.services.delivery import deliver_notification
from tests.support.pipeline import FakeClock, make_program

NOW = datetime(2027, 3, 1, 9, tzinfo=timezone.utc)  # a Monday, 09:00 UTC


@pytest.fixture
def world(settings):
    mailer, clock = InMemoryMailer(), FakeClock(NOW)
    container = bootstrap(settings, mailer=mailer, providers={}, clock=clock)
    with container.uow() as uow:
        s = uow.session
        program = make_program(s, name="Spring cohort")
        coordinator = Person(email="cora@example.org", name="Cora")
        mentor, mentee = Person(email="max@example.org", name="Max"), Person(email="mia@example.org", name="Mia")
        s.add_all([coordinator, mentor, mentee])
        s.flush()
        s.add_all([Membership(program_id=program.id, person_id=coordinator.id, role="coordinator"),
                   Membership(program_id=program.id, person_id=mentor.id, role="mentor"),
                   Membership(program_id=program.id, person_id=mentee.id, role="mentee")])
        pair = Pair(program_id=program.id, mentor_id=mentor.id, mentee_id=mentee.id, status="booked")
        s.add(pair)
        s.flush()
        series = Series(pair_id=pair.id, status="booked", tz="UTC", duration_min=45)
        s.add(series)
        s.flush()
        for days, verdict in ((5, "missed"), (3, "missed")):
            start = NOW - timedelta(days=days)
            s.add(Occurrence(series_id=series.id, original_start=start, start=start,
                             end=start + timedelta(minutes=45), attendance_verdict=verdict))
        uow.commit()
        ids = program.id, coordinator.id, pair.id
    yield container, mailer, clock, ids
    container.dispose()


def _deliver_pending(container) -> int:
    with container.uow() as uow:
        pending = [n.id for n in uow.session.query(Notification).filter_by(kind=digest.KIND, status="pending")]
    return sum(deliver_notification(container, nid) for nid in pending)


def test_sent_once_a_week_with_the_dashboard_numbers(world):
    container, mailer, clock, (program_id, coordinator_id, pair_id) = world
    assert sweeps.weekly_digests(container) == 1
    assert sweeps.weekly_digests(container) == 0
    assert _deliver_pending(container) == 1 and _deliver_pending(container) == 0
    (email,) = mailer.sent
    assert email.to == ("cora@example.org",) and "1 pair at risk" in email.subject
    assert "Sessions missed: 2" in email.text and "Missed rate: 100%" in email.text
    assert f"/programs/{program_id}/pairs/{pair_id}" in email.text
    clock.advance(timedelta(days=3))
    assert sweeps.weekly_digests(container) == 0


def test_the_opt_out_is_stored_and_kept(world):
    container, mailer, clock, (program_id, coordinator_id, pair_id) = world
    digest.set_digest_opt_out(container, coordinator_id, True)
    assert sweeps.weekly_digests(container) == 0 and mailer.sent == ()
