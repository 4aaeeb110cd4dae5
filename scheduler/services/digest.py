"""The weekly digest to coordinators: one email per coordinator per program per ISO week, with the
past week's held and missed sessions, the at-risk pairs with their reasons, and the broken
calendar connections — each pair linking to the coordinator's pair page.

- :func:`queue_weekly_digests` is a sweep step (run on every tick): from Monday 08:00 in the
  coordinator's time zone it adds one ``coordinator_digest`` notification per coordinator and
  program, keyed ``digest:<program>:<person>:<ISO year>-W<week>``, so a week's digest is queued
  once however often the sweep runs (or in however many tick processes).
- :func:`digest_context` builds the email from :mod:`scheduler.services.dashboard` (the same
  rules and named queries as the program page; nothing is counted twice in two ways). It runs
  when the email is delivered, so the numbers are fresh; it returns None (the email is dropped)
  when the person opted out meanwhile, no longer coordinates the program, or the program has no
  pairs.
- Opt-out: ``Person.digest_opt_out``, set from the Programs page (:func:`set_digest_opt_out`)
  or by the signed one-click link in each digest (:func:`unsubscribe_by_link`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler.errors import InvalidInput
from scheduler.ports import Dependencies, DigestContext, DigestPair
from scheduler.services import dashboard as dashboards
from scheduler.services.links import signer
from scheduler.services.notifications import add_notification

KIND = "coordinator_digest"
SEND_FROM_HOUR = 8  # Monday, in the coordinator's time zone
DIGEST_MAX_PAIRS = 20
UNSUBSCRIBE_PURPOSE = "digest_unsubscribe"


def _zone(tz: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def week_key(now: datetime, tz: str | None) -> str:
    """The ISO week of ``now`` in ``tz``, as ``2026-W48``."""
    year, week, _ = now.astimezone(_zone(tz)).isocalendar()
    return f"{year}-W{week:02d}"


def digest_key(program_id: str, person_id: str, week: str) -> str:
    return f"digest:{program_id}:{person_id}:{week}"


def queue_weekly_digests(deps: Dependencies) -> int:
    """Queue this week's digest for every coordinator (not opted out) of every program, once
    Monday 08:00 has passed where they are. Returns how many were queued (0 on a repeat)."""
    now = deps.clock.now()
    queued = 0
    with deps.uow() as uow:
        people = {}
        for program in uow.programs.all_oldest_first():
            for person_id in uow.memberships.coordinator_ids(program.id):
                person = people.get(person_id) or uow.people.get(person_id)
                if person is None or person.digest_opt_out:
                    continue
                people[person_id] = person
                local = now.astimezone(_zone(person.tz))
                if local.weekday() == 0 and local.hour < SEND_FROM_HOUR:
                    continue
                week = week_key(now, person.tz)
                key = digest_key(program.id, person_id, week)
                if uow.notifications.has_key(key):
                    continue
                queued += add_notification(uow, kind=KIND, person_id=person_id, due_at=now, key=key,
                                           payload={"program_id": program.id, "week": week}) is not None
        uow.commit()
    return queued


def unsubscribe_url(deps: Dependencies, person_id: str) -> str:
    token = signer(deps).sign(UNSUBSCRIBE_PURPOSE, {"p": person_id})
    return deps.config.url(f"digest/unsubscribe/{token}")


def _week_label(now: datetime, tz: str | None) -> str:
    """The past Monday–Sunday in ``tz``, e.g. "16–22 Nov 2026"."""
    local = now.astimezone(_zone(tz))
    monday = (local - timedelta(days=local.weekday() + 7)).date()
    sunday = monday + timedelta(days=6)
    first = f"{monday.day}" if monday.month == sunday.month else f"{monday.day} {monday:%b}"
    if monday.year != sunday.year:
        first = f"{monday.day} {monday:%b %Y}"
    return f"{first}–{sunday.day} {sunday:%b %Y}"


def _pairs(deps: Dependencies, program_id: str, lines, only_rule: str | None = None) -> tuple[DigestPair, ...]:
    return tuple(DigestPair(line.mentor_name, line.mentee_name,
                            tuple(r.text for r in line.reasons if only_rule is None or r.rule == only_rule),
                            deps.config.url(f"programs/{program_id}/pairs/{line.pair_id}"))
                 for line in lines[:DIGEST_MAX_PAIRS])


def digest_context(deps: Dependencies, person_id: str, program_id: str, idempotency_key: str
                   ) -> DigestContext | None:
    """The digest of ``program_id`` for ``person_id`` at the clock's now; None when it must not be
    sent (opted out, not a coordinator of the program any more, program gone or without pairs)."""
    with deps.uow() as uow:
        person = uow.people.get(person_id)
        program = uow.programs.get(program_id)
        if person is None or program is None or person.digest_opt_out:
            return None
        if person_id not in uow.memberships.coordinator_ids(program_id):
            return None
        program_name, tz = program.name, person.tz
        to, name = person.email, person.name or person.email
    # The dashboard's own functions: the at-risk rules and counts are the program page's.
    risky = dashboards.dashboard(deps, program_id, dashboards.Filters(risk="yes", sort="misses", descending=True), tz)
    if risky.headline.pairs == 0:
        return None
    broken = dashboards.dashboard(deps, program_id, dashboards.Filters(risk="connection"), tz)
    past = risky.weeks[-2]  # the weeks run oldest first, the current week last
    held, missed = past.held, past.missed
    return DigestContext(
        to=to, idempotency_key=idempotency_key, recipient_name=name, program_name=program_name,
        week_label=_week_label(deps.clock.now(), tz), held=held, missed=missed,
        missed_rate=missed / (held + missed) if held + missed else None,
        at_risk=_pairs(deps, program_id, risky.lines), more_at_risk=max(0, risky.matching - DIGEST_MAX_PAIRS),
        broken=_pairs(deps, program_id, broken.lines, "connection"),
        more_broken=max(0, broken.matching - DIGEST_MAX_PAIRS),
        broken_connections=risky.headline.broken_connections,
        dashboard_url=deps.config.url(f"programs/{program_id}"),
        unsubscribe_url=unsubscribe_url(deps, person_id), settings_url=deps.config.url("programs/"))


def set_digest_opt_out(deps: Dependencies, person_id: str, opt_out: bool) -> None:
    """Turn the weekly digest off (``opt_out``) or on again for a person."""
    with deps.uow() as uow:
        person = uow.people.get(person_id)
        if person is None:
            raise InvalidInput("That account no longer exists; sign in again.")
        person.digest_opt_out = bool(opt_out)
        uow.commit()


def digest_link_person(deps: Dependencies, token: str) -> str:
    """The person a signed unsubscribe link names; LinkError when it is expired or tampered with."""
    person_id = str(signer(deps).read(UNSUBSCRIBE_PURPOSE, token).get("p", "") or "")
    if not person_id:
        raise InvalidInput("This link is not valid. Sign in and turn the digest off on your Programs page.")
    return person_id


def unsubscribe_by_link(deps: Dependencies, token: str) -> str:
    """Stop the digest for the person the signed link names (again: no change). Returns their email;
    LinkError/InvalidInput when the link is not valid."""
    person_id = digest_link_person(deps, token)
    with deps.uow() as uow:
        person = uow.people.get(person_id)
        if person is None:
            raise InvalidInput("This link names an account that no longer exists; there is nothing to stop.")
        person.digest_opt_out = True
        email = person.email
        uow.commit()
    return email
