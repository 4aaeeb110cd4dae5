"""The sandbox program: seeded once, with or without calendars, and its front door."""
from __future__ import annotations

from scheduler.ports import Dependencies, OutgoingEmail
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


def test_the_demo_page_shows_the_inbox_newest_first(deps):
    sandbox.seed(deps, None)
    for n in range(3):
        deps.mailer.send(OutgoingEmail(to=("ada.mentor@sandbox.tandem.test",), subject=f"mail {n}", text="hi",
                                       idempotency_key=f"k{n}"))
    assert [e.subject for e in sandbox.inbox(deps, limit=2)] == ["mail 2", "mail 1"]
    page = sandbox.demo_page(deps)
    assert [e.subject for e in page.inbox] == ["mail 2", "mail 1", "mail 0"]
    assert [r.email for r in page.people] == list(sandbox.EMAILS) and len(page.pairs) == len(sandbox.PAIRS)
    no_outbox = Dependencies(unit_of_work=deps.unit_of_work, clock=deps.clock, providers=deps.providers,
                             mailer=object(), cipher=deps.cipher, config=deps.config)
    assert sandbox.inbox(no_outbox) == []  # a real mailer keeps nothing to show


def test_the_emulated_calendars_know_every_person_tandem_knows_and_no_one_else(deps):
    from scheduler.core.entities import Person

    sandbox.seed(deps, None)
    with deps.uow() as uow:
        uow.people.add(Person(email="imported@elsewhere.example"))  # no time zone set yet
        uow.commit()
    assert sandbox.person_zone(deps, "Lin.Mentee@sandbox.tandem.test ") == "Europe/London"
    assert sandbox.person_zone(deps, "imported@elsewhere.example") == "UTC"
    assert sandbox.person_zone(deps, "stranger@nowhere.example") is None
