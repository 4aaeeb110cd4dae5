"""The weekly digest to coordinators on the in-memory unit of work: queued once per ISO week
however often the sweep runs, opt-out honoured (from the settings and the signed link), and the
content built from the dashboard's rules."""
from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.links import LinkSigner
from adapters.mail.memory import InMemoryMailer
from adapters.mail.renderers import MailRenderer
from adapters.tokens import TokenCipher
from scheduler.core.entities import CalendarConnection, Membership, Notification, Occurrence, Pair, Person, Series
from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies, ServiceConfig
from scheduler.services import digest, sweeps
from scheduler.services.delivery import deliver_notification
from tests.unit.services.booked import T0

SECRET = "unit-test-link-secret-0123456789"
D = timedelta(days=1)


def _members(uow, program_id: str, mentor: Person, mentee: Person) -> None:
    """Their roles in the program (a pair's people are always members; the dashboard shows the
    calendar state of accepted members only)."""
    uow.memberships.add(Membership(program_id=program_id, person_id=mentor.id, role="mentor"))
    uow.memberships.add(Membership(program_id=program_id, person_id=mentee.id, role="mentee"))


@pytest.fixture
def deps(store, clock, calendars) -> Dependencies:
    return Dependencies(unit_of_work=store.uow, clock=clock, providers={"memory": calendars},
                        mailer=InMemoryMailer(), cipher=TokenCipher([TokenCipher.generate_key()]),
                        config=ServiceConfig(base_url="https://tandem.example"),
                        renderer=MailRenderer(), links=LinkSigner(SECRET, 14))


def _sessions(deps, pair_id, *sessions):
    with deps.uow() as uow:
        series = uow.series.add(Series(pair_id=pair_id, status="booked", tz="UTC", duration_min=45))
        for start, verdict in sessions:
            uow.occurrences.add(Occurrence(series_id=series.id, original_start=start, start=start,
                                           end=start + timedelta(minutes=45), attendance_verdict=verdict))
        uow.commit()


@pytest.fixture
def program(deps, seed, store):
    """T0 is Monday 2 March 2026, 08:00 UTC. Last week (23 Feb–1 Mar): one held, two missed in a
    row for the seeded pair; a second pair whose mentor's calendar is broken."""
    s = seed(status="booked")
    _sessions(deps, s.pair_id, (T0 - 11 * D, "held"), (T0 - 6 * D, "held"), (T0 - 5 * D, "missed"),
              (T0 - 4 * D, "missed"))
    with deps.uow() as uow:
        mentor = uow.people.add(Person(email="ada@example.org", name="Ada"))
        mentee = uow.people.add(Person(email="olu@example.org", name="Olu"))
        uow.connections.add(CalendarConnection(person_id=mentor.id, provider="google", status="reconnect"))
        _members(uow, s.program_id, mentor, mentee)
        pair = uow.pairs.add(Pair(program_id=s.program_id, mentor_id=mentor.id, mentee_id=mentee.id,
                                  status="booked"))
        uow.commit()
    return s, pair.id


def _digests(deps):
    with deps.uow() as uow:
        return [n for n in uow.notifications.get_many(_ids(deps)) if n.kind == digest.KIND]


def _ids(deps):
    store = deps.unit_of_work.__self__
    return list(store.tables[Notification])


def _deliver_all(deps) -> int:
    return sum(deliver_notification(deps, n.id) for n in _digests(deps) if n.status == "pending")


def test_queued_once_per_week_however_often_the_sweep_runs(deps, clock, program):
    s, _ = program
    assert sweeps.weekly_digests(deps) == 1
    for _ in range(3):
        clock.advance(hours=7)
        assert sweeps.weekly_digests(deps) == 0
    assert _deliver_all(deps) == 1 and _deliver_all(deps) == 0
    assert len(deps.mailer.sent_to("coord@example.org")) == 1
    clock.advance(days=6)  # next Monday, 05:00 UTC: before 08:00, not yet
    assert clock.now().weekday() == 0 and clock.now().hour == 5
    assert sweeps.weekly_digests(deps) == 0
    clock.advance(hours=3)
    assert sweeps.weekly_digests(deps) == 1 and sweeps.weekly_digests(deps) == 0
    keys = sorted(n.idempotency_key for n in _digests(deps))
    assert keys == [f"digest:{s.program_id}:{s.coordinator_id}:2026-W10",
                    f"digest:{s.program_id}:{s.coordinator_id}:2026-W11"]


def test_content_comes_from_the_dashboard_rules(deps, program):
    s, second = program
    ctx = digest.digest_context(deps, s.coordinator_id, s.program_id, "k")
    assert ctx.week_label == "23 Feb–1 Mar 2026"
    assert (ctx.held, ctx.missed, ctx.missed_rate) == (1, 2, 2 / 3)
    assert [(p.mentor_name, p.mentee_name) for p in ctx.at_risk] == [("Mina", "Ezra"), ("Ada", "Olu")]
    assert ctx.at_risk[0].reasons == ("Missed the last 2 sessions in a row.",)
    assert ctx.at_risk[0].pair_url == f"https://tandem.example/programs/{s.program_id}/pairs/{s.pair_id}"
    assert [(p.mentor_name, p.pair_url.rsplit("/", 1)[1]) for p in ctx.broken] == [("Ada", second)]
    assert ctx.broken_connections == 1 and ctx.more_at_risk == 0 and ctx.more_broken == 0
    assert all("calendar" in r.lower() or "connection" in r.lower() for r in ctx.broken[0].reasons)
    assert digest.digest_link_person(deps, ctx.unsubscribe_url.rsplit("/", 1)[1]) == s.coordinator_id


def test_at_most_twenty_pairs_then_and_n_more(deps, program):
    s, _ = program
    with deps.uow() as uow:
        for i in range(22):
            mentor = uow.people.add(Person(email=f"m{i}@example.org", name=f"M{i:02d}"))
            mentee = uow.people.add(Person(email=f"e{i}@example.org", name=f"E{i:02d}"))
            _members(uow, s.program_id, mentor, mentee)
            uow.pairs.add(Pair(program_id=s.program_id, mentor_id=mentor.id, mentee_id=mentee.id,
                               status="booked"))
            uow.connections.add(CalendarConnection(person_id=mentee.id, provider="google", status="reconnect"))
        uow.commit()
    ctx = digest.digest_context(deps, s.coordinator_id, s.program_id, "k")
    assert (len(ctx.at_risk), ctx.more_at_risk) == (20, 4)
    assert (len(ctx.broken), ctx.more_broken, ctx.broken_connections) == (20, 3, 23)
    sweeps.weekly_digests(deps)
    _deliver_all(deps)
    email = deps.mailer.sent_to("coord@example.org")[0]
    assert "and 4 more" in email.text and "and 4 more" in email.html


def test_opt_out_is_honoured(deps, clock, program):
    s, _ = program
    digest.set_digest_opt_out(deps, s.coordinator_id, True)
    assert sweeps.weekly_digests(deps) == 0
    digest.set_digest_opt_out(deps, s.coordinator_id, False)
    assert sweeps.weekly_digests(deps) == 1
    # opted out between queueing and delivery: the email is dropped, not sent
    digest.set_digest_opt_out(deps, s.coordinator_id, True)
    assert _deliver_all(deps) == 0 and deps.mailer.sent == ()
    assert [n.status for n in _digests(deps)] == ["cancelled"]


def test_one_click_unsubscribe_link(deps, program):
    s, _ = program
    sweeps.weekly_digests(deps)
    _deliver_all(deps)
    email = deps.mailer.sent_to("coord@example.org")[0]
    url = next(word for word in email.text.split() if "/digest/unsubscribe/" in word)
    token = url.rsplit("/", 1)[1]
    assert digest.unsubscribe_by_link(deps, token) == "coord@example.org"
    assert digest.unsubscribe_by_link(deps, token) == "coord@example.org"  # again: no change
    with deps.uow() as uow:
        assert uow.people.get(s.coordinator_id).digest_opt_out is True
    with pytest.raises(InvalidInput, match="not valid"):
        digest.unsubscribe_by_link(deps, token[:-3] + "xyz")


def test_not_sent_to_former_coordinators(deps, program):
    s, _ = program
    with deps.uow() as uow:
        for m in uow.memberships.of_program(s.program_id):
            if m.role == "coordinator":
                uow.memberships.delete(m)
        uow.commit()
    assert digest.digest_context(deps, s.coordinator_id, s.program_id, "k") is None
