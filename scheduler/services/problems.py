"""Work that kept failing (dead outbox rows), traced back to pairs, for coordinators to see.

Each failure is worded for a person (:func:`explain`: what went wrong and what to do, never an
exception's class name; the raw text stays in the outbox row and the worker log), and a failure
whose cause is fixed is no longer shown: work that failed because a calendar's access was lost
disappears once none of the calendars of the people it concerns needs reconnecting and one of
them was connected again (or read successfully) after the work failed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from scheduler.core.entities import OutboxMessage
from scheduler.ports import RECONNECT_NEEDED, Dependencies, UnitOfWork

LABELS = {
    "plan_pair": "planning the sessions", "book_series": "booking the series on the calendar",
    "recheck_series": "re-checking the sessions against the calendars", "push_occurrence": "updating one session",
    "cancel_series": "cancelling the series", "deliver_notification": "sending an email",
    "handle_calendar_change": "reading calendar changes", "renew_watch": "renewing calendar notifications",
    "deliver_webhook": "sending a webhook event",
}


@dataclass(frozen=True)
class FailedWork:
    pair_id: str
    what: str
    error: str  # the raw error the worker recorded (for operators and logs, not for the page)
    attempts: int
    since: datetime
    message: str = ""  # the error worded for the coordinator: what went wrong and what to do


# "ClassName: message", as the worker records a failure; a trailing note the outbox adds.
_RAW = re.compile(r"^(?P<name>[A-Za-z_][\w.]*): ?(?P<detail>.*)$", re.DOTALL)
_GAVE_UP = re.compile(r"\s*\(gave up after \d+ attempts\)$")
_WORDING = {
    "ReconnectNeeded": "A calendar's access was withdrawn or has expired{detail}. Its owner must reconnect it on "
                       "their Calendars page; this then clears by itself.",
    "RateLimited": "The calendar service kept asking Tandem to slow down{detail}. It usually passes; if it "
                   "does not, ask your administrator.",
    "ProviderUnavailable": "The calendar service could not be reached{detail}. If it stays, ask your "
                           "administrator.",
    "ProviderError": "The calendar service refused the request{detail}. If it stays, ask your administrator.",
    "SyncTokenExpired": "Reading calendar changes had to start over{detail}.",
    "NotFound": "The calendar entry no longer exists{detail}; it may have been deleted in the calendar.",
    "MailRejected": "The mail server refused the email{detail}. Check the person's email address.",
    "MailUnavailable": "The mail server could not take the email{detail}. If it stays, ask your administrator "
                       "to check the mail settings.",
    "WebhookFailed": "The program's webhook receiver kept failing{detail}, so Tandem stopped trying to send it "
                     "this event. Check that the receiver is up (the program page lists its last answers).",
}
_AS_IS = ("NoMutualTime", "InvalidInput", "InvalidCalendarFile", "UnknownTimeZone", "ImpossiblePreferences",
          "UnsafeUrl", "WebhookRefused", "GroupBeingPlanned")  # their message is already written for people


def _split(raw: str) -> tuple[str | None, str]:
    raw = _GAVE_UP.sub("", (raw or "").strip())
    match = _RAW.match(raw)
    if match and " " not in match["name"]:
        return match["name"].rsplit(".", 1)[-1], match["detail"].strip()
    return None, raw


def is_reconnect_failure(raw: str | None) -> bool:
    """The work failed because someone's calendar access is gone."""
    name, detail = _split(raw or "")
    return name in ("ReconnectNeeded", RECONNECT_NEEDED) or detail.startswith(RECONNECT_NEEDED)


def explain(raw: str | None) -> str:
    """A recorded failure (``"ReconnectNeeded: Google access was revoked"``) worded for a
    coordinator: no exception class name; an error Tandem did not expect says so and where the
    details are, instead of showing an internal message."""
    if not raw:
        return "It stopped without saying why. Your administrator can find the details in the worker log."
    name, detail = _split(raw)
    if is_reconnect_failure(raw):
        name, detail = "ReconnectNeeded", detail.removeprefix(RECONNECT_NEEDED).lstrip(": ")
    if name is None and detail.startswith("no worker finished it"):
        return ("A worker took it but never finished (it may have been stopped or restarted), so Tandem gave up. "
                "Your administrator can find the details in the worker log.")
    if name is None:
        return detail[0].upper() + detail[1:] if detail else explain(None)
    if name in _WORDING:
        return _WORDING[name].format(detail=f" ({detail.rstrip('.')})" if detail else "")
    if name in _AS_IS and detail:
        return detail[0].upper() + detail[1:]
    return "Something unexpected went wrong. Your administrator can find the details in the worker log."


def _pairs_of(uow: UnitOfWork, row: OutboxMessage) -> list[str]:
    kind, subject = row.kind, row.subject_id
    if kind == "plan_pair":
        return [subject]
    if kind in ("book_series", "recheck_series", "cancel_series"):
        series = uow.series.get(subject)
        return [series.pair_id] if series else []
    if kind == "push_occurrence":
        occ = uow.occurrences.get(subject)
        return [occ.series.pair_id] if occ else []
    if kind == "deliver_notification":
        n = uow.notifications.get(subject)
        return [n.pair_id] if n and n.pair_id else []
    if kind == "deliver_webhook":
        d = uow.webhook_deliveries.get(subject)
        return [d.pair_id] if d and d.pair_id else []
    if kind in ("handle_calendar_change", "renew_watch"):
        conn = uow.connections.get(subject)
        if conn is None:
            return []
        return [pair.id for pair in uow.pairs.of_person(conn.person_id)]
    return []


def _failed_at(row: OutboxMessage) -> datetime:
    """When the row last ran (its last claim), else when it was due (both on Tandem's clock)."""
    return row.enqueued_at or row.due_at


def _calendar_fixed(uow: UnitOfWork, row: OutboxMessage, people: set[str]) -> bool:
    """The calendars of ``people`` are all fine again, and one was (re)connected or read after
    ``row`` failed: the access the work lacked is back."""
    connections = uow.connections.of_people(sorted(people)) if people else []
    if not connections or any(c.status != "ok" for c in connections):
        return False
    failed_at = _failed_at(row)
    return any(c.last_checked_at is not None and c.last_checked_at >= failed_at for c in connections)


def _people_of(uow: UnitOfWork, row: OutboxMessage, pair_id: str) -> set[str]:
    if row.kind in ("handle_calendar_change", "renew_watch"):
        conn = uow.connections.get(row.subject_id)
        return {conn.person_id} if conn else set()
    pair = uow.pairs.get(pair_id)
    return {pair.mentor_id, pair.mentee_id} if pair else set()


def failed_work_in(uow: UnitOfWork, program_id: str) -> list[FailedWork]:
    """:func:`failed_work` inside the caller's unit of work."""
    dead = [(row, _pairs_of(uow, row)) for row in sorted(uow.outbox.dead(), key=lambda r: r.due_at, reverse=True)]
    pair_ids = {pair.id for pair in uow.pairs.get_many({i for _, ids in dead for i in ids})
                if pair.program_id == program_id}  # the dead rows' pairs, not every pair of the program
    found = []
    for row, of_row in dead:
        for pair_id in of_row:
            if pair_id not in pair_ids:
                continue
            if is_reconnect_failure(row.last_error) and _calendar_fixed(uow, row, _people_of(uow, row, pair_id)):
                continue  # the calendar was reconnected since: the cause is gone
            found.append(FailedWork(pair_id, LABELS.get(row.kind, row.kind), row.last_error or "unknown error",
                                    row.attempts, row.created_at, explain(row.last_error)))
    return found


def failed_work(deps: Dependencies, program_id: str) -> list[FailedWork]:
    """Dead outbox rows of a program's pairs, newest first, each with the error it kept hitting."""
    with deps.uow() as uow:
        return failed_work_in(uow, program_id)
