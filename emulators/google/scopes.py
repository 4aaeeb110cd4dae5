"""OAuth scopes the emulator knows, and which of them each Calendar call accepts."""
from __future__ import annotations

from typing import Iterable

CAL = "https://www.googleapis.com/auth/calendar"
FREEBUSY = CAL + ".freebusy"
EVENTS_OWNED = CAL + ".events.owned"
USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
USERINFO_PROFILE = "https://www.googleapis.com/auth/userinfo.profile"

# Google answers the short OpenID names with their long forms in the token reply.
_ALIASES = {"email": USERINFO_EMAIL, "profile": USERINFO_PROFILE}

READ_FREEBUSY = frozenset({CAL, CAL + ".readonly", FREEBUSY, CAL + ".events.freebusy"})
WRITE_EVENTS = frozenset({CAL, CAL + ".events", EVENTS_OWNED})
READ_EVENTS = WRITE_EVENTS | {CAL + ".readonly", CAL + ".events.readonly", EVENTS_OWNED + ".readonly"}
ANY_CALENDAR = READ_FREEBUSY | READ_EVENTS
USERINFO = frozenset({"openid", USERINFO_EMAIL})


def normalize_scopes(scopes: Iterable[str]) -> list[str]:
    """Scopes as Google reports them back (``email`` -> the userinfo.email URL), de-duplicated.

    >>> normalize_scopes(["openid", "email", "email"])
    ['openid', 'https://www.googleapis.com/auth/userinfo.email']
    """
    out: list[str] = []
    for scope in scopes:
        scope = _ALIASES.get(scope, scope)
        if scope not in out:
            out.append(scope)
    return out
