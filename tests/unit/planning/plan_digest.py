"""Generated cohorts and a digest of their plans, to check that speed work changes no plan.

The cohorts vary what the planner reacts to: caps that bind or not, both sharing policies,
buffers, a ``now`` inside the horizon, time off, preferences (hard limits and preferred
windows), pair zones, busy times off the 15-minute grid, every cadence.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from bench.plan_data import HORIZON, generate_cohort
from scheduler.core.availability import LocalRange, Preferences
from scheduler.core.cohort import plan_cohort
from scheduler.core.intervals import Interval

UTC = timezone.utc
BEFORE = datetime(2026, 11, 1, tzinfo=UTC)
INSIDE = datetime(2027, 3, 10, 13, 7, tzinfo=UTC)  # a Wednesday afternoon in the horizon's second week

# (pairs, seed, mentees a mentor, weekly only, cap, buffer_min, sharing, now)
CASES = (
    (240, 1, 3, False, 4, 0, "fair", BEFORE),
    (240, 2, 5, True, 4, 10, "fair", BEFORE),
    (240, 2, 5, True, 4, 10, "first_come", BEFORE),
    (200, 3, 4, False, 2, 15, "fair", INSIDE),
    (200, 4, 6, False, 1, 5, "first_come", INSIDE),
    (200, 5, 2, False, None, 0, "fair", BEFORE),
)


def varied_cohort(pairs: int, seed: int, mentees_per_mentor: int, weekly_only: bool):
    """A benchmark cohort with extra variety (deterministic for a seed)."""
    people, _, requests = generate_cohort(pairs, seed, mentees_per_mentor=mentees_per_mentor, weekly_only=weekly_only)
    rng = random.Random(seed * 7919)
    for person_id, person in list(people.items()):
        roll = rng.random()
        if roll < 0.1:
            first = HORIZON.start + timedelta(days=rng.randrange(0, 70))
            person = replace(person, time_off=((first, first + timedelta(days=rng.randrange(0, 6))),))
        elif roll < 0.2:
            person = replace(person, preferences=Preferences(preferred=(LocalRange(10 * 60, 12 * 60 + 30),)))
        elif roll < 0.25:
            person = replace(person, preferences=Preferences(earliest_min=9 * 60 + 30, avoid_days=frozenset({4})))
        if rng.random() < 0.2:  # busy times off the grid, by a few minutes and seconds
            person = replace(person, busy=tuple(
                Interval(iv.start + timedelta(minutes=7, seconds=11), iv.end + timedelta(minutes=3, seconds=5))
                for iv in person.busy))
        people[person_id] = person
    requests = [replace(r, tz="Asia/Kolkata") if rng.random() < 0.05 else r for r in requests]
    return people, requests


def plan_text(plans) -> str:
    """Every decision of every plan, one line each (start, end, conflict, original start)."""
    lines = []
    for plan in plans:
        rule = plan.series
        rule_text = "" if rule is None else f"{rule.cadence.value} {rule.count} {rule.tz} {rule.dtstart_local.isoformat()} {rule.rrule}"
        lines.append(f"{plan.pair_id} {plan.status.value} {plan.free_occurrences} {rule_text} {plan.reason or ''}")
        for o in plan.occurrences:
            lines.append(f"  {o.start.isoformat()} {o.end.isoformat()} {int(o.conflict)} "
                         f"{o.original_start.isoformat() if o.original_start else ''}")
    return "\n".join(lines)


def case_digest(case) -> str:
    pairs, seed, per_mentor, weekly_only, cap, buffer_min, sharing, now = case
    people, requests = varied_cohort(pairs, seed, per_mentor, weekly_only)
    plans = plan_cohort(people, requests, HORIZON, now, mentor_max_sessions_per_week=cap, buffer_min=buffer_min,
                        sharing=sharing)
    return hashlib.sha256(plan_text(plans).encode()).hexdigest()


if __name__ == "__main__":  # prints the digests to paste into test_plans_unchanged.py
    for case in CASES:
        print(f'    "{case_digest(case)}",')
