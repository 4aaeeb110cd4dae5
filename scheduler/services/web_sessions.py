"""Server-side sessions: a signed-in browser is a row that can be ended.

The browser's (signed) session cookie carries a random token; the ``web_sessions`` table holds
only its SHA-256, the person, an absolute expiry (:data:`SESSION_LIFETIME` after sign-in) and
when it was ended. Every request checks the row (:func:`session_person`), so signing out ends the
session for every copy of the cookie, "sign out everywhere" ends all of a person's sessions
(:func:`end_all_sessions`, also for an administrator acting on a person whose roles changed), and
each sign-in starts a new token (no session fixation). Roles are read afresh on every request.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from scheduler.core.entities import WebSession
from scheduler.ports import Dependencies
from scheduler.services.access import SignedInPerson, signed_in_person

__all__ = ["SESSION_LIFETIME", "end_all_sessions", "end_session", "forget_expired_sessions", "session_person",
           "start_session"]

SESSION_LIFETIME = timedelta(hours=12)


def _now(deps: Dependencies) -> datetime:
    """A browser's session lives in real time: in the sandbox, skipping a week ahead on the
    sandbox clock must not sign the person out (``SandboxClock.real_now``; other clocks are real)."""
    real_now = getattr(deps.clock, "real_now", None)
    return real_now() if real_now is not None else deps.clock.now()


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(deps: Dependencies, person_id: str) -> str:
    """A new session for ``person_id``; returns the token for the browser's cookie."""
    token = secrets.token_urlsafe(32)
    now = _now(deps)
    with deps.uow() as uow:
        uow.web_sessions.add(WebSession(id=_key(token), person_id=person_id, created_at=now,
                                        expires_at=now + SESSION_LIFETIME))
        uow.commit()
    return token


def session_person(deps: Dependencies, token: str | None, person_id: str | None) -> SignedInPerson | None:
    """The person signed in by ``token``, when its session is live and is ``person_id``'s; else
    None (unknown, ended, expired, or another person's)."""
    if not token or not person_id or len(token) > 128:
        return None
    with deps.uow() as uow:
        row = uow.web_sessions.get(_key(token))
        if row is None or row.person_id != person_id or row.revoked_at is not None:
            return None
        if row.expires_at <= _now(deps):
            return None
    return signed_in_person(deps, person_id)


def end_session(deps: Dependencies, token: str | None) -> None:
    """Sign out: the session ends for every copy of its cookie."""
    if not token or len(token) > 128:
        return
    with deps.uow() as uow:
        row = uow.web_sessions.get(_key(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = _now(deps)
            uow.commit()


def end_all_sessions(deps: Dependencies, person_id: str) -> int:
    """Sign out everywhere: end every session of ``person_id``; returns how many were live."""
    with deps.uow() as uow:
        ended = uow.web_sessions.revoke_all(person_id, _now(deps))
        uow.commit()
    return ended


def forget_expired_sessions(deps: Dependencies) -> int:
    """Delete sessions that expired more than a day ago (a tick step: the table stays small);
    returns how many."""
    with deps.uow() as uow:
        forgotten = uow.web_sessions.delete_expired(_now(deps) - timedelta(days=1))
        uow.commit()
    return forgotten
