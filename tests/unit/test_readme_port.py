"""The README's way to change the port works: its environment line sets the port and base URL,
and ``tandem run --port`` exists and says what it changes."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from config.settings import load_settings
from tandem.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_port_line_sets_the_port_and_the_base_url_links_use():
    text = README.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("TANDEM_APP__PORT=") and "make run" in line)
    env = dict(word.split("=", 1) for word in shlex.split(line) if "=" in word)
    settings = load_settings(environ=env)
    assert settings.app.port == 8080 and settings.app.base_url == "http://127.0.0.1:8080"
    assert settings.sources["app.port"] == "environment"
    assert re.search(r"tandem --config var/tandem.toml run --port 8080", text)


def test_tandem_run_takes_a_port_and_its_help_names_the_settings():
    parser = build_parser()
    args = parser.parse_args(["run", "--port", "8080", "--host", "0.0.0.0"])
    assert (args.port, args.host) == (8080, "0.0.0.0")
    shown = subprocess.run([sys.executable, "-m", "tandem", "run", "--help"], capture_output=True, text=True,
                           cwd=README.parent, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "--port PORT" in shown.stdout and "TANDEM_APP__PORT" in shown.stdout
    assert "TANDEM_APP__BASE_URL" in shown.stdout
