"""Connecting a Google calendar: the OAuth 2.0 authorization-code flow with state and PKCE
(via ``google_auth_oauthlib.flow.Flow``), turning the token reply into stored credentials, and
revoking them.

The web app stores ``AuthorizationStart.state`` and ``.code_verifier`` in the session, redirects
to ``.url``, and on the callback calls :func:`finish_authorization` with both. The resulting
``GoogleConnection.credentials`` dict is what ``CalendarAccount.credentials`` holds for Google.
"""
from __future__ import annotations

import base64
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Mapping

import requests
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from scheduler.errors import ProviderUnavailable, ReconnectNeeded

GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")

FREEBUSY_SCOPE = "https://www.googleapis.com/auth/calendar.freebusy"
EVENTS_OWNED_SCOPE = "https://www.googleapis.com/auth/calendar.events.owned"
EMAIL_SCOPE = "https://www.googleapis.com/auth/userinfo.email"  # Google reports "email" as this
# Least privilege: read free/busy, write only events the app's user owns, know who connected.
SCOPES = ("openid", EMAIL_SCOPE, FREEBUSY_SCOPE, EVENTS_OWNED_SCOPE)
REVOKE_TIMEOUT_S = 15


@dataclass(frozen=True)
class GoogleOAuthConfig:
    """Where Google (or the emulator) lives and who we are to it."""

    client_id: str
    client_secret: str
    redirect_uri: str
    auth_uri: str = GOOGLE_AUTH_URI
    token_uri: str = GOOGLE_TOKEN_URI
    revoke_uri: str = GOOGLE_REVOKE_URI
    issuers: tuple[str, ...] = GOOGLE_ISSUERS
    scopes: tuple[str, ...] = SCOPES
    trust_env: bool = True  # honour proxy / CA environment variables for the token request

    @classmethod
    def for_emulator(cls, base_url: str, redirect_uri: str, client_id: str, client_secret: str) -> "GoogleOAuthConfig":
        """A config pointing at a loopback Google emulator."""
        return cls(client_id, client_secret, redirect_uri, auth_uri=base_url + "/o/oauth2/auth",
                   token_uri=base_url + "/token", revoke_uri=base_url + "/revoke", issuers=(base_url,),
                   trust_env=False)


@dataclass(frozen=True)
class AuthorizationStart:
    """Where to send the browser, and what to keep in the session until the callback."""

    url: str
    state: str
    code_verifier: str


@dataclass(frozen=True)
class GoogleConnection:
    """A finished consent: who connected, the credentials to store, what was (not) granted."""

    email: str
    credentials: dict
    granted_scopes: tuple[str, ...]
    missing_scopes: tuple[str, ...]

    @property
    def can_read_free_busy(self) -> bool:
        return FREEBUSY_SCOPE not in self.missing_scopes

    @property
    def can_write_events(self) -> bool:
        return EVENTS_OWNED_SCOPE not in self.missing_scopes


def _flow(config: GoogleOAuthConfig, *, state: str | None = None, code_verifier: str | None = None) -> Flow:
    client = {"web": {"client_id": config.client_id, "client_secret": config.client_secret,
                      "auth_uri": config.auth_uri, "token_uri": config.token_uri,
                      "redirect_uris": [config.redirect_uri]}}
    flow = Flow.from_client_config(client, scopes=list(config.scopes), redirect_uri=config.redirect_uri,
                                   state=state, code_verifier=code_verifier, autogenerate_code_verifier=True)
    flow.oauth2session.trust_env = config.trust_env
    return flow


def start_authorization(config: GoogleOAuthConfig, *, login_hint: str | None = None) -> AuthorizationStart:
    """Build the consent URL (offline access, forced consent so a refresh token comes back, PKCE S256)."""
    flow = _flow(config)
    extra = {"login_hint": login_hint} if login_hint else {}
    url, state = flow.authorization_url(access_type="offline", prompt="consent", include_granted_scopes="true", **extra)
    return AuthorizationStart(url, state, flow.code_verifier)


def finish_authorization(config: GoogleOAuthConfig, *, saved_state: str, code_verifier: str,
                         callback_args: Mapping[str, str], now: datetime | None = None) -> GoogleConnection:
    """Exchange the callback's code for tokens. Raises ReconnectNeeded with a message for the
    person when consent was refused, the state does not match, or the code is no longer valid."""
    if not hmac.compare_digest(str(callback_args.get("state", "")), saved_state):
        raise ReconnectNeeded("The Google sign-in did not match this browser session. Start connecting again.")
    if callback_args.get("error"):
        raise ReconnectNeeded("Google access was not allowed. Connect again and press Allow to share free/busy.")
    code = callback_args.get("code")
    if not code:
        raise ReconnectNeeded("Google sent no authorization code. Start connecting again.")
    flow = _flow(config, state=saved_state, code_verifier=code_verifier)
    try:
        token = dict(flow.fetch_token(code=code))
    except Warning as partial:  # oauthlib raises this when fewer scopes were granted than asked
        token = dict(getattr(partial, "token", {}))
    except OAuth2Error as exc:
        raise ReconnectNeeded(f"Google refused the sign-in ({exc.error}). Start connecting again.") from None
    except requests.RequestException:
        raise ProviderUnavailable("Google's sign-in service could not be reached. Try again in a minute.") from None
    if not token.get("access_token"):
        raise ReconnectNeeded("Google returned no access token. Start connecting again.")
    scope = token.get("scope", config.scopes)
    granted = tuple(scope.split() if isinstance(scope, str) else scope)  # oauthlib hands back a list
    email = _email_from_id_token(token.get("id_token"), config)
    now = now or datetime.now(timezone.utc)
    expiry = now + timedelta(seconds=int(token.get("expires_in", 3600)))
    credentials = {"token": token["access_token"], "refresh_token": token.get("refresh_token"),
                   "expiry": expiry.astimezone(timezone.utc).replace(tzinfo=None).isoformat(), "scopes": list(granted)}
    missing = tuple(s for s in (FREEBUSY_SCOPE, EVENTS_OWNED_SCOPE) if s not in granted)
    return GoogleConnection(email, credentials, granted, missing)


def _email_from_id_token(id_token: str | None, config: GoogleOAuthConfig) -> str:
    """The verified email in the ID token. The token comes straight from the token endpoint over
    TLS, so (per OpenID Connect core 3.1.3.7) its issuer and audience are checked, not its signature."""
    if not id_token:
        raise ReconnectNeeded("Google did not say which account connected (no ID token). Connect again.")
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        raise ReconnectNeeded("Google's ID token could not be read. Connect again.") from None
    if claims.get("aud") != config.client_id or claims.get("iss") not in config.issuers:
        raise ReconnectNeeded("Google's ID token was not meant for Tandem. Connect again.")
    if not claims.get("email") or claims.get("email_verified") is False:
        raise ReconnectNeeded("The Google account has no verified email address.")
    return str(claims["email"]).lower()


def credentials_from_dict(data: Mapping, *, client_id: str, client_secret: str, token_uri: str) -> Credentials:
    """google-auth credentials from the stored dict (``token``, ``refresh_token``, ``expiry``, ``scopes``)."""
    expiry = datetime.fromisoformat(data["expiry"].rstrip("Z")) if data.get("expiry") else None
    if expiry is not None and expiry.tzinfo is not None:
        expiry = expiry.astimezone(timezone.utc).replace(tzinfo=None)  # google-auth compares naive UTC
    return Credentials(token=data.get("token"), refresh_token=data.get("refresh_token"), token_uri=token_uri,
                       client_id=client_id, client_secret=client_secret, scopes=data.get("scopes"), expiry=expiry)


def credentials_to_dict(credentials: Credentials, previous: Mapping | None = None) -> dict:
    """The dict to store after google-auth refreshed ``credentials`` (keeps the refresh token)."""
    data = dict(previous or {})
    data.update({"token": credentials.token, "refresh_token": credentials.refresh_token or data.get("refresh_token"),
                 "expiry": credentials.expiry.isoformat() if credentials.expiry else None,
                 "scopes": list(credentials.granted_scopes or credentials.scopes or data.get("scopes") or [])})
    return data


def revoke_token(revoke_uri: str, token: str, *, trust_env: bool = True) -> None:
    """Give the token back. An already-invalid token counts as revoked."""
    session = requests.Session()
    session.trust_env = trust_env
    try:
        reply = session.post(revoke_uri, data={"token": token}, timeout=REVOKE_TIMEOUT_S,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    except requests.RequestException:
        raise ProviderUnavailable("Google's revoke endpoint could not be reached. Try again later.") from None
    finally:
        session.close()
    if reply.status_code >= 500:
        raise ProviderUnavailable(f"Google's revoke endpoint answered {reply.status_code}. Try again later.")
    # 200: revoked; 400 invalid_token: it was already dead — the outcome we wanted.
