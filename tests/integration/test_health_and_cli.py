"""/healthz, ``tandem doctor``, ``tandem config show`` and ``tandem run`` as a person uses them."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import require_service
from web import create_app

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_ok_on_embedded_default(container):
    client = create_app(container=container).test_client()
    reply = client.get("/healthz")
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["status"] == "ok"
    assert body["database"]["backend"] in ("sqlite", "postgresql")
    assert body["broker"]["backend"] == "in-process"


def test_healthz_degraded_names_the_broker_problem(settings):
    from config.bootstrap import bootstrap

    port = _free_port()  # nothing listens there
    c = bootstrap(settings.with_overrides({"broker.url": f"redis://127.0.0.1:{port}/0"}))
    reply = create_app(container=c).test_client().get("/healthz")
    c.dispose()
    assert reply.status_code == 503
    body = reply.get_json()
    assert body["status"] == "degraded" and body["broker"]["status"] == "error"
    assert "start it or fix broker.url" in body["broker"]["error"]


@pytest.mark.redis
def test_healthz_ok_with_real_redis(settings):
    from config.bootstrap import bootstrap

    require_service("Redis", "127.0.0.1", 6379)
    c = bootstrap(settings.with_overrides({"broker.url": "redis://127.0.0.1:6379/15"}))
    reply = create_app(container=c).test_client().get("/healthz")
    c.dispose()
    assert reply.status_code == 200 and reply.get_json()["broker"]["backend"] == "redis"


def _tandem(*args, env=None, timeout=60):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "tandem", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def test_config_show_redacts_and_names_sources(tmp_path):
    cfg = tmp_path / "t.toml"
    assert _tandem("config", "init", "--out", str(cfg)).returncode == 0
    assert oct(cfg.stat().st_mode & 0o777) == "0o600"
    out = _tandem("config", "show", env={"TANDEM_CONFIG": str(cfg), "TANDEM_APP__PORT": "5055"})
    assert out.returncode == 0, out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines()}
    assert "'<redacted>'" in lines["security.secret_key"] and f"(file {cfg})" in lines["security.secret_key"]
    assert "5055" in lines["app.port"] and "(environment)" in lines["app.port"]
    secret = cfg.read_text().split('secret_key = "')[1].split('"')[0]
    assert secret not in out.stdout


def test_doctor_gives_actionable_messages(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[app]\nprot = 1\n")
    out = _tandem("doctor", env={"TANDEM_CONFIG": str(bad)})
    assert out.returncode == 1 and "unknown setting 'app.prot'" in out.stdout
    out = _tandem("doctor", env={"TANDEM_APP__VAR_DIR": str(tmp_path / "v")})
    assert out.returncode == 1
    assert "security.secret_key is missing" in out.stdout and "tandem config init" in out.stdout
    assert "tandem db upgrade" in out.stdout  # fresh database: migrations pending
    out = _tandem("config", "show", env={"TANDEM_CONFIG": str(tmp_path / "missing.toml")})
    assert out.returncode == 2 and "does not exist" in out.stderr and "Traceback" not in out.stderr


def test_doctor_passes_on_a_prepared_setup(tmp_path):
    cfg = tmp_path / "t.toml"
    env = {"TANDEM_CONFIG": str(cfg), "TANDEM_APP__VAR_DIR": str(tmp_path / "v")}
    _tandem("config", "init", "--out", str(cfg))
    assert _tandem("db", "upgrade", env=env).returncode == 0
    out = _tandem("doctor", env=env)
    assert out.returncode == 0, out.stdout
    assert "ok   database: sqlite, schema current" in out.stdout


@pytest.mark.slow
def test_tandem_run_serves_healthz_and_books_the_sandbox(tmp_path):
    """The embedded default: SQLite + in-process broker + emulators; nothing else needed."""
    cfg = tmp_path / "t.toml"
    _tandem("config", "init", "--out", str(cfg), "--demo")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.update({"TANDEM_CONFIG": str(cfg), "TANDEM_APP__VAR_DIR": str(tmp_path / "v"),
                "TANDEM_APP__PORT": str(port), "TANDEM_APP__BASE_URL": f"http://127.0.0.1:{port}",
                "TANDEM_BROKER__URL": "memory://"})
    proc = subprocess.Popen([sys.executable, "-m", "tandem", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        body = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.3)
        assert body is not None, "tandem run did not serve /healthz within 60 s"
        assert body["status"] == "ok" and body["database"]["backend"] == "sqlite"
        # The sandbox program is booked by the real pipeline on the emulated calendars.
        page = ""
        while time.monotonic() < deadline + 60:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/demo", timeout=5) as r:
                page = r.read().decode()
            if page.count("<td>booked</td>") == 3:
                break
            time.sleep(1)
        assert page.count("<td>booked</td>") == 3, page
        assert 'id="caldav-url"' in page and "public/basic.ics" in page  # all four connectors can be tried
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    # Graph's subscriptions were accepted (their endpoint validated), so the sandbox gets pushed
    # changes: no warning that push was refused and polling used instead.
    assert "/webhooks/microsoft?validationToken=" in out, out
    assert not [line for line in out.splitlines() if " WARNING " in line and "push channel" in line], out


def test_tandem_emulators_runs_both_and_prints_their_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    proc = subprocess.Popen([sys.executable, "-m", "tandem", "emulators"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while not any(line.startswith("(Ctrl-C") for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line.strip())
        text = "\n".join(lines)
        google = next(l for l in lines if l.startswith("Google")).split(": ")[1]
        with urllib.request.urlopen(google + "/.well-known/openid-configuration", timeout=5) as reply:
            assert reply.status == 200
        assert "[google]" in text and "[microsoft]" in text and "ca_file" in text
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode == 0
