"""The JSON API's use cases on the in-memory unit of work: tokens stored as hashes, scope,
revocation, the per-minute count and last use, and keyset pages (with the at-risk filter)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.core.entities import ApiToken, Pair, Person
from scheduler.errors import InvalidInput
from scheduler.services import api as service
from scheduler.services import dashboard
from scheduler.services.programs import UnknownProgram
from tests.unit.services.booked import T0


def test_only_the_hash_is_stored_and_names_are_checked(deps, seed, store):
    s = seed()
    made = service.create_api_token(deps, name="  HR export ", program_id=s.program_id, created_by=s.coordinator_id)
    assert made.token.startswith("tdm_") and len(made.token) > 40
    (row,) = store.tables[ApiToken].values()
    assert row["token_hash"] == service.hash_token(made.token) and made.token not in str(row)
    assert (row["name"], row["created_by"]) == ("HR export", s.coordinator_id)
    for bad in ("", "  ", "a\nb", "x" * 81):
        with pytest.raises(InvalidInput):
            service.create_api_token(deps, name=bad, program_id=s.program_id)
    with pytest.raises(UnknownProgram):
        service.create_api_token(deps, name="t", program_id="nope")


def test_the_count_is_per_minute_and_last_use_is_written_once_a_minute(deps, seed, clock, store):
    s = seed()
    token = service.create_api_token(deps, name="t", program_id=s.program_id).token
    clock.current = clock.current.replace(second=10)
    first = service.authenticate(deps, token, per_minute=2)
    assert (first.program_id, first.remaining) == (s.program_id, 1)
    used = next(iter(store.tables[ApiToken].values()))["last_used_at"]
    clock.advance(seconds=20)
    assert service.authenticate(deps, token, per_minute=2).remaining == 0
    assert next(iter(store.tables[ApiToken].values()))["last_used_at"] == used  # not rewritten this minute
    with pytest.raises(service.RateLimitExceeded) as limited:
        service.authenticate(deps, token, per_minute=2)
    assert limited.value.retry_after == 30
    clock.advance(seconds=30)  # a new minute: counted from 1 again, last use moves on
    assert service.authenticate(deps, token, per_minute=2).remaining == 1
    assert next(iter(store.tables[ApiToken].values()))["last_used_at"] == clock.current


def test_unknown_and_revoked_tokens_are_refused(deps, seed):
    s = seed()
    made = service.create_api_token(deps, name="t", program_id=s.program_id)
    for bad in (None, "", "tdm_nope"):
        with pytest.raises(service.TokenRefused):
            service.authenticate(deps, bad, per_minute=10)
    assert service.revoke_api_token(deps, s.program_id, made.line.id)
    assert not service.revoke_api_token(deps, "another", made.line.id)
    with pytest.raises(service.TokenRefused, match="revoked"):
        service.authenticate(deps, made.token, per_minute=10)


def test_a_program_token_sees_its_program_only(deps, seed):
    s = seed()
    caller = service.Caller("t", s.program_id, 10, 10)
    assert [p.id for p in service.api_programs(deps, caller)] == [s.program_id]
    for call in (lambda: service.api_program(deps, caller, "other"),
                 lambda: service.api_pairs(deps, caller, "other"),
                 lambda: service.api_sessions(deps, caller, "other")):
        with pytest.raises(UnknownProgram):
            call()


def test_pairs_come_in_keyset_pages_and_the_at_risk_filter_spans_pages(deps, seed, store):
    s = seed(status="booked")
    with deps.uow() as uow:
        for i in range(9):
            mentee = uow.people.add(Person(email=f"m{i}@example.org"))
            uow.pairs.add(Pair(program_id=s.program_id, mentor_id=s.mentor_id, mentee_id=mentee.id,
                               status="unschedulable" if i % 4 == 0 else "booked"))
        uow.commit()
    for row in store.tables[Pair].values():
        row["updated_at"] = T0 - timedelta(days=10)  # unschedulable for 10 days: at risk
    caller = service.Caller("t", None, 10, 10)
    everything = dashboard.dashboard(deps, s.program_id).lines
    risky = sorted(line.pair_id for line in everything if line.reasons)
    assert len(risky) == 3

    def walk(**kw) -> list[list[str]]:
        pages, cursor = [], None
        while True:
            page = service.api_pairs(deps, caller, s.program_id, cursor=cursor, limit=2, **kw)
            pages.append([line.pair_id for line in page.items])
            cursor = page.next_cursor
            if cursor is None:
                return pages

    pages = walk()
    assert sum(pages, []) == sorted(store.tables[Pair]) and len(pages) == 5
    assert sum(walk(at_risk_only=True), []) == risky
    assert sum(walk(at_risk_only=False), []) == sorted(set(store.tables[Pair]) - set(risky))
    assert sum(walk(state="unschedulable"), []) == risky
    with pytest.raises(service.BadCursor):
        service.api_pairs(deps, caller, s.program_id, cursor="bm9wZQ")
    with pytest.raises(InvalidInput):
        service.api_pairs(deps, caller, s.program_id, limit=1001)
