"""Shared pieces of the Graph emulator tests: tokens obtained through the emulator's own
authorize + token endpoints (raw HTTP, PKCE by hand). The fixtures (a running emulator, a TLS
session) are in ``conftest.py``."""
from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from urllib.parse import urlencode


from emulators.microsoft import GraphEmulator
from emulators.microsoft.browser import sign_in

REDIRECT = "http://127.0.0.1:5000/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_url(emu: GraphEmulator, scopes: str, challenge: str, *, login_hint: str | None = None,
                  state: str = "st-1", nonce: str = "n-1", mode: str | None = None) -> str:
    params = {"client_id": emu.client_id, "response_type": "code", "redirect_uri": REDIRECT, "scope": scopes,
              "state": state, "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"}
    if login_hint:
        params["login_hint"] = login_hint
    if mode:
        params["response_mode"] = mode
    return f"{emu.authority}/oauth2/v2.0/authorize?{urlencode(params)}"


def redeem(emu: GraphEmulator, http, code: str, verifier: str):
    return http.post(f"{emu.authority}/oauth2/v2.0/token", data={
        "client_id": emu.client_id, "client_secret": emu.client_secret, "grant_type": "authorization_code",
        "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})


def tokens(emu: GraphEmulator, http, email: str, scopes: str = "Calendars.ReadWrite") -> dict:
    """Sign ``email`` in (auto-approved) and return the token endpoint's JSON reply."""
    emu.add_user(email)
    emu.set_auto_approve(True)
    verifier, challenge = pkce()
    answer = sign_in(http, authorize_url(emu, f"{scopes} openid profile offline_access", challenge, login_hint=email))
    reply = redeem(emu, http, answer["code"], verifier)
    assert reply.status_code == 200, reply.text
    return reply.json()


def bearer(token_reply: dict) -> dict:
    return {"Authorization": f"Bearer {token_reply['access_token']}"}


def unique(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:8]}@contoso.example"


def weekly_event(start: str = "2027-03-02T10:00:00", tz: str = "Eastern Standard Time", **extra) -> dict:
    body = {"subject": "Mentoring", "body": {"contentType": "text", "content": "Agenda"},
            "start": {"dateTime": start, "timeZone": tz},
            "end": {"dateTime": start[:11] + "10:45:00", "timeZone": tz},
            "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
                           "range": {"type": "numbered", "startDate": start[:10], "numberOfOccurrences": 6,
                                     "recurrenceTimeZone": tz}}}
    body.update(extra)
    return body
