"""The ``/api/v1/people`` routes of docs/contracts.md §3: one person's data as JSON, and their
erasure — both for an administrator's token only, both the use cases the web's privacy pages call
(``scheduler.services.privacy``; docs/privacy.md). Their schemas live here beside the views."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from flask import g
from pydantic import Field
from spectree import Response

from scheduler.services import privacy
from web import deps
from web.api import bp
from web.api.errors import ApiError
from web.api.schemas import ErrorBody, ProgramRef, Strict
from web.api.spec import spec
from web.security import csrf

log = logging.getLogger(__name__)
COMMON = dict(HTTP_400=ErrorBody, HTTP_401=ErrorBody, HTTP_403=ErrorBody, HTTP_404=ErrorBody, HTTP_429=ErrorBody)
ADMIN_ONLY = "Only an administrator's token (one made for all programs) may export or erase a person's data."


# --- schemas --------------------------------------------------------------------------------------
class ExportedPerson(Strict):
    id: str
    email: str
    name: str
    time_zone: str | None
    working_hours: dict[str, Any] | None = Field(description="Weekday -> [[start, end], ...] in local time.")
    preferences: dict[str, Any] | None
    is_admin: bool
    onboarded_at: datetime | None
    digest_opt_out: bool
    created_at: datetime | None


class ExportedRole(Strict):
    program: ProgramRef
    role: str


class OtherPerson(Strict):
    id: str
    name: str = Field(description="The other person of the pair: a name, never an address.")


class ExportedGoal(Strict):
    text: str
    status: str
    created_at: datetime | None
    reviewed_at: datetime | None


class ExportedSeries(Strict):
    id: str
    rule: str
    first_local_start: str
    time_zone: str
    duration_min: int
    status: str
    video_url: str | None
    created_at: datetime | None


class OwnFeedback(Strict):
    answer: str
    rating: int | None
    notes: str | None
    created_at: datetime | None


class ExportedSession(Strict):
    id: str
    series_id: str
    start: datetime
    end: datetime
    originally_at: datetime
    status: str
    attendance: str
    agenda: str | None
    my_feedback: OwnFeedback | None


class ExportedPair(Strict):
    id: str
    program: ProgramRef
    my_role: Literal["mentor", "mentee"]
    other_person: OtherPerson
    status: str
    cadence: str | None
    duration_min: int | None
    created_at: datetime | None
    goals: list[ExportedGoal]
    series: list[ExportedSeries]
    sessions: list[ExportedSession]


class ExportedFeedback(OwnFeedback):
    occurrence_id: str
    pair_id: str | None


class ExportedConnection(Strict):
    id: str
    provider: str
    account_email: str
    calendar_id: str
    status: str
    last_checked_at: datetime | None
    created_at: datetime | None


class ExportedEmail(Strict):
    kind: str
    status: str
    due_at: datetime | None
    sent_at: datetime | None
    pair_id: str | None


class PersonExport(Strict):
    format: Literal["tandem.person-export"]
    version: int
    exported_at: datetime
    person: ExportedPerson
    roles: list[ExportedRole]
    pairs: list[ExportedPair]
    feedback: list[ExportedFeedback] = Field(description="Every answer the person gave (never anyone else's).")
    calendar_connections: list[ExportedConnection] = Field(description="Never tokens, passwords or feed links.")
    emails: list[ExportedEmail]


class CalendarRevocation(Strict):
    provider: str
    label: str
    revoked: bool = Field(description="False when the provider could not confirm the revoke.")
    advice: str | None = Field(description="What the person should still do at the provider (None: nothing).")


class Erasure(Strict):
    person_id: str
    finished: bool = Field(description="False (202) while the calendars are updated; the erasure then finishes "
                                       "on its own, usually within minutes.")
    already_erased: bool
    pairs_ended: int
    people_told: int
    calendars: list[CalendarRevocation]


# --- views ----------------------------------------------------------------------------------------
def _admin_only() -> None:
    if g.api_caller.program_id is not None:
        raise ApiError(403, ADMIN_ONLY)


@bp.get("/people/<person_id>/export")
@spec.validate(resp=Response(HTTP_200=PersonExport, **COMMON), tags=["people"])
def export_person(person_id: str):
    """One person's data

    Profile, roles, pairs (the other person by name only), sessions and attendance, goals, the
    feedback they wrote, calendar connections without tokens, the emails sent to them: the
    document "Download my data" saves (docs/privacy.md). An administrator's token only."""
    _admin_only()
    try:
        return PersonExport(**privacy.export_person(deps.container(), person_id))
    except privacy.UnknownPerson as exc:
        raise ApiError(404, str(exc)) from None


@bp.delete("/people/<person_id>")
@csrf.exempt
@spec.validate(resp=Response(HTTP_200=Erasure, HTTP_202=Erasure, **COMMON), tags=["people"])
def erase_person(person_id: str):
    """Erase a person

    Ends their pairs (sessions cancelled in the calendars, the other person told), revokes their
    calendar grants and deletes or anonymises every row about them; the program's figures stay.
    200 when done, 202 while the calendars are being updated (it finishes on its own). Erasing
    an erased person answers 200 with ``already_erased``. An administrator's token only."""
    _admin_only()
    try:
        report = privacy.erase_person(deps.container(), person_id, requested_by=None)
    except privacy.UnknownPerson as exc:
        raise ApiError(404, str(exc)) from None
    log.info("erasure of person %s asked for with API token %s", person_id, g.api_caller.token_id)
    body = Erasure(person_id=report.person_id, finished=report.finished, already_erased=report.already_erased,
                   pairs_ended=report.pairs_ended, people_told=report.people_told,
                   calendars=[CalendarRevocation(provider=c.provider, label=c.label, revoked=c.revoked,
                                                 advice=c.advice) for c in report.calendars])
    return body, 200 if report.finished else 202
