"""The sandbox program: seeded once, with or without calendars, and its front door."""
from __future__ import annotations

from scheduler.services import sandbox


def test_without_calendars_the_pairs_wait_for_their_people(deps):
    assert sandbox.seed(deps, None) is True
    assert sandbox.seed(deps, None) is False  # once only
    with deps.uow() as uow:
        program = uow.programs.sandbox()
        assert program.name == sandbox.SANDBOX_NAME and program.is_sandbox
        assert [p.status for p in program.pairs] == ["invited"] * len(sandbox.PAIRS)
        assert uow.outbox.all() == [] and uow.connections.all() == []
    rows, pairs = sandbox.front_door(deps)
    assert [r.email for r in rows] == list(sandbox.EMAILS)
    assert {r.roles for r in rows} == {"coordinator", "mentor", "mentee"}
    assert [(p.mentor, p.mentee) for p in pairs] == [("Ada Lovelace", "Lin Chen"), ("Ada Lovelace", "Sam Okafor"),
                                                     ("Grace Hopper", "Priya Sharma")]


def test_with_calendars_everyone_is_connected_and_the_pairs_are_queued(deps):
    consents = []

    def connect(kind, email, tz, now):
        consents.append((kind, email))
        return {"token": f"t-{email}"}

    assert sandbox.seed(deps, connect) is True
    assert len(consents) == sum(1 for p in sandbox.PEOPLE if p.calendar)
    with deps.uow() as uow:
        program = uow.programs.sandbox()
        assert {p.status for p in program.pairs} == {"ready"}
        assert sorted(m.subject_id for m in uow.outbox.all()) == sorted(p.id for p in program.pairs)
        connection = uow.connections.all()[0]
        assert deps.cipher.decrypt(connection.token_blob) == {"token": f"t-{connection.account_email}"}
    assert sandbox.seed(deps, connect) is False and len(consents) == 5  # no second consent either


def test_only_sandbox_people_get_the_one_click_sign_in(deps, seed):
    s = seed()
    sandbox.seed(deps, None)
    rows, _ = sandbox.front_door(deps)
    assert sandbox.is_sandbox_person(deps, rows[0].id)
    assert not sandbox.is_sandbox_person(deps, s.mentor_id)
    assert not sandbox.is_sandbox_person(deps, "nobody")
