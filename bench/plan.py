"""Planning benchmark: ``python -m bench.plan [--quick] [--growth] [--seed N]``.

Cases: generated cohorts of 1,000 and 10,000 pairs planned from busy intervals, and 200 pairs
planned from generated .ics files through ``tandem plan``'s code path (parsing included).
Then the mentor-heavy cohorts (5 mentees a mentor, cap 4; mixed cadences and weekly only),
each planned with ``sharing="fair"`` and ``"first_come"`` in the same run: held sessions,
booked pairs, equal access (docs/contracts.md section 1) and the least-served mentee's share.
With ``--growth``, also the growth rows: 1,000, 10,000 and 100,000 pairs planned alone (no
quality comparison), CPU microseconds per pair against the 1,000-pair row of the same run (opt-in:
generating 100,000 people with their 10 million busy intervals takes 1-2 minutes and ~3 GB).

For each case it prints wall and CPU time, microseconds per pair, and the mutual free
occurrences found, compared with (a) the brute-force fixed-slot optimum on a sample of pairs
and (b) the naive "first-week-only" choice on every pair, both computed in this process on the
pairs' own calendars (no cohort effects, so the comparison is fair). Speed is reported, never
asserted.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.plan_baselines import brute_force_best, first_week_only_free
from bench.plan_data import HORIZON, generate_cohort, scenario_json, write_ics
from bench.table import print_rows
from scheduler.core.cohort import CohortPlanner, grid_for, plan_cohort
from scheduler.core.free_time import _working_slots, person_slots
from scheduler.core.plan_model import PairStatus
from scheduler.core.recurring_slot import CandidateSpace, find_recurring_slot
from scheduler.core.sharing import equal_access, held_shares
from scheduler.core.timegrid import zone_segments
from tandem.plan_cmd import build_plan, cyclic_gc_paused, load_scenario

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
TARGET_PAIRS, TARGET_SECONDS = 10_000, 0.7  # issue 12
GROWTH_SIZES = (1_000, 10_000, 100_000)
GROWTH_LIMIT_SECONDS = 10.0  # issue 12: at most 10 s for 100,000 pairs


def _cold_caches() -> None:
    """Forget what an earlier repeat computed (working hours, zone segments), so every repeat
    plans like a fresh ``tandem plan`` process."""
    _working_slots.cache_clear()
    zone_segments.cache_clear()


@dataclass
class CaseResult:
    name: str
    pairs: int
    wall: float
    cpu: float
    bitsets: float  # wall seconds spent turning people's hours and busy time into bitsets
    booked: int
    cohort_free: int
    sample_size: int
    sample_planner: int
    sample_brute: int
    planner_free: int
    naive_free: int


def _single_pair_scores(people, requests):
    """Per pair, free occurrences of the planner's rule and of the naive rule (own calendars only)."""
    grid = grid_for(HORIZON, requests)
    planner = CohortPlanner(people, HORIZON, grid, NOW)
    planner_scores, naive_scores = [], []
    spaces: dict = {}
    for request in requests:
        prepared = planner.prepare(request)
        space = spaces.setdefault((request.cadence, request.count), CandidateSpace(grid, request.cadence, request.count))
        anchor = grid.segments(request.tz or people[request.mentor_id].tz)
        choice = find_recurring_slot(space, anchor, prepared.mutual) if prepared.mutual else None
        planner_scores.append(choice.free_count if choice else 0)
        naive_scores.append(first_week_only_free(space, anchor.utc_to_local(prepared.mutual)))
    return planner_scores, naive_scores


def _compare(people, requests, sample_size: int, seed: int):
    planner_scores, naive_scores = _single_pair_scores(people, requests)
    sample = random.Random(seed).sample(range(len(requests)), min(sample_size, len(requests)))
    brute = sum(brute_force_best(people[requests[i].mentor_id], people[requests[i].mentee_id], requests[i], HORIZON.start)
                for i in sample)
    return len(sample), sum(planner_scores[i] for i in sample), brute, sum(planner_scores), sum(naive_scores)


def _bitset_seconds(people, requests) -> float:
    """Time the per-person part alone (it is also inside the planning time above)."""
    grid = grid_for(HORIZON, requests)
    best = float("inf")
    for _ in range(2):
        _cold_caches()
        started = time.perf_counter()
        with cyclic_gc_paused():
            for person in people.values():
                person_slots(person, grid)
        best = min(best, time.perf_counter() - started)
    return best


def run_interval_case(pairs: int, seed: int, sample_size: int, repeats: int = 2) -> CaseResult:
    """Best of ``repeats`` runs (like timeit: the minimum is the least disturbed by other load)."""
    people, _, requests = generate_cohort(pairs, seed)
    wall = cpu = float("inf")
    for _ in range(repeats):
        _cold_caches()
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        with cyclic_gc_paused():  # as `tandem plan` does
            plans = plan_cohort(people, requests, HORIZON, NOW, mentor_max_sessions_per_week=4)
        wall = min(wall, time.perf_counter() - started_wall)
        cpu = min(cpu, time.process_time() - started_cpu)
    booked = [p for p in plans if p.status is PairStatus.BOOKED]
    return CaseResult(f"{pairs:,} pairs, busy intervals", pairs, wall, cpu, _bitset_seconds(people, requests), len(booked),
                      sum(p.free_occurrences for p in booked), *_compare(people, requests, sample_size, seed))


def run_ics_case(pairs: int, seed: int, sample_size: int) -> CaseResult:
    people, meetings, requests = generate_cohort(pairs, seed)
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as folder:
        base = Path(folder)
        names = {}
        for index, (person_id, person) in enumerate(people.items()):
            names[person_id] = f"{person_id}.ics"
            write_ics(base / names[person_id], person_id, person.tz, meetings[person_id], windows_names=index % 3 == 0)
        scenario_path = base / "scenario.json"
        scenario_path.write_text(json.dumps(scenario_json(people, requests, names, cap=4)), encoding="utf-8")
        wall, cpu = time.perf_counter(), time.process_time()
        plan = build_plan(scenario_path, NOW)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        _, parsed_people = load_scenario(scenario_path)  # compare on the calendars as parsed from the files
    booked = [p for p in plan["pairs"] if p["status"] == "booked"]
    cohort_free = sum(1 for p in booked for o in p["occurrences"] if not o["conflict"] and not o.get("moved"))
    return CaseResult(f"{pairs:,} pairs, .ics files (parse + plan)", pairs, wall, cpu,
                      _bitset_seconds(parsed_people, requests), len(booked), cohort_free,
                      *_compare(parsed_people, requests, sample_size, seed))


@dataclass
class GrowthResult:
    pairs: int
    wall: float
    cpu: float
    booked: int
    intervals: int  # busy intervals of all people


def run_growth_case(pairs: int, seed: int, repeats: int) -> GrowthResult:
    """Plan alone (best of ``repeats``, cold caches each time), for the growth rows."""
    with cyclic_gc_paused():  # generating 100,000 people allocates ~20 million objects
        people, _, requests = generate_cohort(pairs, seed)
    wall = cpu = float("inf")
    for _ in range(repeats):
        _cold_caches()
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        with cyclic_gc_paused():
            plans = plan_cohort(people, requests, HORIZON, NOW, mentor_max_sessions_per_week=4)
        wall = min(wall, time.perf_counter() - started_wall)
        cpu = min(cpu, time.process_time() - started_cpu)
    return GrowthResult(pairs, wall, cpu, sum(p.status is PairStatus.BOOKED for p in plans),
                        sum(len(p.busy) for p in people.values()))


def print_growth_table(results: list[GrowthResult], out=sys.stdout) -> None:
    header = ("growth (busy intervals)", "wall s (best)", "cpu s", "wall us/pair", "cpu us/pair",
              "cpu us/pair vs 1,000 pairs", "booked", "busy intervals")
    base = results[0]
    rows = [(f"{r.pairs:,} pairs", f"{r.wall:.2f}", f"{r.cpu:.2f}", f"{r.wall / r.pairs * 1e6:,.0f}",
             f"{r.cpu / r.pairs * 1e6:,.0f}", f"{(r.cpu / r.pairs) / (base.cpu / base.pairs):.2f}",
             f"{r.booked:,}/{r.pairs:,}", f"{r.intervals:,}")
            for r in results]
    print_rows(header, rows, out)


@dataclass
class SharingResult:
    name: str
    sharing: str
    pairs: int
    wall: float
    booked: int
    held: int
    equal_access: float
    equal_access_plannable: float  # leaving out pairs neither policy can plan for reasons other than the cap
    mentors_below_08: int  # mentors whose least-served mentee gets < 0.8 of the best-served one's share
    mentors: int


def run_sharing_case(pairs: int, seed: int, weekly_only: bool) -> list[SharingResult]:
    """The same mentor-heavy cohort (5 mentees a mentor, cap 4) planned with each sharing policy."""
    people, _, requests = generate_cohort(pairs, seed, mentees_per_mentor=5, weekly_only=weekly_only)
    name = f"{pairs:,} pairs (seed {seed}), 5 a mentor, cap 4, {'weekly' if weekly_only else 'mixed cadences'}"
    runs = {}
    for sharing in ("fair", "first_come"):
        started = time.perf_counter()
        with cyclic_gc_paused():
            plans = plan_cohort(people, requests, HORIZON, NOW, mentor_max_sessions_per_week=4, sharing=sharing)
        runs[sharing] = (plans, time.perf_counter() - started)
    # pairs no policy can plan for reasons of their own (no shared time, busy calendars)
    not_cap = [{p.pair_id for p in plans if p.reason and "weekly cap" not in p.reason} for plans, _ in runs.values()]
    unplannable = set.intersection(*not_cap)
    plannable = [r for r in requests if r.pair_id not in unplannable]
    results = []
    for sharing, (plans, wall) in runs.items():
        shares = held_shares(plannable, plans)
        ratios = [min(s) / max(s) for s in shares.values() if len(s) > 1 and max(s) > 0]
        results.append(SharingResult(
            name, sharing, pairs, wall, sum(p.status is PairStatus.BOOKED for p in plans),
            sum(not o.conflict for p in plans for o in p.occurrences),
            equal_access(held_shares(requests, plans).values()), equal_access(shares.values()),
            sum(r < 0.8 for r in ratios), len(ratios)))
    return results


def print_sharing_table(results: list[SharingResult], out=sys.stdout) -> None:
    header = ("mentor-heavy case", "sharing", "wall s", "booked", "held sessions", "held vs first_come",
              "equal access (all pairs)", "equal access (plannable pairs)", "mentors below 0.8 (plannable)")
    rows = []
    for r in results:
        base = next(b for b in results if b.name == r.name and b.sharing == "first_come")
        rows.append((r.name, r.sharing, f"{r.wall:.2f}", f"{r.booked:,}/{r.pairs:,}", f"{r.held:,}",
                     _ratio(r.held, base.held), f"{r.equal_access:.3f}", f"{r.equal_access_plannable:.3f}",
                     f"{r.mentors_below_08}/{r.mentors}"))
    print_rows(header, rows, out)


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "n/a"


def print_table(results: list[CaseResult], out=sys.stdout) -> None:
    header = ("case", "wall s (best)", "cpu s", "of which bitsets s", "us/pair", "booked", "free occ (cohort)",
              "vs brute-force optimum (sample)", "vs first-week-only (all pairs)")
    rows = []
    for r in results:
        rows.append((
            r.name, f"{r.wall:.2f}", f"{r.cpu:.2f}", f"{r.bitsets:.2f}", f"{r.wall / r.pairs * 1e6:,.0f}", f"{r.booked:,}/{r.pairs:,}",
            f"{r.cohort_free:,}",
            f"{r.sample_planner}/{r.sample_brute} on {r.sample_size} pairs = {_ratio(r.sample_planner, r.sample_brute)}",
            f"{r.planner_free:,}/{r.naive_free:,} = {_ratio(r.planner_free, r.naive_free)}",
        ))
    print_rows(header, rows, out)


def _machine_note() -> str:
    """Wall time means little on a shared machine: say how busy it was."""
    try:
        load = Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "machine load: unknown"
    import os
    return f"machine load average {load} on {os.cpu_count()} CPUs (wall time is inflated when load exceeds the CPUs; CPU time is the steadier number)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller cohorts (300, 2,000 and 50 pairs)")
    parser.add_argument("--growth", action="store_true",
                        help="also plan 1,000, 10,000 and 100,000 pairs alone (several minutes, ~3 GB of memory)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sizes = (300, 2_000, 50) if args.quick else (1_000, 10_000, 200)
    results = []
    for pairs in sizes[:2]:
        print(f"planning {pairs:,} pairs from busy intervals ...", file=sys.stderr)
        results.append(run_interval_case(pairs, args.seed, sample_size=20, repeats=3 if pairs < 5_000 else 2))
    print(f"planning {sizes[2]:,} pairs from .ics files ...", file=sys.stderr)
    results.append(run_ics_case(sizes[2], args.seed, sample_size=10))
    sys.stderr.flush()
    print_table(results)
    big = next((r for r in results if r.pairs >= TARGET_PAIRS), None)
    if big is None:
        print(f"\ntarget ({TARGET_PAIRS:,} pairs <= {TARGET_SECONDS} s): not measured in --quick; "
              f"extrapolated {results[1].wall / results[1].pairs * TARGET_PAIRS:.2f} s")
    else:
        verdict = "MET" if big.wall <= TARGET_SECONDS else "NOT met"
        print(f"\ntarget ({TARGET_PAIRS:,} pairs <= {TARGET_SECONDS} s wall): {verdict} ({big.wall:.2f} s wall, {big.cpu:.2f} s CPU)")
    print(_machine_note())
    optimal = all(r.sample_planner == r.sample_brute for r in results)
    print(f"quality: planner {'equals' if optimal else 'DIFFERS FROM'} the brute-force optimum on every sample")
    sharing_pairs = 300 if args.quick else 1_000
    print(f"planning {sharing_pairs:,} mentor-heavy pairs, fair and first_come ...", file=sys.stderr, flush=True)
    sharing = run_sharing_case(sharing_pairs, args.seed, weekly_only=False) + \
        run_sharing_case(sharing_pairs, args.seed, weekly_only=True)
    print()
    print_sharing_table(sharing)
    if args.growth:
        growth = []
        for pairs in GROWTH_SIZES:
            print(f"growth: generating and planning {pairs:,} pairs ...", file=sys.stderr, flush=True)
            growth.append(run_growth_case(pairs, args.seed, repeats=3 if pairs <= 10_000 else 1))
        print()
        print_growth_table(growth)
        last = growth[-1]
        verdict = "MET" if last.wall <= GROWTH_LIMIT_SECONDS else "NOT met"
        print(f"\ngrowth target ({last.pairs:,} pairs <= {GROWTH_LIMIT_SECONDS:.0f} s wall): {verdict} "
              f"({last.wall:.2f} s wall, {last.cpu:.2f} s CPU)")
        print(_machine_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
