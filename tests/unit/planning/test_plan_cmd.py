"""``tandem plan``: contract invariants on the shared example, and clean failures on bad input."""
from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduler.core.ics_busy import busy_from_ics
from scheduler.core.scenario import parse_scenario
from tandem import plan_cmd

from .oracle import inside_working_hours

# The example scenario (8 pairs of real-looking calendar exports), kept in the repo so
# the suite depends on nothing outside it.
EXAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "plan-scenario"
REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "ics"
NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)
needs_example = pytest.mark.skipif(not (EXAMPLE / "scenario.json").exists(), reason="shared example not present")


def run_plan(scenario: Path, out: Path | None = None, now=NOW):
    stdout, stderr = io.StringIO(), io.StringIO()
    args = argparse.Namespace(scenario=str(scenario), out=str(out) if out else None)
    code = plan_cmd.run(args, now=now, stdout=stdout, stderr=stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def parse_utc(text: str) -> datetime:
    assert text.endswith("Z")
    return datetime.fromisoformat(text[:-1] + "+00:00")


def check_contract(scenario_dir: Path, plan: dict) -> None:
    """Every promise of docs/contracts.md section 1, checked against independently parsed input."""
    raw = json.loads((scenario_dir / "scenario.json").read_text())
    scenario = parse_scenario(raw)
    horizon_start = datetime.fromisoformat(raw["horizon"]["start"]).replace(tzinfo=timezone.utc)
    window = (horizon_start - timedelta(days=2), horizon_start + timedelta(weeks=raw["horizon"]["weeks"] + 8))
    busy = {pid: busy_from_ics((scenario_dir / path).read_bytes(), path, scenario.people[pid].tz, *window)
            for pid, path in scenario.busy_ics.items()}
    assert [p["pair"] for p in plan["pairs"]] == [p["id"] for p in raw["pairs"]]
    pairs = {p["id"]: p for p in raw["pairs"]}
    sessions: dict[str, list[tuple[datetime, datetime]]] = {}
    for entry in plan["pairs"]:
        assert entry["status"] in ("booked", "unschedulable")
        if entry["status"] == "unschedulable":
            assert isinstance(entry["reason"], str) and len(entry["reason"]) > 20
            continue
        pair = pairs[entry["pair"]]
        mentor, mentee = scenario.people[pair["mentor"]], scenario.people[pair["mentee"]]
        series = entry["series"]
        assert series["tz"] == pair.get("tz", mentor.tz)
        interval = {"weekly": 1, "biweekly": 2}.get(pair["cadence"])
        if interval:
            assert series["rrule"].startswith(f"FREQ=WEEKLY;INTERVAL={interval};COUNT={pair['count']};BYDAY=")
        else:
            assert series["rrule"].startswith(f"FREQ=MONTHLY;INTERVAL=1;COUNT={pair['count']};BYDAY=")
        dtstart = datetime.fromisoformat(series["dtstart_local"])
        assert dtstart.tzinfo is None
        assert len(entry["occurrences"]) == pair["count"]
        first = entry["occurrences"][0]
        first_nominal = parse_utc(first.get("original_start", first["start"]))
        assert first_nominal == dtstart.replace(tzinfo=ZoneInfo(series["tz"])).astimezone(timezone.utc)
        for occurrence in entry["occurrences"]:
            start, end = parse_utc(occurrence["start"]), parse_utc(occurrence["end"])
            assert end - start == timedelta(minutes=pair["duration_min"])
            assert isinstance(occurrence["conflict"], bool)
            if occurrence.get("moved"):
                assert occurrence["moved"] is True and "original_start" in occurrence
            if occurrence["conflict"]:
                continue
            for person in (mentor, mentee):
                assert inside_working_hours(person, start, end), (entry["pair"], person.person_id, start)
                assert all(not (b.start < end and start < b.end) for b in busy.get(person.person_id, ())), \
                    (entry["pair"], person.person_id, start)
            sessions.setdefault(pair["mentor"], []).append((start, end))
    cap = raw.get("mentor_max_sessions_per_week")
    for mentor_id, items in sessions.items():
        items.sort()
        for (_, end), (start, _) in zip(items, items[1:]):
            assert end <= start, f"{mentor_id} has overlapping sessions"
        if cap:
            per_week: dict = {}
            for start, _ in items:
                week = start.astimezone(ZoneInfo(scenario.people[mentor_id].tz)).isocalendar()[:2]
                per_week[week] = per_week.get(week, 0) + 1
            assert max(per_week.values()) <= cap


@needs_example
def test_example_scenario_meets_the_contract():
    code, out, err = run_plan(EXAMPLE / "scenario.json")
    assert code == 0, err
    plan = json.loads(out)
    check_contract(EXAMPLE, plan)
    assert any(p["status"] == "booked" for p in plan["pairs"])


@needs_example
def test_example_scenario_with_a_tight_cap_still_meets_the_contract(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "s")
    scenario_file = tmp_path / "s" / "scenario.json"
    scenario_file.chmod(0o644)
    raw = json.loads(scenario_file.read_text())
    raw["mentor_max_sessions_per_week"] = 1
    raw["sharing"] = "first_come"
    scenario_file.write_text(json.dumps(raw))
    code, out, err = run_plan(scenario_file)
    assert code == 0, err
    plan = json.loads(out)
    check_contract(tmp_path / "s", plan)
    assert any("weekly cap of 1" in (p.get("reason") or "") for p in plan["pairs"])


def test_out_writes_the_file_and_keeps_stdout_empty(tmp_path):
    code, out, _ = run_plan(write_scenario(tmp_path), out=tmp_path / "plan.json")
    assert code == 0 and out == ""
    assert json.loads((tmp_path / "plan.json").read_text())["pairs"][0]["pair"] == "p"


@needs_example
def test_module_entry_point_prints_pure_json(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tandem.plan_cmd", str(EXAMPLE / "scenario.json")],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pairs"]


@needs_example
def test_main_cli_runs_tandem_plan():
    pytest.importorskip("tandem.cli")
    result = subprocess.run([sys.executable, "-m", "tandem", "plan", str(EXAMPLE / "scenario.json")],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [p["pair"] for p in json.loads(result.stdout)["pairs"]][:1] == ["pair0"]


def write_scenario(tmp_path: Path, **changes) -> Path:
    scenario = {
        "horizon": {"start": "2027-03-01", "weeks": 4},
        "mentor_max_sessions_per_week": 3,
        "people": [
            {"id": "m", "email": "m@example.org", "tz": "Europe/Berlin", "working_hours": {"tue": [["09:00", "17:00"]]}},
            {"id": "e", "email": "e@example.org", "tz": "Asia/Kathmandu", "working_hours": {"tue": [["12:00", "20:00"]]}},
        ],
        "pairs": [{"id": "p", "mentor": "m", "mentee": "e", "duration_min": 45, "cadence": "weekly", "count": 4}],
    }
    for key, value in changes.items():
        target, _, field = key.partition("__")
        if field:
            scenario[target][0][field] = value
        else:
            scenario[key] = value
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    return path


@pytest.mark.parametrize("changes, fixture, message", [
    ({"people__busy_ics": "missing.ics"}, None, "missing.ics does not exist"),
    ({"people__busy_ics": "bad.ics"}, "not_a_calendar.ics", "bad.ics: not a valid iCalendar file"),
    ({"people__busy_ics": "bad.ics"}, "unknown_tzid.ics", "Mars/Olympus_Mons"),
    ({"people__tz": "Europe/Atlantis"}, None, "unknown time zone 'Europe/Atlantis'"),
    ({"pairs__mentee": "ghost"}, None, "pair p: mentee 'ghost' is not one of the people"),
    ({"pairs__cadence": "fortnightly"}, None, "cadence 'fortnightly' is not one of weekly, biweekly, monthly"),
    ({"pairs__count": 0}, None, "count must be"),
    ({"horizon": {"start": "March", "weeks": 4}}, None, "horizon.start 'March' is not a date"),
])
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, changes, fixture, message):
    if fixture:
        shutil.copy(FIXTURES / fixture, tmp_path / "bad.ics")
    code, out, err = run_plan(write_scenario(tmp_path, **changes))
    assert code == 2 and out == ""
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_scenario_and_bad_json(tmp_path):
    code, _, err = run_plan(tmp_path / "nope.json")
    assert code == 2 and "does not exist" in err
    (tmp_path / "broken.json").write_text("{not json")
    code, _, err = run_plan(tmp_path / "broken.json")
    assert code == 2 and "is not valid JSON" in err


def test_subprocess_bad_input_has_no_traceback(tmp_path):
    path = write_scenario(tmp_path, pairs__cadence="daily")
    result = subprocess.run([sys.executable, "-m", "tandem.plan_cmd", str(path)], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert "Traceback" not in result.stderr and "cadence 'daily'" in result.stderr


def test_small_scenario_plans_across_the_0545_offset(tmp_path):
    code, out, err = run_plan(write_scenario(tmp_path))
    assert code == 0, err
    entry = json.loads(out)["pairs"][0]
    assert entry["status"] == "booked"
    assert entry["series"]["tz"] == "Europe/Berlin" and entry["series"]["rrule"].endswith("BYDAY=TU")
    assert all(o["conflict"] is False for o in entry["occurrences"])


def test_progress_goes_to_stderr_only_for_large_cohorts(tmp_path):
    people = [{"id": "m", "tz": "UTC", "working_hours": {"mon": [["09:00", "17:00"]]}}]
    people += [{"id": f"e{i}", "tz": "UTC", "working_hours": {"mon": [["09:00", "17:00"]]}} for i in range(plan_cmd.PROGRESS_MIN_PAIRS)]
    pairs = [{"id": f"p{i}", "mentor": "m", "mentee": f"e{i}", "duration_min": 30, "cadence": "weekly", "count": 2}
             for i in range(plan_cmd.PROGRESS_MIN_PAIRS)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"horizon": {"start": "2027-03-01", "weeks": 2}, "people": people, "pairs": pairs}))
    code, out, err = run_plan(path)
    assert code == 0 and "planning pairs" in err
    assert len(json.loads(out)["pairs"]) == plan_cmd.PROGRESS_MIN_PAIRS
    code, out, err = run_plan(write_scenario(tmp_path))
    assert code == 0 and err == ""


def test_out_says_what_was_planned_and_where_on_stderr(tmp_path):
    target = tmp_path / "plan.json"
    code, out, err = run_plan(write_scenario(tmp_path), out=target)
    assert code == 0 and out == ""
    plan = json.loads(target.read_text())
    assert err == f"{plan_cmd.summary_line(plan['summary'])}; plan written to {target}\n"
    assert err.startswith("tandem plan: 1 pairs booked, 0 unschedulable")


def test_out_to_an_unwritable_place_says_so_and_no_summary(tmp_path):
    code, out, err = run_plan(write_scenario(tmp_path), out=tmp_path / "missing-dir" / "plan.json")
    assert code == plan_cmd.EXIT_BAD_INPUT and out == ""
    assert err.startswith("tandem plan: cannot write") and "booked" not in err
