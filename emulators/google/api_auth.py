"""Who is calling the Calendar API: bearer-token check, scope check, calendar ownership."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request

from emulators.google.errors import ApiError, insufficient_scope, invalid_credentials, not_found
from emulators.google.scopes import normalize_scopes
from emulators.google.store import Calendar, Store


@dataclass(frozen=True)
class Caller:
    email: str
    scopes: frozenset[str]
    client_id: str


def authenticate(store: Store, accepted_scopes: frozenset[str], authorization: str | None = None) -> Caller:
    """The caller of this request, or 401 (no/invalid/expired token) / 403 (scope missing)."""
    header = authorization if authorization is not None else request.headers.get("Authorization", "")
    value = header[7:].strip() if header[:7].lower() == "bearer " else request.args.get("access_token", "")
    if not value:
        raise ApiError(401, "required", "Request is missing required authentication credential. Expected OAuth 2 "
                       "access token, login cookie or other valid authentication credential.",
                       location="Authorization", location_type="header")
    with store.lock:
        token = store.access_tokens.get(value)
        if token is None or not token.usable(store.clock()):
            raise invalid_credentials()
        scopes = frozenset(normalize_scopes(token.grant.scopes))
        if not scopes & accepted_scopes:
            raise insufficient_scope()
        return Caller(token.grant.email, scopes, token.grant.client_id)


def own_calendar(store: Store, caller: Caller, calendar_id: str) -> Calendar:
    """The caller's calendar named ``calendar_id`` (``primary`` = their own); 404 otherwise."""
    wanted = caller.email if calendar_id == "primary" else calendar_id.lower()
    calendar = store.calendars.get(wanted)
    if calendar is None or calendar.owner != caller.email:
        raise not_found()
    return calendar
