"""Which freeBusy queries read a round's calendars with the fewest calls.

- Accounts of one consent (the same refresh token) share a query, as before.
- Accounts of one Google Workspace domain share the query of one colleague's token: Workspace
  shares free/busy inside an organisation by default, so a colleague's token may read them (its
  ``freeBusy`` answers ``errors: [{reason: notFound}]`` for a calendar it may not read; that
  person then falls back to a query with their own token, and is remembered as such).
- Consumer accounts (gmail.com) and people of different organisations are queried with their own
  tokens; those queries go together in one HTTP batch (each call with its own credentials).
- A query reads at most 50 calendars (``freeBusy``'s ``calendarExpansionMax``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from scheduler.ports import CalendarAccount

MAX_CALENDARS_PER_QUERY = 50
CONSUMER_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def consent_key(account: CalendarAccount) -> str:
    """Accounts with the same key hold the same consent (refresh token)."""
    return (account.credentials.get("refresh_token") or account.credentials.get("token")
            or account.connection_id)


def workspace_domain(email: str) -> str | None:
    """The organisation's domain of a Google account, None for a consumer account."""
    domain = email.rpartition("@")[2].lower()
    return None if not domain or domain in CONSUMER_DOMAINS else domain


def calendar_ref(account: CalendarAccount) -> str:
    """How a colleague's token names this account's calendar (``primary`` is only one's own)."""
    return account.email.lower() if account.calendar_id == "primary" else account.calendar_id


@dataclass(frozen=True)
class Query:
    """One freeBusy query: ``lead``'s token reads the calendars of ``members`` (lead included)."""

    lead: CalendarAccount
    members: tuple[CalendarAccount, ...]

    def shared(self, member: CalendarAccount) -> bool:
        """True when ``member`` is read with a colleague's token, not their own consent."""
        return consent_key(member) != consent_key(self.lead)

    def ref(self, member: CalendarAccount) -> str:
        return calendar_ref(member) if self.shared(member) else member.calendar_id

    def calendar_ids(self) -> list[str]:
        return sorted({self.ref(m) for m in self.members})


def plan_queries(accounts: Sequence[CalendarAccount], own_only: set[str] | frozenset[str] = frozenset(),
                 share_domains: bool = True) -> list[Query]:
    """The queries covering ``accounts``. ``own_only`` holds calendar refs a colleague's token
    could not read before: those are read with their own consent."""
    consents: dict[str, list[CalendarAccount]] = {}
    for account in accounts:
        consents.setdefault(consent_key(account), []).append(account)
    by_domain: dict[str, list[list[CalendarAccount]]] = {}
    alone: list[list[CalendarAccount]] = []
    for group in consents.values():
        domain = workspace_domain(group[0].email) if share_domains else None
        if domain is None or any(calendar_ref(a) in own_only for a in group):
            alone.append(group)
        else:
            by_domain.setdefault(domain, []).append(group)
    queries: list[Query] = []
    for groups in by_domain.values():
        queries.extend(_chunked(groups[0][0], [a for g in groups for a in g]))
    for group in alone:
        queries.extend(_chunked(group[0], group))
    return queries


def own_queries(accounts: Iterable[CalendarAccount]) -> list[Query]:
    """Queries with each account's own consent (the fallback)."""
    return plan_queries(list(accounts), share_domains=False)


def _chunked(lead: CalendarAccount, members: list[CalendarAccount]) -> list[Query]:
    """Queries of at most 50 distinct calendars; the lead leads each chunk (its token reads)."""
    chunks: list[list[CalendarAccount]] = []
    refs: list[set[str]] = []
    probe = Query(lead, ())
    for member in members:
        ref = probe.ref(member)
        if not chunks or (ref not in refs[-1] and len(refs[-1]) >= MAX_CALENDARS_PER_QUERY):
            chunks.append([])
            refs.append(set())
        chunks[-1].append(member)
        refs[-1].add(ref)
    return [Query(lead, tuple(chunk)) for chunk in chunks]
