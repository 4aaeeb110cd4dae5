"""A 50-pair cohort through the whole pipeline with real parts: PostgreSQL, a Redis broker,
`tandem worker` processes, and the Google and Microsoft emulators (spoken to by the real client
libraries). Faults: ~20% of provider calls answer 5xx or 429, a worker is SIGKILLed in the
middle of booking, and Redis is restarted (all queued messages lost). Afterwards every pair is
booked exactly once in the emulators' calendars and no notification went out twice."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.storage.models import CalendarConnection, Notification, OutboxMessage, Pair, Series
from config.bootstrap import bootstrap
from config.settings import load_settings
from tests.conftest import require_service
from tests.support.pipeline import make_person, make_program, make_ready_pair, pipeline_env, start_pipeline_parts
from tests.support.services import PrivateRedis
from workers.broker import build_broker
from workers.tick import tick_once

ROOT = Path(__file__).resolve().parents[2]
PAIRS = 50
SECRET = "Confidential-merger-talks"
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


class Inbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def world(tmp_path):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with contextlib.ExitStack() as stack:
        try:
            redis = PrivateRedis().start()
        except FileNotFoundError:
            require_service("Redis (redis-server binary)", "127.0.0.1", 1)
        stack.callback(redis.stop)
        inbox = Inbox()
        smtp_port, google, graph, db_url = start_pipeline_parts(stack, inbox)
        env = pipeline_env(str(tmp_path / "var"), db_url, redis.url, smtp_port, google, graph)
        settings = load_settings(environ=env)
        container = bootstrap(settings)
        stack.callback(container.dispose)
        workers: list[subprocess.Popen] = []

        def stop_workers():
            for proc in workers:
                proc.kill()
                proc.wait(timeout=10)

        stack.callback(stop_workers)

        def start(*command, name="worker", extra_env=None):
            proc_env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
            proc_env.update(env, **(extra_env or {}))
            log = stack.enter_context(open(tmp_path / f"{name}{len(workers)}.log", "w"))
            workers.append(subprocess.Popen(list(command), cwd=ROOT, env=proc_env, stdout=log, stderr=subprocess.STDOUT))
            return workers[-1]

        def start_worker():
            return start(sys.executable, "-m", "tandem", "worker")

        yield dict(container=container, settings=settings, redis=redis, google=google, graph=graph,
                   inbox=inbox, start_worker=start_worker, start=start, workers=workers, logs=tmp_path)


def _seed(world) -> list[str]:
    """10 mentors (half on Google, half on Microsoft), 5 mentees each, crossing providers."""
    container, google, graph = world["container"], world["google"], world["graph"]
    from adapters.providers.microsoft_auth import BOOKING_SCOPES, MicrosoftConnectFlow
    from emulators.microsoft.browser import sign_in

    from emulators.tls import client_session

    now = container.clock.now()
    connect = MicrosoftConnectFlow(container.providers["microsoft"].apps)
    browser = client_session(graph.ca_file)

    def credentials(kind, email, tz):
        # Each person has another meeting whose title must never reach Tandem (privacy).
        start = now + timedelta(days=3, hours=len(email) % 5)
        if kind == "google":
            google.add_user(email, tz)
            google.add_event(email, start, start + timedelta(hours=1), f"{SECRET} {email}")
            return google.grant(email)
        graph.add_user(email, time_zone=tz)
        graph.add_event(email, f"{SECRET} {email}", start, start + timedelta(hours=1))
        flow = connect.start("https://127.0.0.1/connect/microsoft/callback", BOOKING_SCOPES, login_hint=email)
        return connect.finish(flow, sign_in(browser, flow["auth_uri"])).credentials

    zones = ["America/New_York", "Europe/Berlin", "Europe/London", "America/Chicago", "Asia/Kolkata"]
    pair_ids = []
    with container.uow() as uow:
        program = make_program(uow.session, cadence="weekly", session_count=4, duration_min=30,
                               mentor_max_sessions_per_week=6, reminder_offsets_min=[60])
        for m in range(10):
            kind = "google" if m % 2 == 0 else "microsoft"
            email, tz = f"mentor{m}@example.org", zones[m % len(zones)]
            mentor = make_person(container, uow.session, email, tz, provider=kind, credentials=credentials(kind, email, tz))
            for e in range(5):
                mkind = "microsoft" if kind == "google" else "google"
                memail, mtz = f"mentee{m}-{e}@example.org", ("Europe/London", "Europe/Berlin")[e % 2]
                mentee = make_person(container, uow.session, memail, mtz, provider=mkind,
                                     credentials=credentials(mkind, memail, mtz))
                pair_ids.append(make_ready_pair(container, uow.session, program, mentor, mentee, now).id)
        uow.commit()
    return pair_ids


def _tick_until(world, done, timeout: float, during=None):
    broker = build_broker(world["settings"])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if during is not None:
                during()
            try:
                tick_once(world["container"], broker)
            except Exception:  # Redis being restarted: the next tick sends again
                pass
            if done():
                return
            time.sleep(0.3)
    finally:
        broker.close()
    raise AssertionError(f"pipeline did not finish in {timeout}s; outbox: {_outbox(world)}")


def _outbox(world):
    with world["container"].uow() as uow:
        return dict(uow.session.execute(select(OutboxMessage.kind + ":" + OutboxMessage.status, func.count())
                                        .group_by(OutboxMessage.kind, OutboxMessage.status)).all())


def _booked(world) -> int:
    with world["container"].uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Pair).where(Pair.status == "booked"))


def _settled(world) -> bool:
    """Every pair booked, or given up on with a reason (then the assertions say which)."""
    with world["container"].uow() as uow:
        return not uow.session.scalar(select(func.count()).select_from(Pair).where(
            Pair.status.not_in(("booked", "unschedulable", "needs_attention"))))


def _all_quiet(world) -> bool:
    with world["container"].uow() as uow:
        due = uow.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status.in_(("enqueued", "running")) |
            ((OutboxMessage.status == "pending") & (OutboxMessage.due_at <= world["container"].clock.now()))))
    return due == 0


def _series_in_calendars(world, pair_ids) -> Counter:
    """How many of our series each series key has in the emulators' organizer calendars."""
    found: Counter = Counter()
    for m in range(10):
        email = f"mentor{m}@example.org"
        if m % 2 == 0:
            for body in world["google"].events(email):
                key = body.get("extendedProperties", {}).get("private", {}).get("tandemSeriesKey")
                if key and "recurringEventId" not in body and body.get("status") != "cancelled":
                    found[key] += 1
        else:
            for event in world["graph"].events(email):
                key = next(iter(event.extended.values()), None) if event.extended else None
                if key and not event.is_cancelled and getattr(event, "type", "seriesMaster") in ("seriesMaster", "singleInstance"):
                    found[key] += 1
    return found


@pytest.mark.timeout(420)
def test_fifty_pairs_booked_exactly_once_through_crashes_and_faults(world):
    pair_ids = _seed(world)
    world["google"].faults.add("unavailable", probability=0.1, count=None)
    world["google"].faults.add("rate_limit", probability=0.1, count=None, retry_after=1)
    world["graph"].fail_rate(0.2, statuses=(503, 429), seed=11)
    victim = world["start_worker"]()
    world["start_worker"]()
    state = {"killed": False, "flushed": False}

    def chaos():
        booked = _booked(world)
        if not state["killed"] and booked >= 5:
            victim.send_signal(signal.SIGKILL)  # in the middle of booking
            state["killed"] = True
            world["start_worker"]()
        if state["killed"] and not state["flushed"] and booked >= 20:
            world["redis"].restart()  # every queued message is lost
            state["flushed"] = True

    _tick_until(world, lambda: _settled(world), timeout=240, during=chaos)
    with world["container"].uow() as uow:
        not_booked = uow.session.execute(select(Pair.id, Pair.status, Pair.status_reason)
                                         .where(Pair.status != "booked")).all()
    assert not_booked == []
    world["google"].faults.clear()
    world["graph"].fail_rate(0.0)
    _tick_until(world, lambda: _all_quiet(world), timeout=60)
    assert state["killed"] and state["flushed"]

    with world["container"].uow() as uow:
        series = uow.session.scalars(select(Series).where(Series.status == "booked")).all()
        assert len(series) == PAIRS and {s.pair_id for s in series} == set(pair_ids)
        keys = {s.idempotency_key for s in series}
        sent = uow.session.scalars(select(Notification.idempotency_key).where(Notification.status == "sent")).all()
        dead = uow.session.scalars(select(OutboxMessage.kind + ": " + OutboxMessage.last_error)
                                   .where(OutboxMessage.status == "dead")).all()
    assert dead == []
    in_calendars = _series_in_calendars(world, pair_ids)
    assert set(in_calendars) == keys, "every pair's series is on its organizer's calendar"
    assert all(n == 1 for n in in_calendars.values()), f"duplicates: {[k for k, n in in_calendars.items() if n > 1]}"

    from adapters.mail.smtp import message_id_for
    delivered = Counter(m["Message-ID"] for m in world["inbox"].messages)
    expected = {message_id_for(key) for key in sent}
    assert len(sent) >= 2 * PAIRS  # at least "your sessions are booked" to both people of each pair
    assert set(delivered) == expected, "every sent notification arrived, and nothing else"
    repeats = {mid: n for mid, n in delivered.items() if n > 1}
    assert repeats == {}, f"notifications delivered twice: {repeats}"

    _repair_phase(world, pair_ids[:6])
    _nothing_private_kept(world)


def _nothing_private_kept(world):
    """Titles of people's other meetings are in no table, email or worker log."""
    from sqlalchemy import text

    from adapters.storage.models import Base

    container = world["container"]
    with container.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(text(f'SELECT * FROM "{table.name}"')):
                assert SECRET not in repr(tuple(row)), f"table {table.name} holds a private title"
    for message in world["inbox"].messages:
        assert SECRET not in message.as_string()
    for log in world["logs"].glob("worker*.log"):
        assert SECRET not in log.read_text()
    assert any(SECRET in str(body.get("summary")) for m in range(0, 10, 2)
               for body in world["google"].events(f"mentor{m}@example.org")), "the secret was really there"


def _repair_phase(world, pair_ids):
    """Conflicts that appear later in attendees' calendars are repaired: the session moves alone,
    on the organizer's calendar too, and nothing else changes."""
    from adapters.storage.outbox import add_outbox
    from scheduler.services.accounts import account_for

    container, google, graph = world["container"], world["google"], world["graph"]
    targets, before = [], {}
    with container.uow() as uow:
        for pair_id in pair_ids:
            pair = uow.session.get(Pair, pair_id)
            series = next(s for s in pair.series if s.status == "booked")
            occ = [o for o in series.occurrences if o.status == "scheduled"][1]
            mentee_conn = uow.session.scalars(select(CalendarConnection).where(
                CalendarConnection.person_id == pair.mentee_id)).one()
            targets.append((series.id, occ.id, occ.original_start, occ.start, occ.end, pair.mentee.email,
                            mentee_conn.provider, mentee_conn.id))
            before[series.id] = {o.id: (o.start, o.status) for o in series.occurrences}
    for _, _, _, start, end, email, kind, _ in targets:
        if kind == "google":
            google.add_event(email, start - timedelta(minutes=10), end + timedelta(minutes=10), "Surprise review")
        else:
            graph.add_event(email, "Surprise review", start - timedelta(minutes=10), end + timedelta(minutes=10))
    with container.uow() as uow:  # what the webhook endpoints write when the calendars push
        for _, _, _, _, _, _, _, connection_id in targets:
            add_outbox(uow.session, "handle_calendar_change", connection_id, f"change:{connection_id}:test",
                       container.clock.now())
        uow.commit()
    _tick_until(world, lambda: _all_quiet(world), timeout=90)
    with container.uow() as uow:
        for series_id, occ_id, original, start, end, _, _, _ in targets:
            series = uow.session.get(Series, series_id)
            occs = {o.id: o for o in series.occurrences}
            moved = occs[occ_id]
            assert moved.status == "moved" and moved.start != start, (moved.status, moved.start, start)
            assert not (moved.start < end + timedelta(minutes=10) and moved.end > start - timedelta(minutes=10))
            changed = [o.id for o in occs.values() if (o.start, o.status) != before[series_id][o.id]]
            assert changed == [occ_id], "only the conflicting session moved"
            organizer = uow.session.get(CalendarConnection, series.organizer_connection_id)
            provider = container.providers[organizer.provider]
            state = provider.get_series(account_for(container, organizer), series.provider_event_id,
                                        original - timedelta(days=1), original + timedelta(days=8))
            held = {o.original_start: o.start for o in state.occurrences if not o.cancelled}
            assert held[original] == moved.start, "the organizer's calendar holds the new time"


def test_production_processes_web_worker_and_tick_book_pairs(world):
    """The docker-compose roles as processes: gunicorn serving the web app, `tandem worker` and
    `tandem tick`, on PostgreSQL and Redis; nothing runs in the test process but the emulators."""
    import json
    import urllib.request

    from tests.support.services import free_port, wait_port

    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    world["start"](gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "2", "web.wsgi:create()", name="web")
    world["start_worker"]()
    world["start"](sys.executable, "-m", "tandem", "tick", name="tick", extra_env={"TANDEM_TICK__INTERVAL_SECONDS": "0.5"})
    container = world["container"]
    with container.uow() as uow:
        program = make_program(uow.session, cadence="biweekly", session_count=3)
        mentor = make_person(container, uow.session, "mentor-p@example.org", "Europe/Berlin", provider="google",
                             credentials=world["google"].grant("mentor-p@example.org"))
        pair_ids = []
        for n in range(3):
            email = f"mentee-p{n}@example.org"
            world["google"].add_user(email, "Europe/London")
            mentee = make_person(container, uow.session, email, "Europe/London", provider="google",
                                 credentials=world["google"].grant(email))
            pair_ids.append(make_ready_pair(container, uow.session, program, mentor, mentee,
                                            container.clock.now()).id)
        uow.commit()
    wait_port(port, timeout=30)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=60) as reply:  # first request loads the app
        health = json.loads(reply.read())
    assert health["status"] == "ok" and health["database"]["backend"] == "postgresql"
    assert health["broker"]["backend"] == "redis"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and _booked(world) < 3:
        time.sleep(0.5)
    assert _booked(world) == 3, _outbox(world)
    keys = Counter(body.get("extendedProperties", {}).get("private", {}).get("tandemSeriesKey")
                   for body in world["google"].events("mentor-p@example.org"))
    keys.pop(None, None)
    assert len(keys) == 3 and set(keys.values()) == {1}
