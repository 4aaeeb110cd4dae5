"""The JSON API's request and response schemas (pydantic). Spectree validates every request and
every response against them and builds ``/api/openapi.json`` from them: the document and the
checks cannot drift apart."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from scheduler.services.dashboard import STATES

State = Literal[STATES]  # type: ignore[valid-type]
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"  # no line break or control character
Cursor = Field(default=None, max_length=200, description="Opaque: the next_cursor of the previous page.")
Limit = Field(default=100, ge=1, le=1000, description="Items per page (default 100, at most 1000).")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ---------------------------------------------------------------------------------------
class ErrorDetail(Strict):
    index: int | None = Field(default=None, description="The position of the item at fault in the request body.")
    field: str | None = None
    message: str


class ErrorInfo(Strict):
    code: str = Field(description="bad_request, unauthorized, forbidden, not_found, conflict, invalid, rate_limited")
    message: str = Field(description="What is wrong and what to do.")
    details: list[ErrorDetail] | None = None


class ErrorBody(Strict):
    error: ErrorInfo


# --- programs -------------------------------------------------------------------------------------
class Program(Strict):
    id: str
    name: str
    cadence: str
    duration_min: int
    session_count: int
    horizon_weeks: int
    reminder_offsets_min: list[int]
    repair_policy: str
    allow_pair_cadence: bool
    is_sandbox: bool
    attendance_window_days: int


class ProgramList(Strict):
    items: list[Program]
    next_cursor: None = Field(default=None, description="Always null: every program the token sees is listed.")


class Headline(Strict):
    pairs: int
    pairs_by_state: dict[str, int]
    month: str = Field(description="The month of the held/missed counts, in UTC (YYYY-MM).")
    sessions_held_this_month: int
    sessions_missed_this_month: int
    missed_rate: float | None
    at_risk: int
    at_risk_by_rule: dict[str, int]
    broken_connections: int


class ProgramDetail(Program):
    headline: Headline


# --- pairs ----------------------------------------------------------------------------------------
class PersonRef(Strict):
    id: str
    name: str
    email: str


class RiskReason(Strict):
    rule: str
    text: str


class PairItem(Strict):
    id: str
    state: str
    state_label: str
    mentor: PersonRef
    mentee: PersonRef
    next_session: datetime | None
    last_held: datetime | None
    misses_in_a_row: int
    at_risk: bool
    at_risk_reasons: list[RiskReason]
    connection_health: Literal["ok", "broken"]


class PairPage(Strict):
    items: list[PairItem]
    next_cursor: str | None


class PairsQuery(Strict):
    state: State | None = None  # type: ignore[valid-type]
    at_risk: bool | None = Field(default=None, description="true: only pairs at risk; false: only pairs not at risk.")
    cursor: str | None = Cursor
    limit: int = Limit


class NewPair(Strict):
    mentor_email: str = Field(min_length=3, max_length=254, pattern=r"^[^\x00-\x1f\x7f\s]+$")
    mentee_email: str = Field(min_length=3, max_length=254, pattern=r"^[^\x00-\x1f\x7f\s]+$")
    mentor_name: str = Field(default="", max_length=200, pattern=ONE_LINE)
    mentee_name: str = Field(default="", max_length=200, pattern=ONE_LINE)


class NewPairs(Strict):
    pairs: list[NewPair] = Field(min_length=1, max_length=2000)


class ImportDone(Strict):
    pairs_created: int
    people_created: int


# --- sessions -------------------------------------------------------------------------------------
class SignalItem(Strict):
    kind: str
    at: datetime | None
    by: str | None
    detail: str | None
    text: str = Field(description="The signal in plain words, as the coordinator's pair page shows it.")


class SessionItem(Strict):
    id: str
    pair_id: str
    start: datetime
    end: datetime
    status: str
    attendance: Literal["held", "missed", "cancelled", "moved", "unknown"]
    verdict: str = Field(description="Tandem's verdict; `disputed` (the two disagree) is attendance `unknown`.")
    signals: list[SignalItem]
    coordinator_note: str | None


class SessionPage(Strict):
    items: list[SessionItem]
    next_cursor: str | None


class SessionsQuery(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date | None = Field(default=None, alias="from", description="First UTC day (included).")
    to: date | None = Field(default=None, description="First UTC day not included.")
    cursor: str | None = Cursor
    limit: int = Limit


# --- reports --------------------------------------------------------------------------------------
class ReportQuery(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date | None = Field(default=None, alias="from", description="First UTC day (included); "
                               "default: 30 days before `to`.")
    to: date | None = Field(default=None, description="First UTC day not included; default: tomorrow.")
    format: Literal["json", "csv"] = "json"


class ProgramRef(Strict):
    id: str
    name: str


class MissedRow(Strict):
    occurrence_id: str
    pair_id: str
    mentor_name: str
    mentor_email: str
    mentee_name: str
    mentee_email: str
    start_utc: str
    end_utc: str
    start_local: str
    local_zone: str
    reasons: str
    coordinator_note: str


class EqualAccessRow(Strict):
    mentor_id: str
    mentor_name: str
    mentor_email: str
    mentee_id: str
    mentee_name: str
    mentee_email: str
    pair_id: str
    sessions_held: int
    minutes_held: int
    share_of_best_served: float | None
    mentor_minutes_held: int
    mentor_least_served_share: float | None


class RecognitionRow(Strict):
    mentor_id: str
    mentor_name: str
    mentor_email: str
    sessions_held: int
    minutes_held: int
    hours_mentored: float
    mentees_met: int
    mentees: str


class _Report(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    report: str
    title: str
    program: ProgramRef
    from_: str = Field(alias="from")
    to: str
    columns: list[str]


class MissedReport(_Report):
    items: list[MissedRow]


class EqualAccessReport(_Report):
    items: list[EqualAccessRow]


class RecognitionReport(_Report):
    items: list[RecognitionRow]
