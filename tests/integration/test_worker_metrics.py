"""Worker metrics in multiprocess mode: a `tandem worker` process on a private Redis writes to
PROMETHEUS_MULTIPROC_DIR (Dramatiq's Prometheus middleware and Tandem's actor outcomes), and
`/metrics` served by another process adds them up."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.storage.models import OutboxMessage
from adapters.storage.outbox import add_outbox
from adapters.tokens import TokenCipher
from tests.support.services import PrivateRedis
from web import create_app
from workers.broker import build_broker
from workers.tick import tick_once

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.redis]


def _statuses(container) -> list[str]:
    with container.uow() as uow:
        return list(uow.session.scalars(select(OutboxMessage.status)))


def test_worker_process_metrics_show_messages_by_actor_and_outcome(container, tmp_path, monkeypatch):
    if container.engine.dialect.name != "sqlite":
        pytest.skip("one database is enough for this")
    try:
        redis = PrivateRedis().start()
    except FileNotFoundError:
        pytest.skip("redis-server is not installed")
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.update({"PROMETHEUS_MULTIPROC_DIR": str(multiproc), "TANDEM_APP__ENV": "test",
                "TANDEM_DATABASE__URL": container.settings.database_url, "TANDEM_BROKER__URL": redis.url,
                "TANDEM_SECURITY__SECRET_KEY": "k" * 48, "TANDEM_BROKER__WORKER_THREADS": "2",
                "TANDEM_SECURITY__TOKEN_KEYS": TokenCipher.generate_key()})
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen([sys.executable, "-m", "tandem", "worker"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    broker = build_broker(replace(container.settings, broker=replace(container.settings.broker, url=redis.url)))
    try:
        with container.uow() as uow:  # two emails whose notification is gone: each run is a no-op, "done"
            for n in range(2):
                add_outbox(uow.session, "deliver_notification", f"missing-{n}", f"deliver:missing-{n}",
                           container.clock.now())
            uow.commit()
        assert tick_once(container, broker) == 2
        deadline = time.monotonic() + 90
        while _statuses(container) != ["done", "done"] and time.monotonic() < deadline:
            assert worker.poll() is None, log_path.read_text()
            time.sleep(0.2)
        assert _statuses(container) == ["done", "done"], log_path.read_text()
    finally:
        broker.close()
        worker.terminate()
        worker.wait(timeout=30)
        redis.stop()

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(multiproc))
    text = create_app(container=container).test_client().get("/metrics").get_data(as_text=True)
    assert 'tandem_actor_messages_total{actor="deliver_notification",outcome="done"} 2.0' in text
    # the two emails went to the worker in one message (the tick batches emails)
    assert 'dramatiq_messages_total{actor_name="deliver_notifications",queue_name="default"} 1.0' in text
    assert ('dramatiq_message_duration_milliseconds_count{actor_name="deliver_notifications",queue_name="default"} 1.0'
            in text)
