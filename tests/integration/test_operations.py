"""Operations: /metrics (single and multi-process), /readyz, request ids, JSON logs with
redaction, actor log context, and ``tandem doctor`` in production mode."""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from adapters.mail.smtp import SmtpMailer
from adapters.providers.retry import RetryPolicy, call_with_retries
from config.bootstrap import bootstrap
from config.logs import configure_logging, log_context
from config.settings import MailSection
from scheduler.core.entities import OutboxMessage, Pair, Person, Program
from scheduler.errors import MailUnavailable, RateLimited
from scheduler.ports import OutgoingEmail
from web import create_app
from workers.actors import run_outbox_row

ROOT = Path(__file__).resolve().parents[2]


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def logs():
    """Log lines as the production handler writes them (JSON), root handlers restored after."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("production", stream=stream)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
        root.setLevel(level)


def _seed(container):
    with container.uow() as uow:
        uow.programs.add(Program(id="prog1", name="P"))
        uow.people.add(Person(id="pers1", email="mentor@example.org"))
        uow.people.add(Person(id="pers2", email="mentee@example.org"))
        uow.pairs.add(Pair(id="pair1", program_id="prog1", mentor_id="pers1", mentee_id="pers2", status="booked"))
        now = container.clock.now()
        uow.outbox.add(OutboxMessage(id="out1", kind="plan_pair", subject_id="pair1", idempotency_key="k1",
                                     due_at=now - timedelta(minutes=10)))
        uow.commit()


def test_metrics_show_routes_outbox_and_pairs_without_ids(container):
    _seed(container)
    client = create_app(container=container).test_client()
    client.get("/pairs/pair1")  # a route with an id in its path
    client.get("/no/such/page")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'tandem_http_requests_total{method="GET",route="/pairs/<pair_id>",status=' in text
    assert 'route="unmatched",status="404"' in text
    assert "tandem_http_request_duration_seconds_bucket" in text
    assert 'tandem_outbox_messages{status="pending"} 1.0' in text
    assert 'tandem_outbox_messages{status="dead"} 0.0' in text
    age = [line for line in text.splitlines() if line.startswith("tandem_outbox_oldest_due_age_seconds ")]
    assert age and float(age[0].split()[1]) >= 600
    assert 'tandem_pairs{state="booked"} 1.0' in text and 'tandem_pairs{state="ready"} 0.0' in text
    for private in ("pair1", "example.org", "out1", "/no/such/page"):
        assert private not in text


def test_metrics_are_refused_in_production_without_a_token_and_need_it_when_set(settings):
    if settings.database_url.startswith("sqlite"):
        pytest.skip("production refuses SQLite: this runs on the PostgreSQL database")
    prod = settings.with_overrides({"app.env": "production", "app.base_url": "https://tandem.example.org",
                                    "security.session_cookie_secure": True, "security.secret_key": "s" * 48,
                                    "broker.url": "redis://127.0.0.1:6379/15"})
    c = bootstrap(prod)
    try:
        assert create_app(container=c).test_client().get("/metrics").status_code == 404
    finally:
        c.dispose()
    c = bootstrap(prod.with_overrides({"metrics.token": "scrape-secret-0123456789"}))
    try:
        client = create_app(container=c).test_client()
        denied = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
        assert denied.status_code == 401 and "Bearer" in denied.headers["WWW-Authenticate"]
        assert client.get("/metrics").status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-0123456789"})
        assert ok.status_code == 200 and b"tandem_pairs" in ok.data
    finally:
        c.dispose()


def test_readyz_is_ready_on_a_migrated_database(container):
    reply = create_app(container=container).test_client().get("/readyz")
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["status"] == "ready" and body["migrations"]["status"] == "ok"


def test_readyz_names_pending_migrations(settings, tmp_path):
    fresh = settings.with_overrides({"database.url": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})
    c = bootstrap(fresh)
    try:
        reply = create_app(container=c).test_client().get("/readyz")
    finally:
        c.dispose()
    assert reply.status_code == 503
    body = reply.get_json()
    assert body["status"] == "not ready" and "tandem db upgrade" in body["migrations"]["error"]
    assert body["database"]["status"] == "ok"


def test_request_id_on_every_line_of_a_request_and_in_the_reply(container, logs):
    client = create_app(container=container).test_client()
    reply = client.get("/invite/secret-link-token.abc?token=t0psecret",
                       headers={"X-Request-Id": "req-12345678"})
    assert reply.headers["X-Request-Id"] == "req-12345678"
    lines = logs()
    assert lines and all(line["request_id"] == "req-12345678" for line in lines)
    assert "secret-link-token" not in json.dumps(lines) and "t0psecret" not in json.dumps(lines)
    generated = client.get("/healthz").headers["X-Request-Id"]
    assert len(generated) == 32 and generated != "req-12345678"


def test_secrets_are_redacted_in_messages_arguments_and_tracebacks(logs):
    log = logging.getLogger("tandem.test")
    log.warning("calling %s", "https://x.test/cb?code=oauthcode123&state=st4te")
    log.info("header Authorization: Bearer ya29.abcdef")
    log.info("links /feedback/fb-token-xyz and /signin/link/sign-token-1")
    try:
        raise RuntimeError("failed on /invite/inv-token-9 with password=hunter2")
    except RuntimeError:
        log.exception("boom")
    text = json.dumps(logs())
    for secret in ("oauthcode123", "st4te", "ya29.abcdef", "fb-token-xyz", "sign-token-1", "inv-token-9", "hunter2"):
        assert secret not in text, secret
    assert "/feedback/[redacted]" in text and "Bearer [redacted]" in text


def test_actor_run_lines_carry_the_outbox_row_and_outcomes_are_counted(container, logs):
    _seed(container)
    with container.uow() as uow:
        uow.outbox.claim_due(container.clock.now(), limit=10, claim_timeout=timedelta(minutes=5), max_attempts=3)
        uow.commit()

    def fails(deps, subject_id):
        logging.getLogger("tandem.test").info("working on it")
        raise RuntimeError("provider hiccup")

    before = sample("tandem_actor_messages_total", actor="test_kind", outcome="retry")
    run_outbox_row(container, "test_kind", fails, "out1")
    assert sample("tandem_actor_messages_total", actor="test_kind", outcome="retry") == before + 1
    skipped = sample("tandem_actor_messages_total", actor="test_kind", outcome="skipped")
    run_outbox_row(container, "test_kind", fails, "out1")  # pending again, not enqueued: a no-op
    assert sample("tandem_actor_messages_total", actor="test_kind", outcome="skipped") == skipped + 1
    lines = logs()
    assert [line["message"] for line in lines][:1] == ["working on it"]
    assert all(line["outbox_id"] == "out1" and line["actor"] == "test_kind" for line in lines)
    with log_context(outbox_id="x"):
        pass
    logging.getLogger("tandem.test").info("after")
    assert "outbox_id" not in logs()[-1]


def test_provider_retries_and_429s_are_counted():
    calls = iter([RateLimited("slow down", retry_after=3), None])

    def request():
        outcome = next(calls)
        if outcome:
            raise outcome
        return "ok"

    provider = "ops-test"  # named by the caller, as each adapter names itself and its operation
    before = sample("tandem_provider_rate_limited_total", provider=provider)
    waits = []
    assert call_with_retries(request, RetryPolicy(attempts=3), provider=provider, method="free_busy",
                             sleep=waits.append) == "ok"
    assert waits == [3]
    assert sample("tandem_provider_rate_limited_total", provider=provider) == before + 1
    assert sample("tandem_provider_requests_total", provider=provider, method="free_busy",
                  status="ok") >= 1
    assert sample("tandem_provider_retry_wait_seconds_sum", provider=provider, reason="rate_limited") >= 3


def test_failed_emails_are_counted(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once closed
    mailer = SmtpMailer(MailSection(smtp_host="127.0.0.1", smtp_port=port), timeout=2)
    before = sample("tandem_emails_failed_total", reason="unavailable")
    with pytest.raises(MailUnavailable):
        mailer.send(OutgoingEmail(to=("a@example.org",), subject="s", text="t", idempotency_key="k"))
    assert sample("tandem_emails_failed_total", reason="unavailable") == before + 1


WORKER_PROCESS = textwrap.dedent("""
    import sys
    from config.bootstrap import bootstrap
    from adapters.tokens import TokenCipher
    from config.settings import load_settings
    from web import create_app
    c = bootstrap(load_settings(overrides={"database.url": sys.argv[1], "app.env": "test",
                                           "security.secret_key": "x" * 40,
                                           "security.token_keys": [TokenCipher.generate_key()]}))
    client = create_app(container=c).test_client()
    for _ in range(int(sys.argv[2])):
        assert client.get("/healthz").status_code == 200
    c.dispose()
""")


def test_metrics_add_up_every_process_in_multiprocess_mode(container, tmp_path, monkeypatch):
    """Two processes (as gunicorn's workers) write to PROMETHEUS_MULTIPROC_DIR; /metrics in a
    third adds them up."""
    if container.engine.dialect.name != "sqlite":
        pytest.skip("one database is enough for this")
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc)
    url = container.settings.database_url
    for count in (2, 3):
        done = subprocess.run([sys.executable, "-c", WORKER_PROCESS, url, str(count)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert len(list(multiproc.glob("*.db"))) >= 2
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(multiproc))
    text = create_app(container=container).test_client().get("/metrics").get_data(as_text=True)
    assert 'tandem_http_requests_total{method="GET",route="/healthz",status="200"} 5.0' in text
    assert "tandem_pairs{" in text and "tandem_outbox_messages{" in text


def _tandem(*args, env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "tandem", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=60)


def test_doctor_in_production_names_each_gap_and_its_fix(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    cfg = tmp_path / "prod.toml"
    cfg.write_text(textwrap.dedent(f"""
        [app]
        env = "production"
        base_url = "http://localhost:8000"
        var_dir = "{tmp_path / 'v'}"
        [security]
        secret_key = "{'a' * 40}"
        token_keys = ["{__import__('adapters.tokens', fromlist=['TokenCipher']).TokenCipher.generate_key()}"]
        webhook_secret = "short"
        session_cookie_secure = true
        [mail]
        smtp_host = "127.0.0.1"
        smtp_port = {closed_port}
        [google]
        client_id = "only-the-id"
    """))
    out = _tandem("doctor", env={"TANDEM_CONFIG": str(cfg)})
    assert out.returncode == 1
    text = out.stdout
    assert "FAIL oauth: google.client_secret is missing" in text
    assert "FAIL base_url:" in text and "https" in text
    assert "FAIL secrets: security.webhook_secret is shorter than 32" in text
    assert "FAIL secrets: security.secret_key has too few distinct characters" in text
    assert f"FAIL smtp: SMTP server 127.0.0.1:{closed_port} is not reachable" in text
    assert "ok   secrets: 1 token key(s) present" in text
    assert "metrics.token is not set" in text
    assert "FAIL settings: production uses SQLite" in text


def test_doctor_production_checks_pass_what_is_right():
    from config.doctor import production_checks
    from config.settings import Settings

    settings = Settings().with_overrides({
        "app.env": "production", "app.base_url": "https://tandem.example.org",
        "security.webhook_secret": "w" * 8 + "0123456789abcdefghijklmnopqrstuv",
        "security.secret_key": "0123456789abcdefghijklmnopqrstuvwxyz", "security.token_keys": "k",
        "google.client_id": "id", "google.client_secret": "secret", "mail.smtp_host": ""})
    checks = {area: (ok, message) for ok, area, message in production_checks(settings)}
    assert checks["oauth"] == (True, "OAuth clients configured: Google")
    assert checks["base_url"][0] is True
    assert checks["smtp"][0] is False and "mail.smtp_host is not set" in checks["smtp"][1]
    assert not any(not ok for ok, area, _ in production_checks(settings) if area == "secrets")


def test_each_adapter_names_itself_and_its_operation_in_the_provider_metrics():
    from datetime import datetime, timezone

    from adapters.providers.memory import InMemoryCalendarProvider
    from scheduler.ports import CalendarAccount

    provider = InMemoryCalendarProvider()
    account = CalendarAccount(connection_id="c-1", provider="memory", email="ada@example.org", credentials={})
    labels = dict(provider="memory", method="free_busy", status="ok")
    before = sample("tandem_provider_requests_total", **labels)

    provider.free_busy([account], datetime(2027, 3, 1, tzinfo=timezone.utc), datetime(2027, 3, 8, tzinfo=timezone.utc))

    assert sample("tandem_provider_requests_total", **labels) == before + 1
