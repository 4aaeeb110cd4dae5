"""What the planner decides: series rules, their occurrences, and a plan per pair."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import NamedTuple

from scheduler.core.cadence import Cadence, rrule_text
from scheduler.errors import InvalidInput


@dataclass(frozen=True)
class PairRequest:
    """A pair to plan. ``tz`` overrides the series zone (the mentor's zone by default)."""

    pair_id: str
    mentor_id: str
    mentee_id: str
    duration_min: int
    cadence: Cadence
    count: int
    tz: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.duration_min, int) or not 0 < self.duration_min <= 12 * 60:
            raise InvalidInput(f"pair {self.pair_id}: duration_min must be a whole number of minutes between 1 and 720")
        if not isinstance(self.count, int) or not 0 < self.count <= 520:
            raise InvalidInput(f"pair {self.pair_id}: count must be a whole number of sessions between 1 and 520")
        if self.mentor_id == self.mentee_id:
            raise InvalidInput(f"pair {self.pair_id}: mentor and mentee are the same person ({self.mentor_id})")


@dataclass(frozen=True)
class Horizon:
    """Planning starts on local date ``start`` (in every zone) and spans at least ``weeks``."""

    start: date
    weeks: int

    def __post_init__(self) -> None:
        if not isinstance(self.weeks, int) or not 0 < self.weeks <= 520:
            raise InvalidInput("horizon.weeks must be a whole number of weeks between 1 and 520")


@dataclass(frozen=True)
class SeriesRule:
    """A wall-clock recurrence in zone ``tz`` starting at local ``dtstart_local`` (naive)."""

    cadence: Cadence
    count: int
    tz: str
    dtstart_local: datetime
    weekday: int
    ordinal: int | None

    @property
    def rrule(self) -> str:
        return rrule_text(self.cadence, self.count, self.weekday, self.ordinal)


class PlannedOccurrence(NamedTuple):
    """One session of a series, in UTC. ``conflict=False`` promises both people are inside their
    working hours and free for the whole session; ``original_start`` is set when it was moved.

    A named tuple rather than a dataclass: a cohort creates hundreds of thousands of them.
    """

    start: datetime
    end: datetime
    conflict: bool
    original_start: datetime | None = None

    @property
    def moved(self) -> bool:
        return self.original_start is not None


class Sharing(Enum):
    """How a mentor's weekly cap is shared when the mentor's pairs want more sessions than it holds.

    ``fair`` (default): the mentor's weeks rotate among the mentees so each gets as close to the
    same share of its cadence as free time allows (a rotation is the weekly rule with skipped
    occurrences, i.e. EXDATEs). ``first_come``: pairs planned first keep every session, later
    ones get what is left (the planner's behaviour before issue 12).
    """

    FAIR = "fair"
    FIRST_COME = "first_come"

    @classmethod
    def parse(cls, text: object) -> "Sharing":
        try:
            return cls(text)
        except ValueError:
            raise InvalidInput(f"sharing {text!r} is not one of fair, first_come") from None


class PairStatus(Enum):
    BOOKED = "booked"
    UNSCHEDULABLE = "unschedulable"


@dataclass(frozen=True)
class PairPlan:
    """The decision for one pair: a series and its occurrences, or a reason it cannot be planned.

    ``free_occurrences``: how many occurrences of the best rule were free as planned (also kept
    for a pair refused because too few sessions could be held)."""

    pair_id: str
    status: PairStatus
    series: SeriesRule | None = None
    occurrences: tuple[PlannedOccurrence, ...] = ()
    reason: str | None = None
    free_occurrences: int = 0

    @classmethod
    def unschedulable(cls, pair_id: str, reason: str, free_occurrences: int = 0) -> "PairPlan":
        return cls(pair_id, PairStatus.UNSCHEDULABLE, reason=reason, free_occurrences=free_occurrences)
