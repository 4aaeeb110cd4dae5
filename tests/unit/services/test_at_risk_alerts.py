"""Immediate at-risk alerts: off by default; on, each coordinator gets one email when a pair
becomes at risk — once per pair per episode, however often the sweep runs."""
from __future__ import annotations

import pytest

from scheduler.ports import Dependencies
from scheduler.services import at_risk_alerts, sweeps
from scheduler.services.delivery import deliver_notification


@pytest.fixture
def deps(deps_with_mail) -> Dependencies:
    return deps_with_mail


def _alerts(deps):
    with deps.uow() as uow:
        return uow.notifications.where(lambda n: n.kind == at_risk_alerts.KIND)


def _connection_status(deps, person_id, status):
    with deps.uow() as uow:
        for connection in uow.connections.of_people([person_id]):
            connection.status = status
        uow.commit()


def test_alerts_are_off_by_default_and_queue_nothing(deps, seed):
    seeded = seed(status="booked", connected=True)
    _connection_status(deps, seeded.mentee_id, "reconnect_needed")
    assert sweeps.at_risk_alert_sweeps(deps) == 0
    assert at_risk_alerts.alert_program(deps, seeded.program_id) == 0
    assert _alerts(deps) == []


def test_one_email_per_pair_per_episode(deps, seed, clock):
    seeded = seed(status="booked", connected=True)
    at_risk_alerts.set_at_risk_alerts(deps, seeded.program_id, True)
    assert sweeps.at_risk_alert_sweeps(deps) == 1
    assert sweeps.at_risk_alert_sweeps(deps) == 0  # one row per program per hour
    assert at_risk_alerts.alert_program(deps, seeded.program_id) == 0  # nothing at risk yet
    _connection_status(deps, seeded.mentee_id, "reconnect_needed")
    assert at_risk_alerts.alert_program(deps, seeded.program_id) == 1
    clock.advance(hours=1)
    assert at_risk_alerts.alert_program(deps, seeded.program_id) == 0  # still the same episode
    (alert,) = _alerts(deps)
    assert alert.person_id == seeded.coordinator_id and alert.pair_id == seeded.pair_id
    deliver_notification(deps, alert.id)
    (email,) = deps.mailer.sent
    assert email.subject == "Mina and Ezra may need a hand (Pilot)"
    assert f"https://tandem.example/programs/{seeded.program_id}/pairs/{seeded.pair_id}" in email.text
    assert "calendar" in email.text.lower()  # the reason, in words
    _connection_status(deps, seeded.mentee_id, "ok")  # back on track: the episode ends
    clock.advance(hours=1)
    assert at_risk_alerts.alert_program(deps, seeded.program_id) == 0
    with deps.uow() as uow:
        assert uow.programs.get(seeded.program_id).at_risk_alerted == {}
    _connection_status(deps, seeded.mentee_id, "reconnect_needed")  # a new episode: a new email
    clock.advance(hours=1)
    assert at_risk_alerts.alert_program(deps, seeded.program_id) == 1
    assert len(_alerts(deps)) == 2


def test_turning_alerts_off_forgets_who_was_alerted(deps, seed):
    seeded = seed(status="booked", connected=True)
    at_risk_alerts.set_at_risk_alerts(deps, seeded.program_id, True)
    _connection_status(deps, seeded.mentee_id, "reconnect_needed")
    at_risk_alerts.alert_program(deps, seeded.program_id)
    at_risk_alerts.set_at_risk_alerts(deps, seeded.program_id, False)
    with deps.uow() as uow:
        program = uow.programs.get(seeded.program_id)
        assert (program.at_risk_alerts, program.at_risk_alerted) == (False, {})
    assert at_risk_alerts.alert_program(deps, seeded.program_id) == 0
