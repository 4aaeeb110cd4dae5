"""``tandem plan SCENARIO.json [--out PLAN.json]``: preview a cohort's schedule from calendar exports.

Input and output follow docs/contracts.md section 1. The plan goes to stdout (pure JSON) unless
``--out`` is given; progress goes to stderr. With ``--out`` the summary line (and where the plan
was written) always goes to stderr once the file is written; without it, only on a terminal or
for a large cohort, so a small piped run keeps stderr for errors. Bad input ends with one line
on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import gc
import json
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TextIO

from scheduler.core.availability import PersonAvailability
from scheduler.core.cohort import grid_for, plan_cohort
from scheduler.core.ics_busy import busy_from_ics
from scheduler.core.plan_model import PairPlan, PairStatus
from scheduler.core.scenario import Scenario, parse_scenario
from scheduler.core.sharing import equal_access, held_shares
from scheduler.errors import TandemError

EXIT_OK = 0
EXIT_BAD_INPUT = 2
PROGRESS_MIN_PAIRS = 200  # show progress on a non-terminal stderr only for cohorts this large


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``plan`` on the main CLI's subparsers."""
    parser = subparsers.add_parser(
        "plan", help="plan a cohort from SCENARIO.json and calendar exports",
        description="Plan every pair of SCENARIO.json (the formats are in docs/contracts.md, section 1) and print PLAN.json.")
    parser.add_argument("scenario", help="path of SCENARIO.json (busy_ics paths are relative to it)")
    parser.add_argument("--out", help="write PLAN.json here instead of stdout")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace, *, now: datetime | None = None, stdout: TextIO | None = None,
        stderr: TextIO | None = None) -> int:
    """Run the command; returns the exit code."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        plan = build_plan(Path(args.scenario), now or datetime.now(timezone.utc), _progress_reporter(stderr))
    except (TandemError, ValueError) as exc:
        print(f"tandem plan: {exc}", file=stderr)
        return EXIT_BAD_INPUT
    text = json.dumps(plan, indent=1) + "\n"
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"tandem plan: cannot write {args.out}: {exc.strerror or exc}", file=stderr)
            return EXIT_BAD_INPUT
        # stdout carries no plan here, so success is always said (on stderr, like all messages)
        print(f"{summary_line(plan['summary'])}; plan written to {args.out}", file=stderr)
        return EXIT_OK
    if _shows_progress(stderr, len(plan["pairs"])):  # like the progress bar: a terminal or a large cohort
        print(summary_line(plan["summary"]), file=stderr)
    stdout.write(text)
    return EXIT_OK


def build_plan(scenario_path: Path, now: datetime, progress: Callable[[int, int], None] | None = None) -> dict:
    """Read the scenario and its calendar files, plan the cohort, return PLAN.json as a dict."""
    scenario, people = load_scenario(scenario_path)
    with cyclic_gc_paused():
        plans = plan_cohort(
            people, scenario.pairs, scenario.horizon, now,
            mentor_max_sessions_per_week=scenario.mentor_max_sessions_per_week,
            buffer_min=scenario.buffer_min, progress=progress, sharing=scenario.sharing)
    return {"pairs": [plan_to_json(plan) for plan in plans], "summary": summary(scenario, plans)}


def summary(scenario: Scenario, plans: list[PairPlan]) -> dict:
    """PLAN.json's optional ``summary`` block (docs/contracts.md section 1)."""
    booked = [plan for plan in plans if plan.status is PairStatus.BOOKED]
    return {
        "booked": len(booked),
        "unschedulable": len(plans) - len(booked),
        "free_occurrences": sum(plan.free_occurrences for plan in booked),
        "equal_access": round(equal_access(held_shares(scenario.pairs, plans).values()), 3),
    }


def summary_line(block: dict) -> str:
    return (f"tandem plan: {block['booked']} pairs booked, {block['unschedulable']} unschedulable, "
            f"{block['free_occurrences']} mutual free occurrences, equal access {block['equal_access']:.2f}")


@contextmanager
def cyclic_gc_paused():
    """Pause CPython's cyclic garbage collector while planning a cohort.

    Planning creates hundreds of thousands of small objects while the input holds up to a
    million long-lived busy intervals; each automatic full collection would rescan all of them
    (about a fifth of the time for 10,000 pairs). Reference counting still frees memory, and
    nothing the planner builds forms cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_scenario(path: Path) -> tuple[Scenario, dict[str, PersonAvailability]]:
    """The parsed scenario, and its people with the busy time of their .ics files added."""
    scenario = _read_scenario(path)
    return scenario, _with_ics_busy(scenario, path.parent)


def _read_scenario(path: Path) -> Scenario:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TandemError(f"scenario file {path} does not exist") from None
    except OSError as exc:
        raise TandemError(f"cannot read scenario file {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TandemError(f"{path} is not valid JSON: {exc}") from None
    return parse_scenario(raw)


def _with_ics_busy(scenario: Scenario, base_dir: Path) -> dict[str, PersonAvailability]:
    """People with the busy time of their ``busy_ics`` file added (expanded over the plan's grid)."""
    grid = grid_for(scenario.horizon, scenario.pairs)
    window_start, window_end = grid.origin, grid.instant(grid.size)
    people = dict(scenario.people)
    for person_id, relative in scenario.busy_ics.items():
        path = base_dir / relative
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise TandemError(f"person {person_id}: busy_ics file {path} does not exist") from None
        except OSError as exc:
            raise TandemError(f"person {person_id}: cannot read busy_ics file {path}: {exc.strerror or exc}") from None
        person = people[person_id]
        busy = busy_from_ics(data, str(path), person.tz, window_start, window_end)
        people[person_id] = type(person)(person.person_id, person.tz, person.working_hours,
                                         person.busy + tuple(busy), person.time_off, person.preferences)
    return people


def plan_to_json(plan: PairPlan) -> dict:
    """One entry of PLAN.json ``pairs``."""
    if plan.status is PairStatus.UNSCHEDULABLE:
        return {"pair": plan.pair_id, "status": plan.status.value, "reason": plan.reason}
    series = plan.series
    occurrences = []
    for occurrence in plan.occurrences:
        item = {"start": _utc(occurrence.start), "end": _utc(occurrence.end), "conflict": occurrence.conflict}
        if occurrence.moved:
            item["moved"] = True
            item["original_start"] = _utc(occurrence.original_start)
        occurrences.append(item)
    return {
        "pair": plan.pair_id,
        "status": plan.status.value,
        "series": {"rrule": series.rrule, "dtstart_local": series.dtstart_local.isoformat(timespec="seconds"),
                   "tz": series.tz},
        "occurrences": occurrences,
    }


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shows_progress(stderr: TextIO, total: int) -> bool:
    """Progress and the summary line go to stderr on a terminal, or for cohorts of
    ``PROGRESS_MIN_PAIRS`` or more (a small piped run keeps stderr for errors only)."""
    return (hasattr(stderr, "isatty") and stderr.isatty()) or total >= PROGRESS_MIN_PAIRS


def _progress_reporter(stderr: TextIO) -> Callable[[int, int], None]:
    last_shown = [-1]

    def report(done: int, total: int) -> None:
        if not _shows_progress(stderr, total):
            return
        percent = done * 100 // total
        if percent == last_shown[0] and done != total:
            return
        last_shown[0] = percent
        filled = percent // 5
        stderr.write(f"\rplanning pairs [{'#' * filled}{'.' * (20 - filled)}] {done}/{total}")
        if done == total:
            stderr.write("\n")
        stderr.flush()

    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tandem")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["plan", *(sys.argv[1:] if argv is None else argv)])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
