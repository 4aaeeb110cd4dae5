"""The production compose file is valid against the Compose specification, and names every role."""
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_is_valid_compose_spec():
    out = subprocess.run([str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
                          "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_compose_runs_web_workers_tick_redis_and_postgres():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert {"web", "worker", "tick", "redis", "postgres", "migrate"} <= set(services)
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"] == ["tandem", "worker"]
    assert services["tick"]["command"] == ["tandem", "tick"]
    env = services["web"]["environment"]
    assert env["TANDEM_APP__ENV"] == "production" and env["TANDEM_BROKER__URL"].startswith("redis://")
