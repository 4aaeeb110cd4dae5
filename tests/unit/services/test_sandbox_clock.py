"""The sandbox clock and seeded programs on the in-memory unit of work (docs/contracts.md §2):
durations, the stored offset every process reads, a skip runs what became due exactly once, and a
seeded program is the same for the same seed."""
from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.clock import SandboxClock, offset_in
from adapters.links import LinkSigner
from adapters.mail.memory import InMemoryMailer
from adapters.mail.renderers import MailRenderer
from adapters.storage.memory import MemoryStore
from adapters.tokens import TokenCipher
from scheduler.core.durations import parse_duration
from scheduler.core.entities import Occurrence, Series
from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies, ServiceConfig
from scheduler.services import sandbox
from scheduler.services.notifications import schedule_occurrence_followups
from tests.unit.services.booked import T0
from workers.drain import catch_up


class Ticks:
    """A monotonic clock the test moves (the sandbox clock's cache)."""

    def __init__(self):
        self.value = 0.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def deps(store, clock, calendars, ticks) -> Dependencies:
    return Dependencies(unit_of_work=store.uow, clock=SandboxClock(offset_in(store.uow), clock, monotonic=ticks),
                        providers={"memory": calendars}, mailer=InMemoryMailer(),
                        cipher=TokenCipher([TokenCipher.generate_key()]),
                        config=ServiceConfig(base_url="https://tandem.example"), renderer=MailRenderer(),
                        links=LinkSigner("unit-test-link-secret-0123456789", 14))


@pytest.mark.parametrize("text, expected", [
    ("1d", timedelta(days=1)), ("36h", timedelta(hours=36)), ("2w", timedelta(weeks=2)),
    ("90m", timedelta(minutes=90)), ("1w2d", timedelta(days=9)), (" 1D 12h ", timedelta(hours=36)),
    ("52w", timedelta(weeks=52))])
def test_durations_people_type(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text, says", [
    ("", "no duration"), ("soon", "not a duration"), ("3", "not a duration"), ("1y", "not a duration"),
    ("-1d", "not a duration"), ("0h", "no time at all"), ("53w", "more than a year"), ("1d x", "not a duration")])
def test_bad_durations_say_what_to_type(text, says):
    with pytest.raises(ValueError, match=says) as caught:
        parse_duration(text)
    assert "e.g." in str(caught.value) or "52w" in str(caught.value)


def test_the_offset_is_stored_and_read_by_every_clock_over_the_store(deps, store, clock, ticks):
    assert deps.clock.now() == T0
    other_process = SandboxClock(offset_in(store.uow), clock, monotonic=ticks)
    sandbox.advance(deps, timedelta(hours=36))
    assert deps.clock.now() == T0 + timedelta(hours=36)  # the advancing process reloads at once
    assert other_process.now() == T0 + timedelta(hours=36)
    sandbox.advance(deps, timedelta(hours=1))
    assert other_process.now() == T0 + timedelta(hours=36)  # cached for a second ...
    ticks.value += 1.0
    assert other_process.now() == T0 + timedelta(hours=37)  # ... then read again
    with store.uow() as uow:
        assert uow.clock_offsets.offset() == timedelta(hours=37)


def test_the_clock_only_moves_forward(deps):
    with pytest.raises(InvalidInput, match="only moves forward"):
        sandbox.advance(deps, timedelta(0))
    with pytest.raises(InvalidInput, match="1h, 1d, 1w"):
        sandbox.skip_ahead(deps, "1y")


def test_a_skip_sends_what_became_due_once_and_a_second_skip_repeats_nothing(deps, seed):
    s = seed()
    start = T0 + timedelta(days=3)
    with deps.uow() as uow:
        uow.people.get(s.coordinator_id).digest_opt_out = True  # only the pair's emails here (digest: test_digest)
        series = uow.series.add(Series(pair_id=s.pair_id, tz="UTC", duration_min=45, status="booked",
                                       rrule="FREQ=WEEKLY;COUNT=1", dtstart_local="2026-03-05T08:00:00"))
        occ = uow.occurrences.add(Occurrence(series_id=series.id, original_start=start, start=start,
                                             end=start + timedelta(minutes=45)))
        pair = uow.pairs.get(s.pair_id)
        schedule_occurrence_followups(uow, occ, pair, pair.program, T0)
        uow.commit()
    done = sandbox.advance(deps, timedelta(hours=36), catch_up)
    assert (done.steps, len(deps.mailer.sent)) == (2, 0)  # nothing was due yet (a day + half a day)
    sandbox.advance(deps, timedelta(hours=12), catch_up)
    assert len(deps.mailer.sent) == 2  # the reminders a day before, for both
    sandbox.advance(deps, timedelta(weeks=1), catch_up)
    subjects = sorted(m.subject.split(":")[0] for m in deps.mailer.sent)
    assert len(deps.mailer.sent) == 6, subjects  # two reminders and a feedback request, for both
    sent = list(deps.mailer.sent)
    sandbox.advance(deps, timedelta(weeks=1), catch_up)
    assert list(deps.mailer.sent) == sent
    with deps.uow() as uow:
        assert uow.outbox.count_by_status().get("dead", 0) == 0
        assert uow.occurrences.get(occ.id).attendance_verdict == "unknown"  # nobody answered: not a verdict


def _summary(deps, program_id):
    with deps.uow() as uow:
        program = uow.programs.get(program_id)
        rows = []
        for pair in program.pairs:
            for series in pair.series:
                rows += [(pair.mentor.email, pair.mentee.email, o.start, o.status, o.attendance_verdict)
                         for o in series.occurrences]
        return program.name, sorted(rows)


def test_seeding_is_deterministic_for_a_seed_and_uses_the_attendance_rules(clock, calendars, ticks):
    def fresh():
        store = MemoryStore()
        return Dependencies(unit_of_work=store.uow, clock=SandboxClock(offset_in(store.uow), clock, monotonic=ticks),
                            providers={"memory": calendars}, mailer=InMemoryMailer(),
                            cipher=TokenCipher([TokenCipher.generate_key()]))
    a, b, c = fresh(), fresh(), fresh()
    first = _summary(a, sandbox.seed_history(a, 7, 6, seed=3))
    assert first == _summary(b, sandbox.seed_history(b, 7, 6, seed=3))
    assert first != _summary(c, sandbox.seed_history(c, 7, 6, seed=4))
    verdicts = [row[4] for row in first[1]]
    assert len(first[1]) == 7 * (6 + sandbox.FUTURE_WEEKS)
    assert {"held", "missed", "cancelled"} <= set(verdicts)
    assert all(v == "unknown" for (_, _, start, _, v) in first[1] if start > T0)


def test_seeding_refuses_silly_sizes(deps):
    with pytest.raises(InvalidInput, match="--pairs"):
        sandbox.seed_history(deps, 0, 4)
    with pytest.raises(InvalidInput, match="--weeks"):
        sandbox.seed_history(deps, 3, 500)
