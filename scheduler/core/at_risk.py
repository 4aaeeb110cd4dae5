"""At-risk pairs: the rules that tell a coordinator which pairs may need a hand, each with the
reason shown beside the pair (pure; ``now`` is a parameter).

A pair is judged from a few facts the storage computes in aggregate (:class:`PairFacts`): its
state and since when it is in it, the verdicts of its past sessions summed up (misses in a row,
unanswered follow-ups in a row, the last held session, the first session), and which of the two
people's calendar connections are broken. The rules, each on its own:

- **two misses in a row** — the latest past sessions that count (held, missed, moved elsewhere,
  disputed; cancelled and not-yet-known sessions are passed over) end with two "missed";
- **no held session in 30 days** — the pair has had sessions for 30 days (its first one started
  30 or more days ago) and none was held in the last 30 days;
- **a broken calendar connection** — the mentor's or the mentee's connection is not ``ok``;
- **follow-ups unanswered twice** — the two latest past sessions whose answer window is over
  each carry a ``no_answer`` signal (someone did not answer), with no answered session after them;
- **unschedulable for more than 3 days** — no common time was found, and that was more than
  3 days ago (``Pair.updated_at`` is when the pair entered the state).

Paused and ended pairs are never at risk: they are not expected to meet.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MISSES_IN_A_ROW = 2
NO_HELD_FOR = timedelta(days=30)
UNANSWERED_IN_A_ROW = 2
UNSCHEDULABLE_FOR = timedelta(days=3)
QUIET_STATES = frozenset({"paused", "ended"})  # not expected to meet: never at risk

# Rule keys, in the order reasons are listed; the labels name each rule in filters and docs.
RULES = ("misses", "no_held", "connection", "unanswered", "unschedulable")
RULE_LABELS = {"misses": "Two misses in a row", "no_held": "No held session in 30 days",
               "connection": "Broken calendar connection", "unanswered": "Follow-ups unanswered twice",
               "unschedulable": "Unschedulable for more than 3 days"}


@dataclass(frozen=True)
class BrokenConnection:
    """One person's connection that is not ``ok``: who (``mentor``/``mentee`` and a name), which
    provider (a label for people), and its status."""

    role: str
    name: str
    provider: str
    status: str = "reconnect"


@dataclass(frozen=True)
class PairFacts:
    """What the rules need of one pair. ``misses_in_a_row``: consecutive ``missed`` verdicts at the
    end of its past sessions that count; ``unanswered_in_a_row``: consecutive past sessions with a
    ``no_answer`` signal since the last answered one; ``first_session``: the start of its first
    session (any); ``last_held``: the start of its latest held session; ``state_since``: when it
    entered ``status`` (``Pair.updated_at``)."""

    status: str
    state_since: datetime | None = None
    misses_in_a_row: int = 0
    unanswered_in_a_row: int = 0
    first_session: datetime | None = None
    last_held: datetime | None = None
    broken: tuple[BrokenConnection, ...] = ()


@dataclass(frozen=True)
class Reason:
    """Why a pair is at risk: the rule's key and a sentence for coordinators."""

    rule: str
    text: str


def _days(delta: timedelta) -> int:
    return int(delta / timedelta(days=1))


def reasons(facts: PairFacts, now: datetime) -> tuple[Reason, ...]:
    """Every reason the pair is at risk at ``now``, in :data:`RULES` order (empty: not at risk)."""
    if facts.status in QUIET_STATES:
        return ()
    found: list[Reason] = []
    if facts.misses_in_a_row >= MISSES_IN_A_ROW:
        found.append(Reason("misses", f"Missed the last {facts.misses_in_a_row} sessions in a row."))
    if facts.first_session is not None and facts.first_session <= now - NO_HELD_FOR \
            and (facts.last_held is None or facts.last_held < now - NO_HELD_FOR):
        if facts.last_held is None:
            text = f"No session held since the first one, {_days(now - facts.first_session)} days ago."
        else:
            text = f"No session held in the last {_days(now - facts.last_held)} days."
        found.append(Reason("no_held", text))
    if facts.broken:
        who = "; ".join(f"{b.name} ({b.role}) must reconnect their {b.provider} calendar" for b in facts.broken)
        found.append(Reason("connection", who + "."))
    if facts.unanswered_in_a_row >= UNANSWERED_IN_A_ROW:
        found.append(Reason("unanswered", f"The follow-ups of the last {facts.unanswered_in_a_row} sessions "
                                          "went unanswered."))
    if facts.status == "unschedulable" and facts.state_since is not None \
            and now - facts.state_since > UNSCHEDULABLE_FOR:
        found.append(Reason("unschedulable", f"No common time found for {_days(now - facts.state_since)} days."))
    return tuple(found)


def connection_health(facts: PairFacts) -> str:
    """``ok`` when both people's connections are healthy, else ``broken``."""
    return "broken" if facts.broken else "ok"
