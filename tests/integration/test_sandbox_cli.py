"""``tandem sandbox advance`` and ``tandem sandbox seed`` as a person runs them (docs/contracts.md §2),
on a temporary SQLite installation: the seeded program's id alone on the last line, the clock
stored in the database for every process, and a one-line refusal (exit 2) without ``app.demo``."""
from __future__ import annotations

from datetime import timedelta

from config.bootstrap import bootstrap
from config.settings import load_settings
from tests.integration.test_health_and_cli import _tandem


def _installation(tmp_path, *, demo: bool) -> dict:
    cfg = tmp_path / "t.toml"
    init = ["config", "init", "--out", str(cfg)] + (["--demo"] if demo else [])
    assert _tandem(*init).returncode == 0
    env = {"TANDEM_CONFIG": str(cfg), "TANDEM_APP__VAR_DIR": str(tmp_path / "v")}
    assert _tandem("db", "upgrade", env=env).returncode == 0
    return env


def test_seed_then_skip_ahead_on_a_sandbox(tmp_path):
    env = _installation(tmp_path, demo=True)
    out = _tandem("sandbox", "seed", "--pairs", "5", "--weeks", "3", "--seed", "7", env=env)
    assert out.returncode == 0, out.stderr
    program_id = out.stdout.strip().splitlines()[-1]
    assert len(program_id) == 32 and program_id.isalnum()

    out = _tandem("sandbox", "advance", "36h", env=env)
    assert out.returncode == 0, out.stderr
    assert "(2 step(s))" in out.stdout and "tandem run" in out.stdout
    out = _tandem("sandbox", "advance", "1d", "--here", env=env)
    assert out.returncode == 0, out.stderr
    assert "due task(s) here" in out.stdout

    settings = load_settings(str(tmp_path / "t.toml"))
    container = bootstrap(settings.with_overrides({"app.var_dir": str(tmp_path / "v")}))
    try:
        with container.uow() as uow:
            assert uow.clock_offsets.offset() == timedelta(hours=60)
            program = uow.programs.get(program_id)
            assert len(program.pairs) == 5
            verdicts = {o.attendance_verdict for p in program.pairs for s in p.series for o in s.occurrences}
            assert "held" in verdicts
            assert uow.outbox.count_by_status().get("dead", 0) == 0
    finally:
        container.dispose()


def test_a_bad_duration_is_one_clear_line(tmp_path):
    env = _installation(tmp_path, demo=True)
    out = _tandem("sandbox", "advance", "soon", env=env)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "'soon' is not a duration" in out.stderr and "36h" in out.stderr


def test_both_commands_refuse_without_demo(tmp_path):
    env = _installation(tmp_path, demo=False)
    for args in (("advance", "1d"), ("seed", "--pairs", "3")):
        out = _tandem("sandbox", *args, env=env)
        assert out.returncode == 2, out
        assert out.stdout == ""
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "app.demo" in lines[0], out.stderr
