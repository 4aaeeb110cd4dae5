"""The dashboard's pairs table in SQL (``pairs.table_page``, ``pairs.counts_in`` over the kept
``pair_summaries``) answers exactly like the in-memory store, which judges every pair with
``scheduler.core.at_risk.reasons`` itself: on many generated pairs, for every filter, sort and
page, as time passes and as sessions change (the summaries must follow both).
"""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from adapters.storage.memory import MemoryStore
from scheduler.core import at_risk
from scheduler.core.entities import CalendarConnection, Entity, Occurrence, Pair, Person, Program, Series
from tests.integration.test_repository_parity import D, H, REPO, SQL_BACKENDS, T, _factory

VERDICTS = ("held", "missed", "cancelled", "moved", "disputed", "unknown")
STATUSES = ("invited", "ready", "planning", "booked", "booked", "booked", "needs_attention", "unschedulable",
            "paused", "ended")


def generated_rows(seed: int = 7) -> list[Entity]:
    rng = random.Random(seed)
    rows: list[Entity] = [Program(id="prR", name="Random", created_at=T - 90 * D)]
    people = []
    for i in range(14):
        name = rng.choice((f"Person {i % 9}", f"person {i}", "", f"Zoë {i}"))
        people.append(Person(id=f"pp{i:02d}", email=f"p{i}@Example.org", name=name, created_at=T))
    rows += people
    for i in (2, 5, 11):
        rows.append(CalendarConnection(id=f"cc{i}", person_id=f"pp{i:02d}", provider="google",
                                       status="reconnect_needed", created_at=T))
    rows.append(CalendarConnection(id="ccok", person_id="pp03", provider="google", created_at=T))
    for n in range(36):
        mentor, mentee = people[n % 4], people[4 + n % 10]
        if any(isinstance(r, Pair) and (r.mentor_id, r.mentee_id) == (mentor.id, mentee.id) for r in rows):
            mentee = people[4 + (n + 3) % 10]
            if any(isinstance(r, Pair) and (r.mentor_id, r.mentee_id) == (mentor.id, mentee.id) for r in rows):
                continue
        pair_id = f"pr{n:02d}"
        rows.append(Pair(id=pair_id, program_id="prR", mentor_id=mentor.id, mentee_id=mentee.id,
                         status=rng.choice(STATUSES), created_at=T - 90 * D,
                         updated_at=T - timedelta(hours=rng.randrange(0, 24 * 8))))
        if n % 7 == 0:
            continue  # no sessions at all
        series_id = f"sr{n:02d}"
        rows.append(Series(id=series_id, pair_id=pair_id, status=rng.choice(("booked", "booked", "cancelled")),
                           idempotency_key=series_id, created_at=T - 90 * D))
        for week in range(-9, 3):
            start = T + week * 7 * D + n * H
            past = week < 0
            signals = [{"kind": "no_answer", "at": start.isoformat(), "by": "mentee"}] \
                if past and rng.random() < 0.3 else []
            rows.append(Occurrence(id=f"oc{n:02d}{week + 9:02d}", series_id=series_id, original_start=start,
                                   start=start, end=start + H,
                                   status=rng.choice(("scheduled", "scheduled", "skipped")),
                                   attendance_verdict=rng.choice(VERDICTS) if past else "unknown",
                                   attendance_signals=signals))
    return rows


@pytest.fixture(params=SQL_BACKENDS)
def stores(request, tmp_path):
    """(SQL factory, memory factory), both holding the generated program."""
    with _factory(request.param, request, tmp_path) as sql:
        memory = MemoryStore().uow
        for factory in (sql, memory):
            with factory() as uow:
                for row in generated_rows():
                    getattr(uow, REPO[type(row)]).add(row)
                uow.commit()
        yield sql, memory


def answers(factory, now, queries) -> list:
    with factory() as uow:
        uow.pairs.refresh_summaries("prR", now)
        found = [uow.pairs.counts_in("prR", now)]
        found += [uow.pairs.table_page("prR", now, **q) for q in queries]
        uow.commit()
    return found


QUERIES = [dict(risk=risk, sort=sort, descending=desc, offset=offset, limit=7)
           for risk in ("", "yes", "no") + at_risk.RULES for sort in ("name", "last_held", "next", "misses")
           for desc in (False, True) for offset in (0, 7)] + [
    dict(state="booked"), dict(state="unschedulable", risk="unschedulable"), dict(mentor="pp01"),
    dict(mentor="PERSON"), dict(mentor="example.org", sort="misses", descending=True), dict(mentor="zoë"),
    dict(offset=30, limit=50)]


def test_the_pairs_table_in_sql_is_the_at_risk_rules_and_sorts_of_memory(stores):
    sql, memory = stores
    # time passes: next sessions start, 30 days go by (verdicts are only ever given to sessions that
    # have started, so the times asked are after every generated verdict)
    for now in (T + H, T + 2 * D, T + 9 * D, T + 45 * D):
        expected = answers(memory, now, QUERIES)
        assert answers(sql, now, QUERIES) == expected, now
        assert expected[0].at_risk and expected[0].at_risk < sum(expected[0].by_state.values())


def test_the_summaries_follow_changed_sessions(stores):
    sql, memory = stores
    now = T + H
    assert answers(sql, now, QUERIES) == answers(memory, now, QUERIES)  # summaries kept from here
    for factory in (sql, memory):
        with factory() as uow:
            for occ_id in ("oc0105", "oc0106", "oc0107", "oc0108"):
                uow.occurrences.get(occ_id).attendance_verdict = "missed"
            uow.occurrences.get("oc0208").attendance_signals = [{"kind": "no_answer", "at": T.isoformat()}]
            uow.occurrences.delete(uow.occurrences.get("oc0308"))
            uow.series.get("sr04").status = "cancelled"
            uow.pairs.add(Pair(id="prNew", program_id="prR", mentor_id="pp00", mentee_id="pp13", status="booked",
                               created_at=T, updated_at=T))
            uow.series.add(Series(id="srNew", pair_id="prNew", status="booked", idempotency_key="srNew",
                                  created_at=T))
            uow.occurrences.add(Occurrence(id="ocNew", series_id="srNew", original_start=T - 40 * D,
                                           start=T - 40 * D, end=T - 40 * D + H, attendance_verdict="missed"))
            uow.commit()
    expected = answers(memory, now, QUERIES)
    assert answers(sql, now, QUERIES) == expected
    with sql() as uow:  # the new pair, its first session 40 days ago and never held, is at risk
        uow.pairs.refresh_summaries("prR", now)
        rows, _ = uow.pairs.table_page("prR", now, risk="no_held", limit=100)
        assert "prNew" in [r.pair_id for r in rows]


def chart_answers(factory, now) -> list:
    edges = [T - (11 - i) * 7 * D for i in range(12)] + [now]
    with factory() as uow:
        found = [uow.occurrences.verdict_counts("prR", edges),
                 uow.occurrences.verdict_counts("prR", [T - 30 * D, now]),
                 uow.occurrences.verdicts_by_mentor("prR", edges[0], now)]
        uow.commit()  # SQL keeps the counts
    return found


def test_the_kept_chart_counts_follow_time_and_changed_sessions(stores):
    sql, memory = stores
    for now in (T + H, T + H, T + 2 * D, T + 9 * D):  # kept, then the sessions since added
        assert chart_answers(sql, now) == chart_answers(memory, now), now
    for factory in (sql, memory):
        with factory() as uow:
            uow.occurrences.get("oc0105").attendance_verdict = "held"
            uow.occurrences.delete(uow.occurrences.get("oc0207"))
            uow.pairs.get("pr03").status = "ended"
            uow.commit()
    for now in (T + 9 * D, T + 10 * D, T + 2 * D):  # a change, then an earlier question
        assert chart_answers(sql, now) == chart_answers(memory, now), now
