"""Outbox rows go through the tick and the broker to an actor, exactly once in effect."""
import dramatiq
import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select

from adapters.storage.models import OutboxMessage
from adapters.storage.outbox import add_outbox
from workers.tick import tick_once


@pytest.fixture
def stub_broker(container):
    broker = StubBroker()
    broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    yield broker
    broker.flush_all()
    broker.close()


def test_row_is_done_once_even_when_delivered_twice(container, stub_broker):
    from workers.actors import ActorSpec, bind_actors

    effects = []

    def effect(c, subject_id):
        effects.append(subject_id)

    actors = bind_actors(stub_broker, container, extra={"test_effect": ActorSpec(effect, 10_000)})

    now = container.clock.now()
    with container.uow() as uow:
        add_outbox(uow.session, "test_effect", "subject-1", "effect:1", now)
        uow.commit()
    assert tick_once(container, stub_broker) == 1
    with container.uow() as uow:
        row_id = uow.session.scalars(select(OutboxMessage.id)).one()
    actors["test_effect"].send(row_id)  # a duplicate delivery (at-least-once)
    worker = Worker(stub_broker, worker_timeout=100)
    worker.start()
    stub_broker.join("default")
    worker.join()
    worker.stop()
    assert effects == ["subject-1"]
    with container.uow() as uow:
        assert uow.session.get(OutboxMessage, row_id).status == "done"
    assert tick_once(container, stub_broker) == 0


def test_failure_is_recorded_and_retried_later(container, stub_broker):
    from scheduler.errors import ProviderUnavailable
    from workers.actors import ActorSpec, bind_actors

    calls = []

    def flaky(c, subject_id):
        calls.append(subject_id)
        raise ProviderUnavailable("calendar answered 503")

    bind_actors(stub_broker, container, extra={"test_flaky": ActorSpec(flaky, 10_000)})

    with container.uow() as uow:
        add_outbox(uow.session, "test_flaky", "s", "flaky:1", container.clock.now())
        uow.commit()
    tick_once(container, stub_broker)
    worker = Worker(stub_broker, worker_timeout=100)
    worker.start()
    stub_broker.join("default")
    worker.join()
    worker.stop()
    with container.uow() as uow:
        row = uow.session.scalars(select(OutboxMessage)).one()
        assert row.status == "pending" and "503" in row.last_error and row.due_at > container.clock.now()
    assert calls == ["s"]
