"""The chaos run: pairs booked, reminded and followed up on PostgreSQL, Redis, SMTP (aiosmtpd) and
both calendar emulators while everything that can fail does.

Parts: a private PostgreSQL (``initdb`` + ``pg_ctl`` in a temp dir, its own port), a private Redis,
an aiosmtpd server in its own process (``bench.smtp_sink``: one line per accepted message, written
before it answers 250), the Google and Microsoft emulators, two ``tandem worker`` processes, and
the tick run by this test. Nothing shared on this machine is restarted.

Faults, all at once: a worker SIGKILLed every 3 s (one that has run for 8 s at least: a worker
killed while it boots does nothing, and at 300 pairs with a kill every 3 s regardless, rows
ran out of attempts; a new one is started each time), Redis
restarted (every queued message lost), PostgreSQL restarted (every connection dropped), 20 % of
calendar calls failing (5xx / 429 with ``Retry-After``), 429 storms (every call refused for a
while), and the tick an hour late: once the pairs are booked it stops, the sandbox clock
(``app.demo``) jumps to an hour after the first sessions' follow-ups were due, then it resumes.

Counted afterwards, from the emulators' calendars and the SMTP server's mailbox: every pair's
series exactly once on its organizer's calendar; every due email arrived (one Message-ID each,
nothing else arrived); no outbox row dead or left unfinished. Emails resent through the residual
window (the SMTP server accepted, then the worker died or the database stayed away longer than
the mark-sent retries before the row was marked sent) are counted and printed; each needs a kill
or a restart, so there can be no more of them than those times the worker threads.

Size: ``TANDEM_CHAOS_PAIRS`` (default 30, as in ``make test``; ``make chaos`` runs 300).
"""
from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.mail.smtp import message_id_for
from adapters.storage.models import CalendarConnection, Notification, Occurrence, OutboxMessage, Pair, Series
from adapters.tokens import TokenCipher
from bench.smtp_sink import read_message_ids
from config.bootstrap import bootstrap
from config.settings import load_settings
from tests.support.pipeline import make_person, make_program, make_ready_pair
from tests.support.services import PrivatePostgres, PrivateRedis
from workers.broker import build_broker
from workers.tick import tick_once

ROOT = Path(__file__).resolve().parents[2]
PAIRS = int(os.environ.get("TANDEM_CHAOS_PAIRS", "30"))
MENTEES_PER_MENTOR = 5
WORKER_THREADS = 4
KILL_EVERY_S = 3.0
MIN_WORKER_AGE_S = 8.0  # a worker is not killed before it has had time to boot and take work
pytestmark = pytest.mark.slow  # its own PostgreSQL and Redis: not the shared ones the markers name


@pytest.fixture
def world(tmp_path):
    from emulators.google import GoogleEmulator
    from emulators.microsoft import GraphEmulator

    from adapters.storage.db import make_engine
    from adapters.storage.migrate import upgrade

    with contextlib.ExitStack() as stack:
        try:
            postgres = PrivatePostgres().start()
            redis = PrivateRedis().start()
        except FileNotFoundError as exc:
            pytest.skip(f"the chaos run needs its own servers: {exc}")
        stack.callback(postgres.stop)
        stack.callback(redis.stop)
        engine = make_engine(postgres.url)
        upgrade(engine)
        engine.dispose()
        mailbox = tmp_path / "mailbox.txt"
        sink = subprocess.Popen([sys.executable, "-m", "bench.smtp_sink", str(mailbox)], cwd=ROOT,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        smtp_port = int(sink.stdout.readline())

        def stop_sink():
            sink.stdin.close()
            sink.wait(timeout=30)
            sink.stdout.close()

        stack.callback(stop_sink)
        google = GoogleEmulator(seed=7).start()
        stack.callback(google.stop)
        graph = GraphEmulator().start()
        stack.callback(graph.stop)
        graph.set_auto_approve(True)
        env = {
            "TANDEM_APP__ENV": "test", "TANDEM_APP__DEMO": "true", "TANDEM_APP__VAR_DIR": str(tmp_path / "var"),
            "TANDEM_DATABASE__URL": postgres.url, "TANDEM_BROKER__URL": redis.url,
            "TANDEM_BROKER__WORKER_THREADS": str(WORKER_THREADS),
            "TANDEM_SECURITY__SECRET_KEY": "k" * 48, "TANDEM_SECURITY__TOKEN_KEYS": TokenCipher.generate_key(),
            "TANDEM_SECURITY__WEBHOOK_SECRET": "w" * 32,
            "TANDEM_MAIL__SMTP_HOST": "127.0.0.1", "TANDEM_MAIL__SMTP_PORT": str(smtp_port),
            "TANDEM_TICK__CLAIM_TIMEOUT_SECONDS": "15", "TANDEM_TICK__MAX_ATTEMPTS": "80",
            "TANDEM_TICK__BATCH_SIZE": "200",
            "TANDEM_GOOGLE__CLIENT_ID": google.client_id, "TANDEM_GOOGLE__CLIENT_SECRET": google.client_secret,
            "TANDEM_GOOGLE__TOKEN_URI": google.token_uri, "TANDEM_GOOGLE__REVOKE_URI": google.revoke_uri,
            "TANDEM_GOOGLE__API_BASE": google.base_url,
            "TANDEM_MICROSOFT__CLIENT_ID": graph.client_id, "TANDEM_MICROSOFT__CLIENT_SECRET": graph.client_secret,
            "TANDEM_MICROSOFT__AUTHORITY": graph.authority, "TANDEM_MICROSOFT__GRAPH_BASE": graph.graph_url,
            "TANDEM_MICROSOFT__CA_FILE": graph.ca_file,
        }
        settings = load_settings(environ=env)
        container = bootstrap(settings)
        stack.callback(container.dispose)
        workers: list[subprocess.Popen] = []

        def stop_workers():
            for proc in workers:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(timeout=30)

        stack.callback(stop_workers)

        def start_worker():
            proc_env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
            proc_env.update(env)
            log = stack.enter_context(open(tmp_path / f"worker{len(workers)}.log", "w"))
            workers.append(subprocess.Popen([sys.executable, "-m", "tandem", "worker"], cwd=ROOT, env=proc_env,
                                            stdout=log, stderr=subprocess.STDOUT))
            workers[-1].started = time.monotonic()
            return workers[-1]

        yield dict(container=container, settings=settings, redis=redis, postgres=postgres, google=google,
                   graph=graph, mailbox=mailbox, start_worker=start_worker, workers=workers)


def _seed(world) -> list[str]:
    """PAIRS/5 mentors (alternately on Google and Microsoft), five mentees each on the other one."""
    from adapters.providers.microsoft_auth import BOOKING_SCOPES, MicrosoftConnectFlow
    from emulators.microsoft.browser import sign_in
    from emulators.tls import client_session

    container, google, graph = world["container"], world["google"], world["graph"]
    now = container.clock.now()
    connect = MicrosoftConnectFlow(container.providers["microsoft"].apps)
    browser = client_session(graph.ca_file)

    def credentials(kind, email, tz):
        if kind == "google":
            google.add_user(email, tz)
            return google.grant(email)
        graph.add_user(email, time_zone=tz)
        flow = connect.start("https://127.0.0.1/connect/microsoft/callback", BOOKING_SCOPES, login_hint=email)
        return connect.finish(flow, sign_in(browser, flow["auth_uri"])).credentials

    zones = ["Europe/Berlin", "Europe/London", "America/New_York", "Europe/Paris"]
    pair_ids = []
    with container.uow() as uow:
        program = make_program(uow.session, cadence="weekly", session_count=2, duration_min=30,
                               mentor_max_sessions_per_week=MENTEES_PER_MENTOR + 1, reminder_offsets_min=[60])
        for m in range(-(-PAIRS // MENTEES_PER_MENTOR)):
            kind = "google" if m % 2 == 0 else "microsoft"
            email, tz = f"mentor{m}@example.org", zones[m % len(zones)]
            mentor = make_person(container, uow.session, email, tz, provider=kind,
                                 credentials=credentials(kind, email, tz))
            for e in range(min(MENTEES_PER_MENTOR, PAIRS - len(pair_ids))):
                mkind = "microsoft" if kind == "google" else "google"
                memail, mtz = f"mentee{m}-{e}@example.org", ("Europe/London", "Europe/Berlin")[e % 2]
                mentee = make_person(container, uow.session, memail, mtz, provider=mkind,
                                     credentials=credentials(mkind, memail, mtz))
                pair_ids.append(make_ready_pair(container, uow.session, program, mentor, mentee, now).id)
        uow.commit()
    return pair_ids


class Chaos:
    """Called between ticks: kills a worker every few seconds, and restarts Redis and PostgreSQL
    and starts a 429 storm once each per phase when the phase is far enough along."""

    def __init__(self, world):
        self.world = world
        self.rng = random.Random(16)
        self.kills = 0
        self.redis_restarts = self.postgres_restarts = self.storms = 0
        self._last_kill = time.monotonic()
        self._done: set[str] = set()

    def __call__(self, progress: float, phase: str) -> None:
        world = self.world
        now = time.monotonic()
        grown = [p for p in world["workers"] if p.poll() is None and now - p.started >= MIN_WORKER_AGE_S]
        if now - self._last_kill >= KILL_EVERY_S and grown:
            self.rng.choice(grown).send_signal(signal.SIGKILL)
            self.kills += 1
            self._last_kill = time.monotonic()
            world["start_worker"]()
        while len([p for p in world["workers"] if p.poll() is None]) < 2:
            world["start_worker"]()
        if progress >= 0.2 and f"{phase}:storm" not in self._done:
            self._done.add(f"{phase}:storm")
            self.storms += 1
            world["google"].faults.add("rate_limit", count=40, retry_after=2)
            world["graph"].fail_next(429, count=40, retry_after=2)
        if progress >= 0.35 and f"{phase}:redis" not in self._done:
            self._done.add(f"{phase}:redis")
            world["redis"].restart()
            self.redis_restarts += 1
        if progress >= 0.55 and f"{phase}:postgres" not in self._done:
            self._done.add(f"{phase}:postgres")
            world["postgres"].restart()
            self.postgres_restarts += 1


def _safely(fn, default):
    """A query that may meet the PostgreSQL restart: ``default`` then (the next poll asks again)."""
    try:
        return fn()
    except Exception:
        return default


def _count(world, query) -> int:
    with world["container"].uow() as uow:
        return uow.session.scalar(query) or 0


def _booked_share(world) -> float:
    return _count(world, select(func.count()).select_from(Pair).where(Pair.status == "booked")) / PAIRS


def _unfinished(world) -> int:
    """Outbox rows a worker still has to do now (queued, running, or pending and due)."""
    now = world["container"].clock.now()
    return _count(world, select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status.in_(("enqueued", "running")) |
        ((OutboxMessage.status == "pending") & (OutboxMessage.due_at <= now))))


def _drive(world, chaos, done, progress, *, phase: str, timeout: float) -> None:
    """Tick (and let chaos happen) until ``done()``; generous deadline, no timing assertions."""
    broker = build_broker(world["settings"])
    began = time.monotonic()
    deadline = began + timeout
    try:
        while time.monotonic() < deadline:
            if chaos is not None:
                chaos(_safely(progress, 0.0), phase)
            with contextlib.suppress(Exception):  # Redis or PostgreSQL being restarted: tick again
                tick_once(world["container"], broker)
            if _safely(done, False):
                print(f"  {phase}: {time.monotonic() - began:.0f}s")
                return
            time.sleep(0.3)
    finally:
        broker.close()
    raise AssertionError(f"{phase} did not finish in {timeout:.0f}s; outbox: {_outbox(world)}")


def _outbox(world) -> dict:
    with world["container"].uow() as uow:
        return dict(uow.session.execute(select(OutboxMessage.kind + ":" + OutboxMessage.status, func.count())
                                        .group_by(OutboxMessage.kind, OutboxMessage.status)).all())


def _series_keys_on(world, provider: str, email: str) -> list[str]:
    """The series keys of the live series (masters) on one calendar in the emulators."""
    if provider == "google":
        return [key for body in world["google"].events(email)
                if (key := body.get("extendedProperties", {}).get("private", {}).get("tandemSeriesKey"))
                and "recurringEventId" not in body and body.get("status") != "cancelled"]
    return [key for event in world["graph"].events(email)
            if event.extended and (key := next(iter(event.extended.values()), None)) and not event.is_cancelled
            and getattr(event, "invited_by", None) is None  # not an attendee's copy
            and getattr(event, "type", "seriesMaster") in ("seriesMaster", "singleInstance")]


def _series_in_calendars(world) -> Counter:
    """How many live series each series key has on the calendars of everyone in the program."""
    with world["container"].uow() as uow:
        people = uow.session.execute(select(CalendarConnection.provider, CalendarConnection.account_email)).all()
    found: Counter = Counter()
    for provider, email in set(people):
        found.update(_series_keys_on(world, provider, email))
    return found


def _tick_an_hour_late(world) -> timedelta:
    """Move the sandbox clock to an hour after the last first session's follow-up was due."""
    container = world["container"]
    with container.uow() as uow:
        firsts = uow.session.execute(select(func.min(Occurrence.end)).join(Series, Series.id == Occurrence.series_id)
                                     .where(Series.status == "booked").group_by(Series.id)).scalars().all()
        target = max(firsts) + timedelta(minutes=10) + timedelta(hours=1)
        by = target - container.clock.now()
        uow.clock_offsets.advance(by, container.clock.now())
        uow.commit()
    time.sleep(1.5)  # the sandbox clock caches its offset for a second in every process
    return by


@pytest.mark.timeout(600 + 12 * PAIRS)
def test_chaos_run_books_reminds_and_follows_up_each_exactly_once(world):
    pair_ids = _seed(world)
    world["google"].faults.add("unavailable", probability=0.1, count=None)
    world["google"].faults.add("rate_limit", probability=0.1, count=None, retry_after=1)
    world["graph"].fail_rate(0.2, statuses=(503, 429), seed=11)
    world["start_worker"]()
    world["start_worker"]()
    chaos = Chaos(world)

    # 1. booking, under every fault
    _drive(world, chaos, lambda: _booked_share(world) == 1.0, lambda: _booked_share(world), phase="booking",
           timeout=300 + 6 * PAIRS)
    # 2. the tick an hour late: the clock jumps past the first sessions, their reminders and
    #    follow-ups are all due at once; the chaos goes on while they are sent
    jumped = _tick_an_hour_late(world)
    total_due = _count(world, select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "done"))

    def drained():
        return 1.0 - _unfinished(world) / max(1, total_due)

    _drive(world, chaos, lambda: _unfinished(world) == 0, drained, phase="catch-up", timeout=300 + 6 * PAIRS)
    # 3. faults off, the last retries settle
    world["google"].faults.clear()
    world["graph"].fail_rate(0.0)
    _drive(world, None, lambda: _unfinished(world) == 0, lambda: 1.0, phase="settle", timeout=300)

    container = world["container"]
    now = container.clock.now()
    with container.uow() as uow:
        session = uow.session
        series = session.execute(select(Series.pair_id, Series.idempotency_key)
                                 .where(Series.status == "booked")).all()
        due = session.execute(select(Notification.kind, Notification.status, Notification.idempotency_key)
                              .where(Notification.due_at <= now)).all()
        dead = session.scalars(select(OutboxMessage.kind + ": " + OutboxMessage.last_error)
                               .where(OutboxMessage.status == "dead")).all()
        stuck = session.scalars(select(OutboxMessage.kind + ": " + OutboxMessage.status).where(
            OutboxMessage.status.in_(("enqueued", "running")) |
            ((OutboxMessage.status == "pending") & (OutboxMessage.due_at <= now)))).all()
        not_booked = session.execute(select(Pair.id, Pair.status, Pair.status_reason)
                                     .where(Pair.status != "booked")).all()
    in_calendars = _series_in_calendars(world)
    arrived = read_message_ids(world["mailbox"])
    sent = [key for _, status, key in due if status == "sent"]
    expected = {message_id_for(key) for key in sent}
    resent = {mid: n for mid, n in arrived.items() if n > 1}
    by_kind = Counter(kind for kind, status, _ in due if status == "sent")
    print(f"\nchaos run: {PAIRS} pairs; {chaos.kills} workers SIGKILLed, Redis restarted {chaos.redis_restarts}x, "
          f"PostgreSQL restarted {chaos.postgres_restarts}x, {chaos.storms} 429 storms, the clock jumped "
          f"{jumped} (the tick an hour late for the last follow-up due)")
    print(f"  series booked {len(series)}, on the organizers' calendars {sum(in_calendars.values())} "
          f"({len([k for k, n in in_calendars.items() if n > 1])} twice)")
    print(f"  due emails {len(due)} (sent {len(sent)}: {dict(sorted(by_kind.items()))}), "
          f"arrived {sum(arrived.values())} with {len(arrived)} Message-IDs, "
          f"resent through the residual window {sum(n - 1 for n in resent.values())}")
    print(f"  outbox rows dead {len(dead)}, unfinished {len(stuck)}")

    assert not_booked == []
    assert len(series) == PAIRS and {pair_id for pair_id, _ in series} == set(pair_ids)
    assert set(in_calendars) == {key for _, key in series}, "every pair's series is on its calendar"
    assert all(n == 1 for n in in_calendars.values()), "no series twice"
    assert dead == [] and stuck == [], "no row given up on or left unfinished"
    assert all(status in ("sent", "cancelled") for _, status, _ in due), "every due email was sent"
    assert by_kind["reminder"] >= 2 * PAIRS and by_kind["feedback"] >= 2 * PAIRS, by_kind
    assert set(arrived) == expected, "every sent email arrived, and nothing else"
    # a resend needs a worker killed, or the database away for longer than the mark-sent retries,
    # between the SMTP server accepting and the row being marked: at most one per worker thread
    assert sum(n - 1 for n in resent.values()) <= (chaos.kills + 3 * chaos.postgres_restarts) * WORKER_THREADS
