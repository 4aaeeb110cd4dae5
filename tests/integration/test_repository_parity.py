"""The in-memory unit of work answers like the SQL one (SQLite, PostgreSQL).

Every named query of every repository in ``scheduler.ports`` runs on the same seeded rows through
SQL and through memory, and the answers must be identical (ids in order, counts, booleans); then
the behaviours a use case can tell apart: what a commit writes, unique keys, concurrent claims,
single-use links, deletes and their foreign keys.
"""
from __future__ import annotations

import inspect
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError

from adapters.storage.db import make_engine, make_session_factory
from adapters.storage.memory import ForeignKeyViolation, MemoryStore
from adapters.storage.uow import SqlUnitOfWork
from scheduler import ports
from scheduler.core.entities import (AgendaTemplate, ApiToken, CalendarConnection, Entity, Feedback, Goal, Membership,
                                     Notification, Occurrence, OutboxMessage, Pair, PairRiskMark, Person, Program,
                                     Series, WebhookDelivery, WebhookEndpoint, WebSession)
from scheduler.ports import DuplicateKey

T = datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)
H, D = timedelta(hours=1), timedelta(days=1)
LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "memory"]
SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def _factory(kind: str, request, tmp_path):
    if kind == "memory":
        yield MemoryStore().uow
        return
    if kind == "sqlite":
        from tests.support.db import sqlite_copy

        url = sqlite_copy(request.getfixturevalue("_sqlite_template"), tmp_path)
    else:
        from tests.support.db import truncate_all

        url = request.getfixturevalue("_postgres_database")
        truncate_all(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        yield lambda: SqlUnitOfWork(sessions)
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def uow_factory(request, tmp_path):
    """A unit-of-work factory over an empty store: migrated SQLite, PostgreSQL, or in memory."""
    with _factory(request.param, request, tmp_path) as factory:
        yield factory


@pytest.fixture(params=SQL_BACKENDS)
def both(request, tmp_path):
    """(SQL factory, memory factory), both seeded with the same rows."""
    with _factory(request.param, request, tmp_path) as sql:
        memory = MemoryStore().uow
        seed(sql)
        seed(memory)
        yield sql, memory


def is_memory(factory) -> bool:
    return isinstance(getattr(factory, "__self__", None), MemoryStore)


# --- the rows both stores hold: ties on created_at/start/due_at, ids out of insertion order -----
def rows() -> list[Entity]:
    return [
        Program(id="prog2", name="Two", created_at=T),
        Program(id="prog1", name="One", created_at=T),
        Program(id="prog3", name="Sandbox", is_sandbox=True, created_at=T - D),
        Person(id="pers4", email="alice@example.org", created_at=T),
        Person(id="pers1", email="Bob@Example.org", created_at=T),
        Person(id="pers3", email="carol@example.org", created_at=T),
        Person(id="pers2", email="dave@example.org", created_at=T - D),
        Membership(id="memb6", program_id="prog1", person_id="pers3", role="coordinator"),
        Membership(id="memb5", program_id="prog2", person_id="pers3", role="coordinator"),
        Membership(id="memb4", program_id="prog2", person_id="pers2", role="coordinator"),
        Membership(id="memb3", program_id="prog1", person_id="pers4", role="mentor"),
        Membership(id="memb2", program_id="prog1", person_id="pers1", role="mentee", consent="pending"),
        Membership(id="memb7", program_id="prog2", person_id="pers1", role="mentee", consent="declined"),
        WebSession(id="sess2", person_id="pers1", created_at=T, expires_at=T + D),
        WebSession(id="sess1", person_id="pers1", created_at=T, expires_at=T + D, revoked_at=T),
        WebSession(id="sess3", person_id="pers2", created_at=T, expires_at=T + D),
        Membership(id="memb1", program_id="prog1", person_id="pers4", role="coordinator"),
        Pair(id="pair2", program_id="prog1", mentor_id="pers4", mentee_id="pers1", status="ready", created_at=T,
             updated_at=T),
        Pair(id="pair1", program_id="prog2", mentor_id="pers4", mentee_id="pers1", status="booked", created_at=T,
             updated_at=LONG_AGO),
        Pair(id="pair3", program_id="prog1", mentor_id="pers4", mentee_id="pers2", status="ready", created_at=T,
             updated_at=T, status_reason="the mentor's other sessions (with Bob Q) already take all shared time"),
        Pair(id="pair4", program_id="prog1", mentor_id="pers2", mentee_id="pers3", status="paused", created_at=T - H,
             updated_at=T - 4 * D, status_reason="waiting for alice@example.org to reconnect their calendar",
             history=[{"kind": "mentor_changed", "mentor_name": "Carol Z"}]),
        CalendarConnection(id="conn2", person_id="pers4", provider="memory", token_blob=b"x", created_at=T),
        CalendarConnection(id="conn1", person_id="pers4", provider="google", created_at=T),
        CalendarConnection(id="conn3", person_id="pers1", provider="memory", token_blob=b"y", status="reconnect",
                           created_at=T),
        CalendarConnection(id="conn4", person_id="pers2", provider="microsoft", token_blob=b"z", created_at=T - D),
        CalendarConnection(id="conn0", person_id="pers1", provider="memory", token_blob=b"w", created_at=T),
        Series(id="ser2", pair_id="pair1", status="booked", provider_event_id="ev1", organizer_connection_id="conn2",
               tz="UTC", duration_min=45, idempotency_key="s2", created_at=T),
        Series(id="ser1", pair_id="pair1", status="planned", idempotency_key="s1", created_at=T),
        Series(id="ser3", pair_id="pair2", status="booked", provider_event_id="ev2", organizer_connection_id="conn3",
               idempotency_key="s3", created_at=T),
        Series(id="ser4", pair_id="pair2", status="cancelled", provider_event_id="ev1", idempotency_key="s4",
               created_at=T - H),
        Series(id="ser5", pair_id="pair4", status="booked", provider_event_id="ev3", organizer_connection_id="conn4",
               idempotency_key="s5", created_at=T),
        Occurrence(id="occ2", series_id="ser2", original_start=T + D, start=T + D, end=T + D + H),
        Occurrence(id="occ1", series_id="ser2", original_start=T + 2 * D, start=T + D, end=T + D + H,
                   status="moved"),
        Occurrence(id="occ3", series_id="ser3", original_start=T + 2 * D, start=T + 2 * D, end=T + 2 * D + H,
                   status="cancelled"),
        Occurrence(id="occ4", series_id="ser1", original_start=T + 3 * D, start=T + 3 * D, end=T + 3 * D + H),
        Occurrence(id="occ5", series_id="ser3", original_start=T, start=T, end=T + H),
        Occurrence(id="occ6", series_id="ser5", original_start=T, start=T, end=T + H),
        Occurrence(id="occ7", series_id="ser5", original_start=T - D, start=T - D, end=T - D + H,
                   attendance="met", attendance_verdict="held", attendance_resolved_at=T - D + 2 * H),
        Occurrence(id="occ8", series_id="ser5", original_start=T - 2 * D, start=T - 2 * D, end=T - 2 * D + H,
                   attendance_resolved_at=T - H, attendance_signals=[{"kind": "no_answer", "by": "mentor"}]),
        # pair4's earlier sessions: held, then two missed that nobody answered (the dashboard's sums)
        Occurrence(id="occA", series_id="ser5", original_start=T - 3 * D, start=T - 3 * D, end=T - 3 * D + H,
                   attendance_verdict="missed", attendance_signals=[{"kind": "answer", "by": "mentor",
                                                                     "detail": "not_met"},
                                                                    {"kind": "no_answer", "by": "mentee"}]),
        Occurrence(id="occB", series_id="ser5", original_start=T - 4 * D, start=T - 4 * D, end=T - 4 * D + H,
                   attendance_verdict="missed", attendance_signals=[{"kind": "no_answer", "by": "mentee"}]),
        Occurrence(id="occC", series_id="ser5", original_start=T - 5 * D, start=T - 5 * D, end=T - 5 * D + H,
                   attendance_verdict="held"),
        Occurrence(id="occD", series_id="ser5", original_start=T - 6 * D, start=T - 6 * D, end=T - 6 * D + H,
                   status="cancelled", attendance_verdict="cancelled"),
        Feedback(id="fb1", occurrence_id="occ1", person_id="pers1", answer="met"),
        Feedback(id="fb2", occurrence_id="occ2", person_id="pers4", answer="not_met", created_at=T - H, notes="busy"),
        Feedback(id="fb3", occurrence_id="occ2", person_id="pers1", answer="met", rating=4, created_at=T - H,
                 notes="Bob Q was late"),
        Feedback(id="fb4", occurrence_id="occ1", person_id="pers4", answer="met", created_at=T - 2 * H,
                 action_items="Send the slides"),
        Notification(id="not3", kind="reminder", person_id="pers1", pair_id="pair1", occurrence_id="occ1", due_at=T,
                     idempotency_key="k1", payload={"pairs": [{"other_name": "Zoë Q"}]}),
        Notification(id="not2", kind="feedback", person_id="pers4", pair_id="pair1", occurrence_id="occ2",
                     due_at=T + H, idempotency_key="k2", payload={"reason": "alice@example.org is busy"}),
        Notification(id="not1", kind="reminder", person_id="pers1", pair_id="pair2", occurrence_id="occ3", due_at=T,
                     status="sent", idempotency_key="k3"),
        Notification(id="not4", kind="reminder", person_id="pers1", pair_id="pair2", due_at=T - D,
                     idempotency_key="k4"),
        OutboxMessage(id="out2", created_at=T - H,
                      kind="plan_pair", subject_id="pair1", idempotency_key="plan:1", due_at=T - H),
        OutboxMessage(id="out1", created_at=T - H,
                      kind="plan_pair", subject_id="pair2", idempotency_key="plan:2", due_at=T - H),
        OutboxMessage(id="out3", created_at=T - H,
                      kind="book", subject_id="x", idempotency_key="book:3", status="enqueued",
                      enqueued_at=None, due_at=T - D),
        OutboxMessage(id="out4", created_at=T - H,
                      kind="book", subject_id="x", idempotency_key="book:4", status="running",
                      locked_until=None, due_at=T - D),
        OutboxMessage(id="out5", created_at=T - H,
                      kind="book", subject_id="x", idempotency_key="book:5", status="running",
                      locked_until=T - timedelta(minutes=1), due_at=T - 2 * H),
        OutboxMessage(id="out6", created_at=T,
                      kind="book", subject_id="x", idempotency_key="dead:6", status="dead", due_at=T,
                      last_error="SMTP refused <alice@example.org>"),
        OutboxMessage(id="out7", created_at=T,
                      kind="book", subject_id="x", idempotency_key="dead:7", status="dead", due_at=T,
                      last_error="Bob Q: no calendar"),
        OutboxMessage(id="out8", created_at=T - H,
                      kind="plan_pair", subject_id="x", idempotency_key="plan:8", due_at=T - 3 * H,
                      attempts=3),
        OutboxMessage(id="out9", created_at=T - H,
                      kind="plan_pair", subject_id="x", idempotency_key="plan:9", status="enqueued",
                      enqueued_at=T - H, due_at=T - H),
        OutboxMessage(id="out0", created_at=T - H,
                      kind="plan_pair", subject_id="x", idempotency_key="plan:0", due_at=T + D),
        AgendaTemplate(id="tpl1", program_id="prog1", name="First", body="Hello"),
        Goal(id="goal1", pair_id="pair3", text="Learn", created_at=T),
        ApiToken(id="tok2", token_hash="h2", name="two", program_id="prog1", created_by="pers4", created_at=T),
        ApiToken(id="tok1", token_hash="h1", name="one", program_id="prog1", created_at=T,
                 revoked_at=T + H),
        ApiToken(id="tok3", token_hash="h3", name="old", program_id="prog1", created_at=T - D),
        ApiToken(id="tok4", token_hash="h4", name="all", created_at=T),
        WebhookEndpoint(id="hook2", program_id="prog1", url="https://a.example/h", events=["session.held"],
                        secret_blob=b"s", created_at=T),
        WebhookEndpoint(id="hook1", program_id="prog1", url="https://b.example/h",
                        events=["session.held", "pair.at_risk"], secret_blob=b"s", created_at=T),
        WebhookEndpoint(id="hook3", program_id="prog2", url="https://c.example/h", events=["pair.at_risk"],
                        secret_blob=b"s", enabled=False, created_at=T - D),
        WebhookEndpoint(id="hook4", program_id="prog2", url="https://d.example/h", events=["pair.booked"],
                        secret_blob=b"s", created_at=T),
        WebhookDelivery(id="dlv2", endpoint_id="hook1", program_id="prog1", pair_id="pair2", event_id="evt_a",
                        event_type="session.held", created_at=T,
                        payload={"reason": "the mentor's other sessions (with Bob Q) take the time"}),
        WebhookDelivery(id="dlv1", endpoint_id="hook2", program_id="prog1", pair_id="pair2", event_id="evt_a",
                        event_type="session.held", created_at=T),
        WebhookDelivery(id="dlv3", endpoint_id="hook1", program_id="prog1", event_id="evt_b",
                        event_type="pair.at_risk", created_at=T - H, last_error="Bob Q: 500 from receiver"),
        PairRiskMark(id="risk2", pair_id="pair3", program_id="prog1", since=T, rules=["misses"]),
        PairRiskMark(id="risk1", pair_id="pair2", program_id="prog1", since=T - D, rules=["no_held"]),
    ]


REPO = {Program: "programs", Person: "people", Membership: "memberships", Pair: "pairs",
        CalendarConnection: "connections", Series: "series", Occurrence: "occurrences",
        AgendaTemplate: "agenda_templates", Goal: "goals", Feedback: "feedback", Notification: "notifications",
        OutboxMessage: "outbox", ApiToken: "api_tokens", WebhookEndpoint: "webhook_endpoints", WebhookDelivery: "webhook_deliveries",
        PairRiskMark: "pair_risk_marks", WebSession: "web_sessions"}


def seed(factory) -> None:
    with factory() as uow:
        for row in rows():
            getattr(uow, REPO[type(row)]).add(row)
        assert uow.used_links.use("nonce1", "signin", T) is True
        uow.commit()


def norm(value):
    """Answers as plain values: entities by id, sets sorted, dicts of sets as sorted lists."""
    if isinstance(value, OutboxMessage):  # rows added by add_once get a new id in each store
        return value.idempotency_key
    if isinstance(value, Entity):
        return getattr(value, "id")
    if isinstance(value, (list, tuple)):
        return [norm(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(norm(v) for v in value)
    if isinstance(value, dict):
        return {k: norm(v) for k, v in sorted(value.items())}
    return value


# --- every named query, with arguments that make its answer interesting ----------------------
READS: dict[str, list[tuple]] = {
    "programs.sandbox": [()],
    "programs.all_oldest_first": [()],
    "programs.coordinated_by": [("pers3",), ("pers4",), ("nobody",)],
    "people.by_email": [("  BOB@example.ORG ",), ("alice@example.org",), ("none@example.org",)],
    "people.by_emails": [(["dave@example.org", "alice@example.org", "Bob@Example.org", "x@y"],), ([],)],
    "memberships.coordinated_by": [("pers3",), ("pers1",)],
    "memberships.coordinator_ids": [("prog2",), ("prog1",)],
    "memberships.roles_in": [("prog1",), ("prog3",)],
    "memberships.not_accepted": [("prog1", ["pers1", "pers4", "pers3"]), ("prog2", ["pers1", "pers2"]),
                                 ("prog1", []), ("prog3", ["pers1"])],
    "memberships.of_person": [("pers4",), ("pers3",), ("nobody",)],
    "memberships.of_program": [("prog1",)],
    "pairs.of_person": [("pers4",), ("pers1",), ("pers4", {"states": ["ready"]}), ("pers2", {"states": []})],
    "pairs.of_program": [("prog1",), ("prog1", {"states": ["ready", "paused"]}), ("prog1", {"limit": 2}),
                         ("prog1", {"states": ["ready"], "limit": 1})],
    "pairs.counts_in": [("prog1", T + H), ("prog1", T + 40 * D), ("prog2", T), ("prog2", T + 40 * D), ("nope", T)],
    "pairs.refresh_summaries": [("prog1", T), ("prog2", T + 5 * D)],
    "pairs.table_page": [("prog1", T + H), ("prog1", T + H, {"sort": "next"}), ("prog1", T + 40 * D, {"risk": "yes"}),
                         ("prog1", T + H, {"risk": "connection", "sort": "misses", "descending": True}),
                         ("prog1", T + H, {"mentor": "pers4"}), ("prog1", T + H, {"mentor": "bob@"}),
                         ("prog1", T + H, {"mentor": "ALICE"}), ("prog1", T + H, {"mentor": "%"}),
                         ("prog1", T + H, {"state": "ready", "sort": "last_held", "descending": True}),
                         ("prog1", T + H, {"offset": 1, "limit": 1}), ("prog1", T + 40 * D, {"risk": "no"}),
                         ("prog1", T + 40 * D, {"risk": "no_held", "sort": "name", "descending": True}),
                         ("prog2", T + 5 * D, {"sort": "last_held"}), ("nope", T)],
    "pairs.ready_of_mentor": [("prog1", "pers4"), ("prog2", "pers4")],
    "pairs.count_by_state": [()],
    "pairs.table_rows": [("prog1",), ("prog2",), ("nope",)],
    "pairs.table_rows_after": [("prog1", {"after": None, "limit": 2}), ("prog1", {"after": "pair2", "limit": 10}),
                               ("prog1", {"after": None, "limit": 10, "states": ["ready"]}),
                               ("prog1", {"after": "pair4", "limit": 10}), ("prog2", {"after": None, "limit": 0})],
    "pairs.mentioning": [(["Bob Q"],), (["alice@example.org", "Bob Q"],), ([""],), ([],), (["bob q"],),
                         (["Carol Z"],)],
    "connections.of_people": [(["pers4", "pers1", "pers2"],), ([],)],
    "connections.usable_of": [("pers4",), ("pers1",)],
    "connections.with_tokens": [()],
    "connections.usable_with_provider": [(["memory", "microsoft"],), (["google"],)],
    "connections.broken_in_program": [("prog1",), ("prog2",), ("prog3",)],
    "series.active_of_pair": [("pair1",), ("pair2",)],
    "series.booked_by_event_ids": [(["ev1", "ev2", "ev3"],), ([],)],
    "series.booked_ids": [(), ("pers1",), ("pers3",)],
    "series.booked_organizer_connection_ids": [(["pers4", "pers1"],), (["pers2"],)],
    "series.count_of_pair": [("pair1",), ("pair3",)],
    "occurrences.by_original_start": [("ser2", T + 2 * D), ("ser2", T)],
    "occurrences.busy_intervals_of": [("pers4",), ("pers1", {"exclude_series_id": "ser2"}), ("pers3",)],
    "occurrences.count_held": [("pair1", T + D), ("pair1", T + 4 * D), ("pair2", T + 4 * D)],
    "occurrences.of_pair": [("pair1",), ("pair2",)],
    "occurrences.attendance_to_resolve": [
        ({"ended_after": T - 3 * D, "ended_before": T + 4 * D, "resolved_before": T, "limit": 10},),
        ({"ended_after": T - 3 * D, "ended_before": T + 4 * D, "resolved_before": T - 2 * H, "limit": 10},),
        ({"ended_after": T - D, "ended_before": T + H, "resolved_before": T, "limit": 10},),
        ({"ended_after": T - 3 * D, "ended_before": T + 4 * D, "resolved_before": T, "limit": 2},)],
    "occurrences.of_program_between": [
        ("prog1", {"start_from": T - 3 * D, "start_before": T + 4 * D}),
        ("prog1", {"start_from": T - D, "start_before": T + 2 * D, "verdicts": ["held", "unknown"]}),
        ("prog2", {"start_from": T - 3 * D, "start_before": T + 4 * D, "verdicts": ["missed"]}),
        ("prog2", {"start_from": T, "start_before": T + 4 * D}),
        ("prog3", {"start_from": T - 3 * D, "start_before": T + 4 * D}),
        ("prog1", {"start_from": T - 6 * D, "start_before": T + 4 * D, "limit": 3}),
        ("prog1", {"start_from": T - 6 * D, "start_before": T + 4 * D, "after": (T - 3 * D, "occA"), "limit": 3}),
        ("prog2", {"start_from": T - 3 * D, "start_before": T + 4 * D, "after": (T + D, "occ1"), "limit": 5})],

    "occurrences.attendance_by_pair": [("prog1", T + H), ("prog1", T - D - H), ("prog1", T - 3 * D),
                                       ("prog2", T), ("prog2", T + 5 * D), ("prog3", T),
                                       ("prog1", T + H, {"pair_ids": ["pair4", "pair3"]}),
                                       ("prog1", T + H, {"pair_ids": []})],
    "occurrences.verdict_counts": [("prog1", [T - 6 * D, T - 4 * D, T - 2 * D, T + D]), ("prog1", [T]),
                                   ("prog2", [T, T + 2 * D, T + 4 * D])],
    "occurrences.verdicts_by_mentor": [("prog1", T - 6 * D, T + D), ("prog2", T - D, T + D), ("prog1", T, T)],
    "feedback.given_by": [("pers1", "occ1"), ("pers4", "occ1")],
    "feedback.of_occurrences": [(["occ2", "occ1", "occ9"],), ([],)],
    "feedback.notes_written_before": [(T, {"limit": 10}), (T, {"limit": 1}), (T - H, {"limit": 5})],
    "feedback.written_by": [("pers1",), ("pers3",)],
    "notifications.count_for_occurrence": [("occ1",), ("occ9",)],
    "notifications.count_for_person": [("pers1", "reminder", {"due_since": T}), ("pers1", "reminder",
                                                                                  {"due_since": T - D})],
    "notifications.count_pending_of_pair": [("pair1",), ("pair9",)],
    "notifications.has_key": [("k2",), ("k9",)],
    "notifications.load_for_delivery": [(["not3", "nope", "not1", "not3"],), ([],)],
    "notifications.of_person": [("pers1",), ("pers3",)],
    "notifications.payload_mentioning": [(["Zo\\u00eb Q"],), (["alice@example.org", "nobody"],), (["Zoë Q"],),
                                         ([],)],
    "outbox.count_unfinished": [(["x", "pair1"], {"due_by": T}), (["x"], {"due_by": T - 2 * H}),
                                (["nothing"], {"due_by": T}), ([], {"due_by": T})],
    "outbox.count_unfinished_for": [(["x", "pair1"],), (["pair9"],), ([],)],
    "outbox.count_with_key_prefix": [("plan:",), ("dead:",)],
    "outbox.errors_mentioning": [(["alice@example.org"],), (["Bob Q", "nomatch"],), ([],)],
    "outbox.dead": [()],
    "outbox.running_of": [("book", ["x"], T - 2 * H), ("book", ["x"], T), ("plan_pair", ["pair1", "pair2"], T),
                          ("book", [], T)],
    "outbox.count_by_status": [()],
    "outbox.oldest_due": [(T,), (T - 2 * H,), (T - 3 * D,)],
    "clock_offsets.offset": [()],
    "api_tokens.by_hash": [("h1",), ("h4",), ("nope",)],
    "api_tokens.of_program": [("prog1",), ("prog2",), (None,)],
    "pair_risk_marks.of_program": [("prog1",), ("prog2",)],
    "webhook_deliveries.mentioning": [(["Bob Q"],), (["nobody"],), ([],)],
    "webhook_deliveries.recent_of_program": [("prog1", {"limit": 10}), ("prog1", {"limit": 2}), ("prog2", {"limit": 5})],
    "webhook_endpoints.of_program": [("prog1",), ("prog2",), ("prog3",)],
    "webhook_endpoints.programs_subscribed_to": [("session.held",), ("pair.at_risk",), ("pair.booked",),
                                                 ("session.missed",)],
    "webhook_endpoints.subscribed": [("prog1", "session.held"), ("prog1", "pair.at_risk"), ("prog2", "pair.at_risk"),
                                     ("prog2", "pair.booked")],
}
# Each step changes the store; both must answer alike and end with the same rows.
WRITES: list[tuple[str, tuple]] = [
    ("notifications.add_once", (Notification(id="notnew", kind="reminder", person_id="pers1", due_at=T,
                                             idempotency_key="k1"),)),
    ("notifications.add_once", (Notification(id="notnew", kind="reminder", person_id="pers1", due_at=T,
                                             idempotency_key="k9"),)),
    ("notifications.cancel_pending", ({"pair_id": "pair1", "kinds": ("reminder",)},)),
    ("notifications.cancel_pending", ({"occurrence_id": "occ2"},)),
    ("outbox.add_once", ("plan_pair", "pair3", "plan:1", T)),
    ("outbox.add_once", ("plan_pair", "pair3", "plan:3", T - timedelta(minutes=30))),
    ("outbox.claim_due", (T, {"limit": 4, "claim_timeout": timedelta(minutes=5), "max_attempts": 3})),
    ("outbox.claim_due", (T, {"limit": 10, "claim_timeout": timedelta(minutes=5), "max_attempts": 3})),
    ("outbox.acquire", ("out2", T, timedelta(minutes=2))),
    ("outbox.acquire", ("out2", T, timedelta(minutes=2))),
    ("outbox.acquire", ("out4", T, timedelta(minutes=2))),
    ("outbox.acquire", ("out5", T, timedelta(minutes=2))),
    ("outbox.mark_done", ("out2", T)),
    ("outbox.mark_done", ("out2", T)),
    # out4 and out5 ran on leases that have run out by then; out2 is done; out9 does not exist
    ("outbox.acquire_many", (["out5", "out2", "out9", "out4", "out5"], T + 3 * timedelta(minutes=1),
                             timedelta(minutes=2))),
    ("outbox.acquire_many", (["out5", "out4"], T + 4 * timedelta(minutes=1), timedelta(minutes=2))),
    ("outbox.acquire_many", ([], T, timedelta(minutes=2))),
    ("notifications.mark_sent", ("not4", T)),  # pending: sent
    ("notifications.mark_sent", ("not4", T + H)),  # sent already
    ("notifications.mark_sent", ("not3", T)),  # cancelled above
    ("outbox.record_failure", ("out1", "boom", {"retry_at": T + H})),
    ("outbox.record_failure", ("out9", "x" * 3000, {"retry_at": None})),
    ("outbox.record_failure", ("out2", "late", {"retry_at": None})),
    ("outbox.dead", ()),
    ("used_links.use", ("nonce1", "signin", T)),
    ("web_sessions.delete_expired", (T,)),
    ("web_sessions.delete_expired", (T + 2 * D,)),
    ("web_sessions.revoke_all", ("pers1", T + H)),
    ("web_sessions.revoke_all", ("pers1", T + D)),
    ("web_sessions.revoke_all", ("nobody", T)),
    ("used_links.use", ("nonce2", "signin", T)),
    ("clock_offsets.advance", (D, T)),
    ("clock_offsets.advance", (90 * timedelta(minutes=1), T + H)),
    ("clock_offsets.offset", ()),
    ("api_tokens.count_request", ("tok2", T, T + timedelta(seconds=5))),
    ("api_tokens.count_request", ("tok2", T, T + timedelta(seconds=9))),
    ("api_tokens.count_request", ("tok2", T + timedelta(minutes=1), T + timedelta(seconds=61))),
    ("api_tokens.count_request", ("nope", T, T)),
]


def call(uow, name: str, args: tuple):
    repo, method = name.split(".")
    if name in ("pairs.counts_in", "pairs.table_page"):  # they read the summaries: refreshed first, as documented
        uow.pairs.refresh_summaries(args[0], args[1])
    kwargs = args[-1] if args and isinstance(args[-1], dict) else {}
    positional = args[:-1] if kwargs else args
    if positional and isinstance(positional[0], Notification):  # a fresh object per store
        n = positional[0]
        positional = (Notification(**{f: getattr(n, f) for f in Notification.FIELDS}),)
    return norm(getattr(getattr(uow, repo), method)(*positional, **kwargs))


def named_queries() -> set[str]:
    """Every method a repository protocol in ``scheduler.ports`` adds to the generic repository."""
    base = set(vars(ports.Repository))
    found = set()
    for attr, annotation in ports.UnitOfWork.__annotations__.items():
        protocol = getattr(ports, annotation) if isinstance(annotation, str) else annotation
        for name, member in vars(protocol).items():
            if inspect.isfunction(member) and not name.startswith("_") and name not in base:
                found.add(f"{attr}.{name}")
    return found


def test_every_named_query_is_compared():
    assert named_queries() == set(READS) | {name for name, _ in WRITES}


def test_named_queries_answer_alike(both):
    sql, memory = both
    for name, calls in READS.items():
        for args in calls:
            answers = []
            for factory in (sql, memory):
                with factory() as uow:
                    answers.append(call(uow, name, args))
            assert answers[0] == answers[1], (name, args)


def test_get_and_get_many_answer_alike(both):
    sql, memory = both
    ids = [r.id for r in rows()]
    for repo in sorted(set(REPO.values())):
        answers = []
        for factory in (sql, memory):
            with factory() as uow:
                r = getattr(uow, repo)
                answers.append(([norm(r.get(i)) for i in ids + ["missing"]],
                                norm(r.get_many(list(reversed(ids)) + ["missing"], lock=True)),
                                norm(r.get_many([]))))
        assert answers[0] == answers[1], repo


def test_add_many_writes_what_add_writes(uow_factory):
    signals = [{"kind": "skipped", "at": "2027-03-01T09:00:00+00:00", "by": "mentor"}]
    with uow_factory() as uow:
        uow.programs.add_many([Program(id="pb", name="B", created_at=T), Program(id="pa", name="A", created_at=T)])
        uow.programs.add_many([])
        uow.commit()
    with uow_factory() as uow:
        assert [(p.id, p.name, p.created_at) for p in uow.programs.get_many(["pb", "pa"])] == \
            [("pa", "A", T), ("pb", "B", T)]
        uow.people.add(Person(id="pe1", email="pe1@example.org"))
        uow.people.add(Person(id="pe2", email="pe2@example.org"))
        uow.flush()
        uow.pairs.add_many([Pair(id="pr1", program_id="pa", mentor_id="pe1", mentee_id="pe2", status="booked")])
        uow.series.add_many([Series(id="sr1", pair_id="pr1", rrule="FREQ=WEEKLY", tz="UTC",
                                    dtstart_local="2027-03-01T09:00:00", duration_min=30, status="booked",
                                    idempotency_key="sr1")])
        uow.occurrences.add_many([Occurrence(id="oc1", series_id="sr1", original_start=T, start=T, end=T + H,
                                             status="skipped", attendance_verdict="cancelled",
                                             attendance_signals=signals)])
        uow.commit()
    with uow_factory() as uow:
        occ = uow.occurrences.get("oc1")
        assert (occ.start, occ.attendance_verdict, occ.attendance_signals) == (T, "cancelled", signals)
        assert [o.id for o in uow.occurrences.of_pair("pr1")] == ["oc1"]


def state(factory) -> dict:
    """Everything the writes touch, as plain values."""
    with factory() as uow:
        return {"outbox": [(m.id, m.status, m.attempts, m.enqueued_at, m.locked_until, m.done_at, m.due_at,
                            m.last_error) for m in uow.outbox.get_many(f"out{i}" for i in range(10))]
                + [uow.outbox.count_with_key_prefix("")],
                "notifications": [(n.id, n.status, n.sent_at) for n in uow.notifications.get_many(
                    ["not1", "not2", "not3", "not4"])] + [uow.notifications.count_for_occurrence("occ1"),
                                                          uow.notifications.has_key("k9")],
                "clock_offsets": [uow.clock_offsets.offset()],
                "api_tokens": [(t.id, t.window_start, t.window_count, t.last_used_at)
                               for t in uow.api_tokens.get_many(["tok1", "tok2"])]}


def test_writes_answer_alike_and_leave_the_same_rows(both):
    sql, memory = both
    for name, args in WRITES:
        answers = []
        for factory in (sql, memory):
            with factory() as uow:
                answers.append(call(uow, name, args))
                uow.commit()
        assert answers[0] == answers[1], (name, args)
        assert state(sql) == state(memory), (name, args)


def test_named_queries_see_the_unit_of_work_s_own_changes(both):
    sql, memory = both
    answers = []
    for factory in (sql, memory):
        with factory() as uow:
            uow.pairs.get("pair3").status = "booked"
            uow.series.add(Series(id="ser9", pair_id="pair3", status="booked", idempotency_key="s9", created_at=T))
            uow.notifications.cancel_pending(pair_id="pair1")
            answers.append((norm(uow.pairs.of_program("prog1", states=["ready"])), norm(uow.series.booked_ids()),
                            uow.notifications.count_for_person("pers1", "reminder", due_since=T - D)))
    assert answers[0] == answers[1]


# --- behaviours, on each store ----------------------------------------------------------------
def test_a_read_only_unit_of_work_does_not_overwrite_a_concurrent_commit(uow_factory):
    seed(uow_factory)
    with uow_factory() as reader:
        pair = reader.pairs.get("pair1")
        assert pair.status == "booked"
        reader.commit()  # a read-only commit: nothing changed, nothing written
        with uow_factory() as writer:
            writer.pairs.get("pair1").status = "paused"
            writer.commit()
        reader.commit()  # the reader is used again after its commit
    with uow_factory() as uow:
        assert uow.pairs.get("pair1").status == "paused"


def test_only_changed_columns_are_written(uow_factory):
    seed(uow_factory)
    with uow_factory() as first:
        first.pairs.get("pair1").status_reason = "checked"
        first.commit()
    with uow_factory() as uow:
        uow.pairs.get("pair1").status = "paused"
        uow.commit()
    with uow_factory() as uow:
        pair = uow.pairs.get("pair1")
        assert (pair.status, pair.status_reason) == ("paused", "checked")
        assert pair.updated_at > LONG_AGO  # set (to the wall clock) when the row changes: onupdate


def test_a_json_value_changed_in_place_is_not_written(uow_factory):
    seed(uow_factory)
    with uow_factory() as uow:
        uow.people.get("pers4").preferences = {"a": 1}
        uow.commit()
    with uow_factory() as uow:
        uow.people.get("pers4").preferences["a"] = 2  # same object: not a change to SQLAlchemy either
        uow.commit()
    with uow_factory() as uow:
        assert uow.people.get("pers4").preferences == {"a": 1}


def test_add_once_twice_the_second_is_refused(uow_factory):
    seed(uow_factory)
    with uow_factory() as uow:
        before = uow.notifications.count_for_person("pers1", "reminder", due_since=T)
    notes = []
    for expected in (True, False):
        with uow_factory() as uow:
            note = Notification(kind="reminder", person_id="pers1", due_at=T, idempotency_key="again")
            notes.append(note)
            assert uow.notifications.add_once(note) is expected
            assert uow.notifications.add_once(Notification(kind="reminder", person_id="pers1", due_at=T,
                                                           idempotency_key="again")) is False
            assert uow.outbox.add_once("plan_pair", "pair1", "again", T) is expected
            assert uow.outbox.add_once("plan_pair", "pair1", "again", T) is False
            note.status = "sent"  # the object passed in is not tracked: the row stays pending
            uow.commit()
    with uow_factory() as uow:
        assert uow.notifications.count_for_person("pers1", "reminder", due_since=T) == before + 1
        assert uow.outbox.count_with_key_prefix("again") == 1
        assert uow.notifications.get(notes[0].id).status == "pending"
        assert uow.notifications.get(notes[1].id) is None


def test_claims_by_two_units_of_work_never_share_a_row(uow_factory):
    seed(uow_factory)
    claim = dict(limit=10, claim_timeout=timedelta(minutes=5), max_attempts=8)
    with uow_factory() as uow:
        first = [m.id for m in uow.outbox.claim_due(T, **claim)]
        uow.commit()
    with uow_factory() as uow:
        second = [m.id for m in uow.outbox.claim_due(T, **claim)]
        uow.commit()
    assert first == ["out8", "out5", "out1", "out2", "out9"] and second == []
    got = []
    for _ in range(2):
        with uow_factory() as uow:
            got.append(uow.outbox.acquire("out1", T, timedelta(minutes=1)))
            uow.commit()
    assert got == [True, False]


def test_a_single_use_link_is_used_once(uow_factory):
    with uow_factory() as uow:
        assert uow.used_links.use("n1", "signin", T) is True
        assert uow.used_links.use("n1", "signin", T) is False
        uow.commit()
    with uow_factory() as uow:
        assert uow.used_links.use("n1", "signin", T) is False


def test_unique_keys_are_enforced(uow_factory):
    seed(uow_factory)
    with uow_factory() as uow:
        uow.people.add(Person(email="alice@example.org"))
        with pytest.raises(DuplicateKey if is_memory(uow_factory) else IntegrityError):
            uow.commit()


def test_delete_applies_the_foreign_keys(uow_factory):
    """A connection: its series keep going without an organizer (SET NULL). An occurrence: its
    feedback and notifications go with it (CASCADE). A program without pairs: its memberships go,
    its agenda templates stay without a program (the ORM's nullify)."""
    seed(uow_factory)
    with uow_factory() as uow:
        uow.connections.delete(uow.connections.get("conn2"))
        uow.occurrences.delete(uow.occurrences.get("occ1"))
        uow.programs.add(Program(id="prog9", name="Empty", created_at=T))
        uow.memberships.add(Membership(id="memb9", program_id="prog9", person_id="pers1", role="mentee"))
        uow.agenda_templates.add(AgendaTemplate(id="tpl9", program_id="prog9", name="T", body="B"))
        uow.commit()
    with uow_factory() as uow:
        uow.programs.delete(uow.programs.get("prog9"))
        uow.commit()
    with uow_factory() as uow:
        assert uow.series.get("ser2").organizer_connection_id is None
        assert uow.feedback.given_by("pers1", "occ1") is None and uow.feedback.get("fb1") is None
        assert uow.notifications.get("not3") is None and uow.notifications.count_for_occurrence("occ1") == 0
        assert uow.memberships.get("memb9") is None and uow.memberships.roles_in("prog9") == {}
        assert uow.agenda_templates.get("tpl9").program_id is None
        assert [o.id for o in uow.occurrences.of_pair("pair1")] == ["occ2", "occ4"]


@pytest.mark.parametrize("repo, key", [("pairs", "pair1"), ("series", "ser2"), ("programs", "prog1"),
                                       ("people", "pers2")])
def test_delete_of_a_parent_with_mapped_children_fails(uow_factory, repo, key):
    """``pair.series``, ``series.occurrences``, ``program.pairs``, ``person.connections`` are ORM
    collections: deleting the parent nulls their NOT NULL foreign key, which fails; nothing changes."""
    seed(uow_factory)
    with uow_factory() as uow:
        r = getattr(uow, repo)
        r.delete(r.get(key))
        with pytest.raises(ForeignKeyViolation if is_memory(uow_factory) else IntegrityError):
            uow.commit()
    with uow_factory() as uow:
        assert getattr(uow, repo).get(key) is not None
        assert uow.notifications.count_for_occurrence("occ1") == 1


def test_changes_without_commit_are_lost_and_a_failed_commit_keeps_nothing(uow_factory):
    seed(uow_factory)
    with uow_factory() as uow:
        uow.pairs.get("pair1").status = "paused"
    with uow_factory() as uow:
        uow.pairs.get("pair1").status = "paused"
        uow.people.add(Person(email="carol@example.org"))
        with pytest.raises(DuplicateKey if is_memory(uow_factory) else IntegrityError):
            uow.commit()
    with uow_factory() as uow:
        assert uow.pairs.get("pair1").status == "booked"


def test_memory_read_only_unit_of_work_does_not_overwrite_a_nested_commit():
    """The bug this pins: a commit wrote back every row it had loaded. (On SQLite a nested writer
    would wait for the reader's write lock, so this runs on memory only.)"""
    store = MemoryStore()
    seed(store.uow)
    with store.uow() as reader:
        assert reader.pairs.get("pair1").status == "booked"
        reader.pairs.get("pair2").status_reason = "looked at"
        with store.uow() as writer:
            writer.pairs.get("pair1").status = "paused"
            writer.pairs.get("pair2").status = "paused"
            writer.commit()
        reader.commit()
    with store.uow() as uow:
        assert uow.pairs.get("pair1").status == "paused"
        assert (uow.pairs.get("pair2").status, uow.pairs.get("pair2").status_reason) == ("paused", "looked at")


# --- memory only: threads ---------------------------------------------------------------------
def _in_threads(count: int, work) -> list:
    barrier, results, errors = threading.Barrier(count), [None] * count, []

    def run(i):
        try:
            barrier.wait()
            results[i] = work()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_memory_claims_in_threads_never_share_a_row():
    store = MemoryStore()
    seed(store.uow)
    with store.uow() as uow:
        for i in range(40):
            uow.outbox.add_once("plan_pair", f"p{i}", f"many:{i}", T - H)
        uow.commit()

    def claim():
        with store.uow() as uow:
            ids = [m.id for m in uow.outbox.claim_due(T, limit=3, claim_timeout=timedelta(minutes=5),
                                                       max_attempts=8)]
            won = [i for i in ids if uow.outbox.acquire(i, T, timedelta(minutes=1))]
            uow.commit()
            return won

    claimed = [i for got in _in_threads(8, claim) for i in got]
    assert len(claimed) == len(set(claimed)) == 24


def test_memory_add_once_and_links_in_threads_win_once():
    store = MemoryStore()

    def add():
        with store.uow() as uow:
            answers = (uow.outbox.add_once("plan_pair", "p", "same", T),
                       uow.notifications.add_once(Notification(kind="reminder", person_id="p", due_at=T,
                                                               idempotency_key="same")),
                       uow.used_links.use("n", "signin", T))
            uow.commit()
            return answers

    assert sorted(_in_threads(6, add)) == [(False, False, False)] * 5 + [(True, True, True)]


def test_memory_locked_get_waits_for_the_other_unit_of_work():
    store = MemoryStore()
    seed(store.uow)

    def bump():
        with store.uow() as uow:
            pair = uow.pairs.get("pair1", lock=True)
            pair.duration_min = (pair.duration_min or 0) + 1
            uow.commit()

    _in_threads(10, bump)
    with store.uow() as uow:
        assert uow.pairs.get("pair1").duration_min == 10


def test_memory_lock_is_released_after_an_error_and_reused_after_commit():
    store = MemoryStore()
    seed(store.uow)
    with pytest.raises(RuntimeError):
        with store.uow() as uow:
            uow.pairs.get("pair1")
            raise RuntimeError("boom")
    with store.uow() as uow:
        uow.pairs.get("pair1").status = "paused"
        uow.commit()
        uow.pairs.get("pair1").status_reason = "again"  # used after commit: takes the lock again
        assert _in_threads(1, lambda: store.lock.acquire(blocking=False)) == [False]
        uow.commit()
    assert _in_threads(1, lambda: store.lock.acquire(blocking=False)) == [True]
