"""How an actor runs an outbox row (``workers.actors.run_outbox_row``) on the in-memory unit of
work: once per row, and retried only when the error says a retry can help."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.core.pair_state import IllegalTransition
from scheduler.errors import (InvalidInput, MailRejected, MailUnavailable, NotFound, ProviderUnavailable,
                              RateLimited, ReconnectNeeded)
from tests.unit.services.booked import T0
from workers.actors import ACTOR_TABLE, bind_actors, run_outbox_row


def _claimed(deps, key="k:1"):
    with deps.uow() as uow:
        uow.outbox.add_once("test_kind", "subject-1", key, T0)
        (row,) = uow.outbox.claim_due(T0, limit=10, claim_timeout=timedelta(minutes=5), max_attempts=8)
        uow.commit()
    return row.id


def _row(deps, row_id):
    with deps.uow() as uow:
        return uow.outbox.get(row_id)


def test_a_row_runs_once_and_a_second_delivery_does_nothing(deps):
    row_id, seen = _claimed(deps), []
    run_outbox_row(deps, "test_kind", lambda d, subject: seen.append(subject), row_id)
    run_outbox_row(deps, "test_kind", lambda d, subject: seen.append(subject), row_id)
    assert seen == ["subject-1"] and _row(deps, row_id).status == "done"


@pytest.mark.parametrize("error", [MailRejected("550 no such mailbox", ("x@example.org",)),
                                   ReconnectNeeded("consent withdrawn"), InvalidInput("bad agenda"),
                                   NotFound("event gone"), IllegalTransition("paused -> booked")])
def test_errors_a_retry_cannot_help_make_the_row_dead_at_once(deps, error):
    row_id = _claimed(deps)

    def fail(d, subject):
        raise error

    run_outbox_row(deps, "test_kind", fail, row_id)
    row = _row(deps, row_id)
    assert row.status == "dead" and type(error).__name__ in row.last_error


@pytest.mark.parametrize("error, delay", [(ProviderUnavailable("503"), timedelta(seconds=5)),
                                          (MailUnavailable("421 try later"), timedelta(seconds=5)),
                                          (RateLimited("slow down", retry_after=90), timedelta(seconds=90)),
                                          (RuntimeError("not Tandem's: taken as transient"), timedelta(seconds=5))])
def test_transient_errors_are_retried_later_through_the_row(deps, clock, error, delay):
    row_id = _claimed(deps)

    def fail(d, subject):
        raise error

    run_outbox_row(deps, "test_kind", fail, row_id)
    row = _row(deps, row_id)
    assert (row.status, row.due_at, row.attempts) == ("pending", clock.now() + delay, 1)


def test_binding_declares_the_table_on_the_given_broker_only():
    from dramatiq.brokers.stub import StubBroker

    broker = StubBroker()
    bound = bind_actors(broker, deps=None, extra={})
    assert set(bound) == set(ACTOR_TABLE) | {"deliver_notifications"}  # the table, and emails in batches
    assert broker.get_actor("deliver_notification") is bound["deliver_notification"]
    assert all(actor.options["max_retries"] == 0 for actor in bound.values())
    broker.close()


def test_a_routine_wait_is_logged_at_info_and_a_real_failure_as_a_warning(deps, caplog):
    import logging

    from scheduler.services.planning import GroupBeingPlanned

    def wait(d, subject):
        raise GroupBeingPlanned("another run is planning this mentor's group")

    def fail(d, subject):
        raise ProviderUnavailable("503")

    with caplog.at_level(logging.INFO, logger="workers.actors"):
        run_outbox_row(deps, "test_kind", wait, _claimed(deps, "k:wait"))
        run_outbox_row(deps, "test_kind", fail, _claimed(deps, "k:fail"))
    levels = [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records if r.name == "workers.actors"]
    assert levels == [("INFO", "test_kind(subject-1) waits"), ("WARNING", "test_kind(subject-1) failed")]
