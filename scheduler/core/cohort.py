"""Cohort planning: every pair of a program, sharing mentors, weekly caps and buffers.

Order: most constrained pairs first (fewest mutual free starts over the horizon), then input
order. Each pair gets the rule with the most mutual free occurrences given the sessions
already placed (see :mod:`scheduler.core.recurring_slot`); occurrences that are not free move
alone within their period or are flagged ``conflict``.

Sessions ("held" occurrences: free as planned, or moved) block the people's time for later
pairs, widened by the buffer on both sides, so a mentor's sessions never overlap and keep the
buffer. Occurrences flagged ``conflict`` are placeholders: they also block time (so later pairs
avoid them when they can) but do not count toward the weekly cap.

The weekly cap counts a mentor's held sessions per ISO week (Monday 00:00 to Sunday 24:00) in
the **mentor's** zone, by session start.

A pair is booked when at least half of its sessions can be held; otherwise it is unschedulable
with a reason.

Sharing a full mentor (``sharing``, issue 12): with ``first_come`` the cap is enforced pair by
pair, so the pairs planned first keep every session. With ``fair`` (the default), for a mentor
with more pairs than the cap, a pair that would lose sessions to the cap is placed as if the cap
did not bind for it, and at the end :func:`scheduler.core.sharing.fair_drops` rotates the
over-full weeks among all of that mentor's pairs. Mentors with no more pairs than the cap plan
exactly as with ``first_come``.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from datetime import datetime, timedelta
from typing import Callable, Mapping, Sequence

from scheduler.core import reasons
from scheduler.core.availability import PersonAvailability
from scheduler.core.bitsets import run_starts, spans_to_bits
from scheduler.core.cadence import Cadence, horizon_days_needed, period_days
from scheduler.core.free_time import PersonSlots, person_slots
from scheduler.core.plan_model import Horizon, PairPlan, PairRequest, PairStatus, PlannedOccurrence, Sharing
from scheduler.core.recurring_slot import CandidateSpace, SlotChoice, find_recurring_slot, move_occurrence
from scheduler.core.sharing import fair_drops
from scheduler.core.timegrid import SLOT_MINUTES, SLOTS_PER_DAY, SlotGrid, ZoneSegments, zone
from scheduler.errors import InvalidInput

ProgressCallback = Callable[[int, int], None]
MIN_HELD_SHARE = 0.5


def grid_for(horizon: Horizon, pairs: Sequence[PairRequest]) -> SlotGrid:
    """A grid covering the horizon and every candidate series of every pair."""
    days = horizon.weeks * 7
    for cadence, count in {(p.cadence, p.count) for p in pairs}:
        days = max(days, horizon_days_needed(cadence, horizon.start, count))
    return SlotGrid(horizon.start, days)


def slots_for(minutes: int) -> int:
    return -(-minutes // SLOT_MINUTES)


@dataclass
class _PersonState:
    """What the cohort has given a person so far."""

    occupied: int = 0
    pairs: list[str] = field(default_factory=list)
    week_counts: dict[int, int] = field(default_factory=dict)
    capped_starts: int = 0


@dataclass
class _Placement:
    """Occurrences of one pair as placed, before they are committed to the cohort."""

    week_counts: dict[int, int]
    occurrences: list[PlannedOccurrence] = field(default_factory=list)
    held: list[int] = field(default_factory=list)  # UTC start slots of sessions that will be held
    held_index: list[int] = field(default_factory=list)  # index in occurrences of each held session
    held_nominal: list[int] = field(default_factory=list)  # UTC rule slot of each held session
    placeholders: list[int] = field(default_factory=list)  # UTC start slots of conflict occurrences


@dataclass
class _Prepared:
    request: PairRequest
    mentor: PersonSlots
    mentee: PersonSlots
    duration_slots: int
    mutual: int  # mutual free starts, before other sessions of the cohort


@dataclass
class _Booked:
    """A booked pair of a mentor whose weeks are shared fairly (see :mod:`scheduler.core.sharing`)."""

    prepared: _Prepared
    placed: _Placement
    plan: PairPlan


class CohortPlanner:
    """Plans pairs one after another against shared state (occupied time, weekly counts)."""

    def __init__(self, people: Mapping[str, PersonAvailability], horizon: Horizon, grid: SlotGrid, now: datetime,
                 mentor_max_sessions_per_week: int | None = None, buffer_min: int = 0,
                 sharing: Sharing = Sharing.FAIR, shared_mentors: frozenset[str] = frozenset()):
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        if mentor_max_sessions_per_week is not None and mentor_max_sessions_per_week < 1:
            raise InvalidInput("mentor_max_sessions_per_week must be at least 1")
        if buffer_min < 0:
            raise InvalidInput("buffer_min must not be negative")
        self.people = people
        self.horizon = horizon
        self.grid = grid
        self.cap = mentor_max_sessions_per_week
        self.buffer_slots = slots_for(buffer_min)
        self.first_allowed_slot = max(grid.slot_ceil(now), 0)
        self._slots: dict[str, PersonSlots] = {}
        self._state: dict[str, _PersonState] = {}
        self._spaces: dict[tuple[Cadence, int], CandidateSpace] = {}
        self._tier_cache: dict[tuple[str, int, int], tuple[int, ...]] = {}
        self._origin_weekday = grid.origin.weekday()
        self._all_slots = grid.all_slots
        self._segments: dict[str, ZoneSegments] = {}
        self._instants: dict[int, datetime] = {}  # UTC slot -> instant (occurrences share slots)
        self.sharing = Sharing(sharing)
        # mentors whose cap is shared fairly: more pairs than the cap (fewer can never fill a week)
        self.shared_mentors = shared_mentors if self.cap is not None and self.sharing is Sharing.FAIR else frozenset()
        self._rotation: dict[str, list[_Booked]] = {}

    # --- preparation ---------------------------------------------------------------------
    def person(self, person_id: str) -> PersonSlots:
        slots = self._slots.get(person_id)
        if slots is None:
            slots = person_slots(self.people[person_id], self.grid, self.buffer_slots, self.first_allowed_slot)
            self._slots[person_id] = slots
        return slots

    def prepare(self, request: PairRequest) -> _Prepared:
        for role, person_id in (("mentor", request.mentor_id), ("mentee", request.mentee_id)):
            if person_id not in self.people:
                raise InvalidInput(f"pair {request.pair_id}: {role} {person_id!r} is not among the people")
        if request.tz is not None:
            zone(request.tz)
        mentor, mentee = self.person(request.mentor_id), self.person(request.mentee_id)
        duration = slots_for(request.duration_min)
        return _Prepared(request, mentor, mentee, duration, run_starts(mentor.free & mentee.free, duration))

    def _space(self, request: PairRequest) -> CandidateSpace:
        key = (request.cadence, request.count)
        if key not in self._spaces:
            self._spaces[key] = CandidateSpace(self.grid, request.cadence, request.count)
        return self._spaces[key]

    def _tiers(self, slots: PersonSlots, duration: int, space: CandidateSpace) -> tuple[int, ...]:
        key = (slots.person.person_id, duration, space.first_occurrences_utc_end)
        tiers = self._tier_cache.get(key)
        if tiers is None:
            tiers = self._tier_cache[key] = slots.start_tiers(duration, space.first_occurrences_utc_end)
        return tiers

    def _zone(self, tz_name: str) -> ZoneSegments:
        segments = self._segments.get(tz_name)
        if segments is None:
            segments = self._segments[tz_name] = self.grid.segments(tz_name)
        return segments

    def _instant(self, utc_slot: int) -> datetime:
        moment = self._instants.get(utc_slot)
        if moment is None:
            moment = self._instants[utc_slot] = self.grid.instant(utc_slot)
        return moment

    def _state_of(self, person_id: str) -> _PersonState:
        state = self._state.get(person_id)
        if state is None:
            state = self._state[person_id] = _PersonState()
        return state

    # --- planning one pair ---------------------------------------------------------------
    def plan(self, prepared: _Prepared, contested: int = 0) -> PairPlan:
        """Plan one pair against the sessions already placed; ``contested`` = starts other
        pending mentees of the same mentor could use."""
        request = prepared.request
        if not prepared.mutual:
            return PairPlan.unschedulable(request.pair_id, self._why_no_mutual_time(prepared))
        plan, placed = self._attempt(prepared, contested, enforce_cap=True)
        shared = request.mentor_id in self.shared_mentors
        if shared and (placed is None or len(placed.held) < request.count):
            # the cap may cost this pair sessions: place it as if the cap did not bind, and let
            # share_fairly() rotate the over-full weeks among all of the mentor's pairs
            uncapped_plan, uncapped = self._attempt(prepared, contested, enforce_cap=False)
            if uncapped is not None and uncapped_plan.status is PairStatus.BOOKED and \
                    len(uncapped.held) > (len(placed.held) if placed is not None else 0):
                plan, placed = uncapped_plan, uncapped
        if plan.status is PairStatus.BOOKED and placed is not None:
            self._commit(prepared, placed)
            if shared:
                self._rotation.setdefault(request.mentor_id, []).append(_Booked(prepared, placed, plan))
        return plan

    def _attempt(self, prepared: _Prepared, contested: int, enforce_cap: bool) -> tuple[PairPlan, _Placement | None]:
        """The pair's plan against the cohort so far (not committed), and its placement if a
        rule was found (also when too few sessions can be held)."""
        request = prepared.request
        mentor_state, mentee_state = self._state_of(request.mentor_id), self._state_of(request.mentee_id)
        duration = prepared.duration_slots
        occupied = mentor_state.occupied | mentee_state.occupied
        mutual = prepared.mutual
        if occupied:
            mutual &= run_starts(~occupied & self._all_slots, duration)
        uncapped = mutual
        if enforce_cap:
            mutual &= ~mentor_state.capped_starts
        if not mutual:
            return PairPlan.unschedulable(request.pair_id, self._why_cohort_blocks(prepared)), None
        anchor = self._zone(request.tz or prepared.mentor.person.tz)
        space = self._space(request)
        mutual_local = anchor.utc_to_local(mutual)
        choice = find_recurring_slot(
            space, anchor, mutual, self._tiers(prepared.mentor, duration, space),
            self._tiers(prepared.mentee, duration, space), contested, mutual_local)
        if choice is None:
            if find_recurring_slot(space, anchor, prepared.mutual) is not None:
                return PairPlan.unschedulable(request.pair_id, self._why_cohort_blocks(prepared)), None
            return PairPlan.unschedulable(request.pair_id, reasons.no_pattern_fits(request.cadence.value)), None
        placed = self._place_occurrences(prepared, choice, space, anchor, mutual_local, enforce_cap)
        if len(placed.held) < MIN_HELD_SHARE * request.count:
            rule_text = f"{request.cadence.value} {choice.rule.dtstart_local:%a %H:%M} {anchor.tz_name}"
            held = len(placed.held)
            if enforce_cap and self.cap is not None and uncapped != mutual and \
                    len(self._place_occurrences(prepared, choice, space, anchor, anchor.utc_to_local(uncapped),
                                                enforce_cap=False).held) >= MIN_HELD_SHARE * request.count:
                # without the cap this slot would keep enough sessions: the cap is why, not the calendars
                reason = reasons.cap_leaves_too_few(self.cap, rule_text, held, request.count)
            else:
                reason = reasons.too_few_sessions(rule_text, held, request.count)
            return PairPlan.unschedulable(request.pair_id, reason, choice.free_count), placed
        return PairPlan(request.pair_id, PairStatus.BOOKED, choice.rule, tuple(placed.occurrences),
                        free_occurrences=choice.free_count), placed

    def _place_occurrences(self, prepared: _Prepared, choice: SlotChoice, space: CandidateSpace, anchor: ZoneSegments,
                           mutual_local: int, enforce_cap: bool = True) -> _Placement:
        """Hold each occurrence at its rule time, move it within its period, or flag a conflict."""
        request = prepared.request
        mentor_local_slot = self._zone(prepared.mentor.person.tz).local_slot
        placed = _Placement(week_counts=dict(self._state_of(request.mentor_id).week_counts))
        week_counts, held, placeholders, occurrences = placed.week_counts, placed.held, placed.placeholders, placed.occurrences
        length = timedelta(minutes=request.duration_min)
        cap, instant, utc_slot_of = self.cap, self._instant, anchor.utc_slot
        origin_weekday, after_session = self._origin_weekday, prepared.duration_slots + self.buffer_slots
        # one byte string instead of shifting the whole local bitset for every occurrence
        local_bytes = mutual_local.to_bytes((mutual_local.bit_length() + 8) // 8, "little")
        local_bits_end = len(local_bytes) * 8
        free_from = -1 << 62  # first slot after the pair's previous session and its buffer
        for nominal in choice.local_slots:
            nominal_utc = utc_slot_of(nominal)
            if 0 <= nominal < local_bits_end and (local_bytes[nominal >> 3] >> (nominal & 7)) & 1:
                utc_slot = nominal_utc
            else:
                utc_slot = self._move(request.cadence, space, mutual_local, nominal, utc_slot_of)
            if utc_slot is not None and utc_slot < free_from:
                utc_slot = None  # a move at a period's edge would touch the previous session
            if utc_slot is not None and cap is not None:
                # ISO week in the mentor's zone (see _mentor_week)
                week = (mentor_local_slot(utc_slot) // SLOTS_PER_DAY + origin_weekday) // 7
                held_that_week = week_counts.get(week, 0)
                if held_that_week >= cap and enforce_cap:
                    utc_slot = None
                else:
                    week_counts[week] = held_that_week + 1
            if utc_slot is None:
                placeholders.append(nominal_utc)
                start = instant(nominal_utc)
                occurrences.append(PlannedOccurrence(start, start + length, True))
                continue
            held.append(utc_slot)
            placed.held_index.append(len(occurrences))
            placed.held_nominal.append(nominal_utc)
            free_from = utc_slot + after_session
            start = instant(utc_slot)
            original = instant(nominal_utc) if utc_slot != nominal_utc else None
            occurrences.append(PlannedOccurrence(start, start + length, False, original))
        return placed

    def _move(self, cadence: Cadence, space: CandidateSpace, mutual_local: int, nominal: int, utc_slot_of) -> int | None:
        """UTC slot an occurrence moves to within its period, or ``None``."""
        first_day, end_day = period_days(cadence, self.grid.first_day, (nominal - space.base) // SLOTS_PER_DAY)
        moved = move_occurrence(mutual_local, nominal, self.grid.day_start_slot(first_day), self.grid.day_start_slot(end_day))
        return utc_slot_of(moved) if moved is not None else None

    def _commit(self, prepared: _Prepared, placed: _Placement) -> None:
        """Record a booked pair: block both people's time, count the mentor's weekly sessions."""
        request = prepared.request
        mentor_segments = self._zone(prepared.mentor.person.tz)
        week_counts = placed.week_counts
        before, after = self.buffer_slots, prepared.duration_slots + self.buffer_slots
        block = spans_to_bits([(slot - before, slot + after) for slot in placed.held + placed.placeholders], self.grid.size)
        for person_id in (request.mentor_id, request.mentee_id):
            state = self._state_of(person_id)
            state.occupied |= block
            state.pairs.append(request.pair_id)
        mentor_state = self._state_of(request.mentor_id)
        if self.cap is not None:
            for week, count in week_counts.items():
                if count >= self.cap and mentor_state.week_counts.get(week, 0) < self.cap:
                    mentor_state.capped_starts |= self._week_mask(mentor_segments, week)
            mentor_state.week_counts = week_counts

    # --- sharing a full mentor fairly ------------------------------------------------------
    def share_fairly(self) -> dict[str, PairPlan]:
        """After every pair is placed: the plans that change when full mentors' weeks rotate
        among their pairs (skipped sessions become ``conflict`` occurrences; a pair left below
        its threshold becomes unschedulable with a reason naming the cap)."""
        changed: dict[str, PairPlan] = {}
        for mentor_id, booked in self._rotation.items():
            changed.update(self._share_mentor(mentor_id, booked))
        return changed

    def _share_mentor(self, mentor_id: str, booked: list[_Booked]) -> dict[str, PairPlan]:
        cap = self.cap
        segments = self._zone(self.people[mentor_id].tz)
        state = self._state_of(mentor_id)
        # weeks already counted for this mentor by pairs outside the rotation (planned capped)
        outside = dict(state.week_counts)
        weeks = [[self._mentor_week(segments, slot) for slot in b.placed.held] for b in booked]
        for held_weeks in weeks:
            for week in held_weeks:
                outside[week] -= 1
        counts = [b.prepared.request.count for b in booked]
        active = list(range(len(booked)))
        refused: dict[int, tuple[int, int]] = {}  # index -> (sessions it could keep, mentees sharing)
        while True:
            drops = self._drops_with_outside([weeks[i] for i in active], [counts[i] for i in active], cap, outside)
            kept = {i: len(weeks[i]) - len(d) for i, d in zip(active, drops)}
            short = [i for i in active if kept[i] < self._fair_threshold(counts[i], cap, len(active))]
            if not short:
                break
            worst = min(short, key=lambda i: (Fraction(kept[i], counts[i]), -i))
            refused[worst] = (kept[worst], len(active))
            active.remove(worst)
        changed: dict[str, PairPlan] = {}
        for i, (held, mentees) in refused.items():
            request = booked[i].prepared.request
            changed[request.pair_id] = PairPlan.unschedulable(
                request.pair_id, reasons.cap_shared(cap, mentees, held, request.count))
        week_counts = dict(outside)
        for i, dropped in zip(active, drops):
            for position, week in enumerate(weeks[i]):
                if position not in dropped:
                    week_counts[week] = week_counts.get(week, 0) + 1
            if dropped:
                changed[booked[i].plan.pair_id] = self._skip(booked[i], dropped)
        state.week_counts = week_counts
        return changed

    @staticmethod
    def _fair_threshold(count: int, cap: int, mentees: int) -> int:
        """Sessions a rotated pair must keep to stay booked: half of its count as for any pair,
        or its fair share of the cap when that is less (never zero)."""
        return max(1, min(math.ceil(count * MIN_HELD_SHARE), count * cap // mentees))

    @staticmethod
    def _drops_with_outside(weeks: list[list[int]], counts: list[int], cap: int, outside: dict[int, int]) -> list[set[int]]:
        """:func:`fair_drops` where some weeks already hold sessions of pairs outside the rotation."""
        # sessions of the mentor's pairs outside the rotation keep their place: those weeks have less room
        return fair_drops(weeks, counts, cap, {week: max(0, cap - used) for week, used in outside.items() if used})

    def _skip(self, booked: _Booked, dropped: set[int]) -> PairPlan:
        """The pair's plan with the sessions at ``dropped`` (positions in its held list) skipped."""
        plan, placed = booked.plan, booked.placed
        occurrences = list(plan.occurrences)
        length = timedelta(minutes=booked.prepared.request.duration_min)
        free = plan.free_occurrences
        for position in dropped:
            nominal = placed.held_nominal[position]
            if placed.held[position] == nominal:
                free -= 1
            start = self._instant(nominal)
            occurrences[placed.held_index[position]] = PlannedOccurrence(start, start + length, True)
        return PairPlan(plan.pair_id, plan.status, plan.series, tuple(occurrences), free_occurrences=free)

    # --- ISO weeks in the mentor's zone --------------------------------------------------
    def _mentor_week(self, mentor_segments: ZoneSegments, utc_slot: int) -> int:
        local_day = mentor_segments.local_slot(utc_slot) // SLOTS_PER_DAY
        return (local_day + self._origin_weekday) // 7

    def _week_mask(self, mentor_segments: ZoneSegments, week: int) -> int:
        first_local_day = week * 7 - self._origin_weekday
        return mentor_segments.local_range_mask(first_local_day * SLOTS_PER_DAY, (first_local_day + 7) * SLOTS_PER_DAY)

    # --- reasons -------------------------------------------------------------------------
    def _why_no_mutual_time(self, prepared: _Prepared) -> str:
        mentor, mentee = prepared.mentor, prepared.mentee
        request = prepared.request
        shared = mentor.working & mentee.working
        anchor = self.grid.segments(request.tz or mentor.person.tz)
        if not shared:
            return reasons.no_shared_working_time(mentor.person, mentee.person)
        shared_text = reasons.describe_shared_week(self.grid, anchor, shared)
        starts = run_starts(shared, prepared.duration_slots)
        if not starts:
            return reasons.shared_time_too_short(mentor.person, mentee.person, shared_text, request.duration_min)
        if not starts >> self.first_allowed_slot:
            return reasons.horizon_passed(f"from {self.horizon.start.isoformat()}, {self.horizon.weeks} weeks")
        mentor_free = run_starts(mentor.free & mentee.working, prepared.duration_slots)
        mentee_free = run_starts(mentee.free & mentor.working, prepared.duration_slots)
        if not mentor_free and not mentee_free:
            whose = "both calendars"
        elif not mentor_free:
            whose = "the mentor's calendar"
        elif not mentee_free:
            whose = "the mentee's calendar"
        else:
            whose = "one calendar or the other (no common free stretch)"
        return reasons.always_busy(whose, shared_text)

    def _why_cohort_blocks(self, prepared: _Prepared) -> str:
        """Name what the cohort took away: the mentor's cap, or someone's other sessions."""
        request = prepared.request
        mentor_state, mentee_state = self._state_of(request.mentor_id), self._state_of(request.mentee_id)
        duration = prepared.duration_slots
        anchor = self.grid.segments(request.tz or prepared.mentor.person.tz)
        space = self._space(request)

        def fits(mutual: int) -> bool:
            return bool(mutual) and find_recurring_slot(space, anchor, mutual) is not None

        free_of_mentor_sessions = prepared.mutual & run_starts(~mentor_state.occupied & self.grid.all_slots, duration)
        free_of_mentee_sessions = prepared.mutual & run_starts(~mentee_state.occupied & self.grid.all_slots, duration)
        if self.cap is not None and fits(free_of_mentor_sessions & free_of_mentee_sessions):
            return reasons.cap_reached(self.cap)
        if not fits(free_of_mentor_sessions):
            return reasons.taken_by_other_sessions("mentor", mentor_state.pairs)
        if not fits(free_of_mentee_sessions):
            return reasons.taken_by_other_sessions("mentee", mentee_state.pairs)
        return reasons.taken_by_other_sessions("mentor's and mentee", mentor_state.pairs + mentee_state.pairs)

def plan_cohort(
    people: Mapping[str, PersonAvailability],
    pairs: Sequence[PairRequest],
    horizon: Horizon,
    now: datetime,
    *,
    mentor_max_sessions_per_week: int | None = None,
    buffer_min: int = 0,
    progress: ProgressCallback | None = None,
    sharing: Sharing | str = Sharing.FAIR,
) -> list[PairPlan]:
    """Plan every pair; returns one :class:`PairPlan` per pair, in input order.

    ``sharing``: how a mentor whose pairs want more sessions than ``mentor_max_sessions_per_week``
    shares the cap (:class:`Sharing`; see the module docstring)."""
    sharing = Sharing.parse(sharing.value if isinstance(sharing, Sharing) else sharing)
    seen: set[str] = set()
    for request in pairs:
        if request.pair_id in seen:
            raise InvalidInput(f"pair id {request.pair_id!r} appears twice")
        seen.add(request.pair_id)
    grid = grid_for(horizon, pairs)
    pairs_per_mentor = Counter(request.mentor_id for request in pairs)
    shared = frozenset(mentor for mentor, n in pairs_per_mentor.items()
                       if mentor_max_sessions_per_week is not None and n > mentor_max_sessions_per_week)
    planner = CohortPlanner(people, horizon, grid, now, mentor_max_sessions_per_week, buffer_min, sharing, shared)
    prepared = [planner.prepare(request) for request in pairs]
    order = sorted(range(len(prepared)), key=lambda index: (prepared[index].mutual.bit_count(), index))
    pending_by_mentor: dict[str, set[int]] = {}
    for index, item in enumerate(prepared):
        pending_by_mentor.setdefault(item.request.mentor_id, set()).add(index)
    plans: list[PairPlan | None] = [None] * len(prepared)
    for done, index in enumerate(order, start=1):
        item = prepared[index]
        pending = pending_by_mentor[item.request.mentor_id]
        pending.discard(index)
        contested = 0
        for other in pending:
            contested |= prepared[other].mutual
        plans[index] = planner.plan(item, contested)
        if progress is not None:
            progress(done, len(order))
    changed = planner.share_fairly()
    return [changed.get(plan.pair_id, plan) for plan in plans if plan is not None]


def plan_pair(mentor: PersonAvailability, mentee: PersonAvailability, request: PairRequest, horizon: Horizon,
              now: datetime, *, buffer_min: int = 0) -> PairPlan:
    """Plan a single pair (a cohort of one)."""
    people = {mentor.person_id: mentor, mentee.person_id: mentee}
    return plan_cohort(people, [request], horizon, now, buffer_min=buffer_min)[0]
