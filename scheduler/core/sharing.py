"""Sharing a mentor's weekly cap fairly among the mentor's pairs (issue 12, ``Sharing.FAIR``).

The cohort first places each pair's series as if the cap did not bind for it (still without
overlaps and with the buffer), so a full mentor's weeks may hold more sessions than the cap.
:func:`fair_drops` then chooses which sessions of the over-full weeks are skipped:

* exactly ``held - cap`` sessions of every over-full week, which keeps the most sessions the
  placed series allow (a skipped session only frees time, so nothing new can overlap);
* greedily, week by week in time order, from the pair with the highest projected share of its
  cadence (sessions kept / sessions asked for), the lower index on a tie: five weekly pairs
  under a cap of four take turns, each skipping one week in five;
* then local improvement: a skipped session of a pair is swapped with a kept session of
  another pair in the same week whenever that raises the lower of the two shares (the sorted
  shares improve lexicographically, so this ends).

The skipped sessions stay in the series as ``conflict`` occurrences: the calendar series is
the same weekly rule with EXDATEs, never a string of single events.

Why no constraint solver: see docs/planning.md, "Sharing a full mentor" (measured with
``python -m bench.plan``).

:func:`equal_access` is the measure ``tandem plan`` reports (docs/contracts.md section 1).
"""
from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

if TYPE_CHECKING:
    from scheduler.core.plan_model import PairPlan, PairRequest


def fair_drops(held_weeks: Sequence[Sequence[int]], counts: Sequence[int], cap: int,
               week_caps: Mapping[int, int] | None = None) -> list[set[int]]:
    """Per pair, the positions (into ``held_weeks[i]``) of the sessions to skip.

    ``held_weeks[i]``: the mentor-zone week of each session pair ``i`` would hold;
    ``counts[i]``: sessions pair ``i`` asked for (its cadence over the horizon);
    ``week_caps``: room left in weeks that already hold other sessions (``cap`` elsewhere).

    >>> fair_drops([[0, 1, 2]] * 3, [3, 3, 3], 2)  # three weekly pairs, cap 2: one skip each
    [{0}, {1}, {2}]
    """
    week_caps = week_caps or {}
    by_week: dict[int, list[tuple[int, int]]] = {}
    for pair, weeks in enumerate(held_weeks):
        for position, week in enumerate(weeks):
            by_week.setdefault(week, []).append((pair, position))
    kept = [len(weeks) for weeks in held_weeks]
    dropped: list[set[int]] = [set() for _ in held_weeks]

    def share(pair: int, change: int = 0) -> Fraction:
        return Fraction(kept[pair] + change, counts[pair])

    for week in sorted(by_week):
        entries = by_week[week]
        for _ in range(len(entries) - week_caps.get(week, cap)):
            pair, position = max((e for e in entries if e[1] not in dropped[e[0]]),
                                 key=lambda e: (share(e[0]), -e[0]))
            dropped[pair].add(position)
            kept[pair] -= 1

    # Local improvement: swap a skipped session of a less-served pair with a kept session of a
    # better-served pair in the same week when the lower share rises.
    improved = True
    while improved:
        improved = False
        for pair in sorted(range(len(held_weeks)), key=lambda p: (share(p), p)):
            for position in sorted(dropped[pair]):
                week = held_weeks[pair][position]
                donors = [(other, other_position) for other, other_position in by_week[week]
                          if other != pair and other_position not in dropped[other]
                          and share(other, -1) > share(pair)]
                if not donors:
                    continue
                other, other_position = max(donors, key=lambda e: (share(e[0]), -e[0]))
                dropped[pair].discard(position)
                dropped[other].add(other_position)
                kept[pair] += 1
                kept[other] -= 1
                improved = True
                break
            if improved:
                break
    return dropped


def equal_access(shares_by_mentor: Iterable[Sequence[float]]) -> float:
    """Averaged over mentors with two or more mentees, the least-served mentee's share of held
    sessions (held / count) divided by the best-served one's.

    A mentor none of whose mentees has a session counts as 1.0 (nobody is favoured); with no
    mentor of two or more mentees the measure is 1.0.

    >>> equal_access([[1.0, 0.5], [0.8, 0.8, 0.8], [1.0]])
    0.75
    """
    ratios = []
    for shares in shares_by_mentor:
        if len(shares) < 2:
            continue
        best = max(shares)
        ratios.append(min(shares) / best if best > 0 else 1.0)
    return sum(ratios) / len(ratios) if ratios else 1.0


def held_shares(requests: Sequence["PairRequest"], plans: Sequence["PairPlan"]) -> dict[str, list[float]]:
    """Per mentor, each pair's share of held sessions (held / count; 0 for an unschedulable pair)."""
    by_pair = {plan.pair_id: plan for plan in plans}
    shares: dict[str, list[float]] = {}
    for request in requests:
        plan = by_pair.get(request.pair_id)
        held = sum(not o.conflict for o in plan.occurrences) if plan is not None else 0
        shares.setdefault(request.mentor_id, []).append(held / request.count)
    return shares
