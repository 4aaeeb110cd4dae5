"""What the planner needs about people: hours and preferences from the database, busy time
from their calendars (batched per provider) and from their other Tandem sessions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from scheduler.core.availability import PersonAvailability, Preferences, WeeklyHours
from scheduler.core.preferences import parse_preferences, parse_time_off
from scheduler.core.entities import Person
from scheduler.core.intervals import Interval, interval
from scheduler.errors import ProviderUnavailable, ReconnectNeeded
from scheduler.ports import Dependencies, UnitOfWork
from scheduler.services.accounts import account_for, mark_reconnect_needed, provider_for



class CalendarUnreadable(ProviderUnavailable):
    """A person's calendar answered with an error for part of the window: their time is unknown,
    not free, so nothing is planned on it. Retried later."""


@dataclass(frozen=True)
class PersonSnapshot:
    """What was read about a person inside one short transaction."""

    person_id: str
    email: str
    name: str
    tz: str | None
    working_hours: dict | None
    preferences: dict
    connection_ids: tuple[str, ...]


def snapshot(uow: UnitOfWork, person: Person) -> PersonSnapshot:
    connections = [c.id for c in uow.connections.usable_of(person.id)]
    return PersonSnapshot(person.id, person.email, person.name or person.email, person.tz,
                          person.working_hours, dict(person.preferences or {}), tuple(connections))


def preferences_from(data: dict) -> tuple[Preferences, tuple[tuple[date, date], ...]]:
    """Preferences and time off from a person's ``preferences`` JSON (the one parser)."""
    return parse_preferences(data), parse_time_off(data)


def availability(person: PersonSnapshot, busy: tuple[Interval, ...]) -> PersonAvailability:
    prefs, time_off = preferences_from(person.preferences)
    return PersonAvailability(person.person_id, person.tz or "UTC",
                              WeeklyHours.from_mapping(person.working_hours or {}), busy, time_off, prefs)


def read_calendar_busy(deps: Dependencies, people: list[PersonSnapshot], start: datetime, end: datetime
                       ) -> dict[str, list[Interval]]:
    """Busy intervals per person from every healthy connection, one batched call per provider.

    A connection whose consent is gone is flagged (and its owner told) and the error re-raised;
    a calendar that answers with an error raises :class:`CalendarUnreadable`.
    """
    return {person_id: [iv for _, busy in per_connection for iv in busy]
            for person_id, per_connection in read_busy_by_connection(deps, people, start, end).items()}


def read_busy_by_connection(deps: Dependencies, people: list[PersonSnapshot], start: datetime, end: datetime
                            ) -> dict[str, list[tuple[str, tuple[Interval, ...]]]]:
    """Like :func:`read_calendar_busy`, keeping each connection's busy time apart:
    ``{person_id: [(connection_id, busy), ...]}``."""
    with deps.uow() as uow:
        connections = uow.connections.get_many(cid for p in people for cid in p.connection_ids)
        accounts = [(c.person_id, c.provider, account_for(deps, c)) for c in connections]
    busy: dict[str, list[tuple[str, tuple[Interval, ...]]]] = {p.person_id: [] for p in people}
    by_provider: dict[str, list] = {}
    for person_id, kind, account in accounts:
        by_provider.setdefault(kind, []).append((person_id, account))
    for kind, items in by_provider.items():
        provider = provider_for(deps, kind)
        try:
            result = provider.free_busy([a for _, a in items], start, end)
        except ReconnectNeeded:
            result = _one_by_one(deps, provider, [a for _, a in items], start, end)
        for person_id, account in items:
            answer = result.get(account.connection_id)
            if answer is not None and answer.needs_reconnect:
                mark_reconnect_needed(deps, account.connection_id, answer.error, deps.clock.now())
                raise ReconnectNeeded(f"calendar access for {account.email} was withdrawn or expired; "
                                      f"they have been asked to reconnect")
            if answer is None or answer.error:
                raise CalendarUnreadable(f"the {kind} calendar of {account.email} could not be read "
                                         f"({answer.error if answer else 'no answer'}); will try again")
            busy[person_id].append((account.connection_id, tuple(answer.busy)))
    return busy


def _one_by_one(deps: Dependencies, provider, accounts, start, end):
    """After a batch failed for lost consent: find whose, flag those connections, re-raise."""
    result, lost = {}, None
    for account in accounts:
        try:
            result.update(provider.free_busy([account], start, end))
        except ReconnectNeeded as exc:
            mark_reconnect_needed(deps, account.connection_id, str(exc), deps.clock.now())
            lost = lost or ReconnectNeeded(f"calendar access for {account.email} was withdrawn or expired; "
                                           f"they have been asked to reconnect")
    if lost:
        raise lost
    return result


def tandem_sessions(uow: UnitOfWork, person_id: str, *, exclude_series_id: str | None = None) -> list[Interval]:
    """The person's other Tandem sessions (as mentor or mentee), busy even before they are booked."""
    return [interval(start, end)
            for start, end in uow.occurrences.busy_intervals_of(person_id, exclude_series_id=exclude_series_id)]
