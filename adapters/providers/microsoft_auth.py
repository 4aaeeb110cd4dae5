"""MSAL for Tandem: the auth-code flow the web app runs when someone connects an Outlook /
Microsoft 365 calendar, and silent token acquisition for the Graph adapter.

Credentials stored per connection (encrypted by the caller) are a dict::

    {"msal_cache": "<SerializableTokenCache.serialize()>",
     "home_account_id": "<uid>.<utid>",
     "scopes": ["Calendars.ReadBasic"]}          # what the person consented to

Rules kept here:
- One ``SerializableTokenCache`` per user, never shared; after any MSAL call check
  ``has_state_changed`` *before* ``serialize()``, and persist when it changed: Microsoft rotates
  refresh tokens on every refresh, so an unsaved cache loses the only valid refresh token.
- ``acquire_token_silent_with_error`` (not ``acquire_token_silent``, which hides the reason):
  ``invalid_grant`` / ``interaction_required`` means consent is gone -> :class:`ReconnectNeeded`.
- Least privilege: ``Calendars.ReadBasic`` to read free/busy, ``Calendars.ReadWrite`` for people
  whose calendar Tandem books on. MSAL adds ``openid profile offline_access`` itself.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Sequence

import msal
import requests
from msal.exceptions import MsalServiceError

from scheduler.errors import ProviderUnavailable, ReconnectNeeded

FREE_BUSY_SCOPES = ("Calendars.ReadBasic",)
BOOKING_SCOPES = ("Calendars.ReadWrite",)
PERSONAL_ACCOUNT_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # utid of every outlook.com account
_RECONNECT_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required", "login_required",
                               "invalid_client", "unauthorized_client"})


@dataclass(frozen=True)
class MsalConfig:
    """How to reach the Microsoft identity platform (or the emulator)."""

    client_id: str
    client_secret: str
    authority: str  # https://login.microsoftonline.com/common, or the emulator's
    session: requests.Session  # verify=<CA>, trust_env=False in tests
    validate_authority: bool = True  # False for the emulator (instance_discovery=False)


class MsalApps:
    """Builds a ``ConfidentialClientApplication`` per token cache, reusing MSAL's HTTP cache so
    OpenID discovery is fetched once per thread, not once per call. (The HTTP cache is per thread
    because MSAL guards it with a lock per application, not per cache.)"""

    def __init__(self, config: MsalConfig):
        self.config = config
        self._local = threading.local()

    def app(self, cache: msal.SerializableTokenCache) -> msal.ConfidentialClientApplication:
        """A confidential client bound to ``cache`` (one person's tokens)."""
        c = self.config
        http_cache = getattr(self._local, "http_cache", None)
        if http_cache is None:
            http_cache = self._local.http_cache = {}
        try:
            return msal.ConfidentialClientApplication(
                c.client_id, client_credential=c.client_secret, authority=c.authority,
                token_cache=cache, http_client=c.session, http_cache=http_cache,
                instance_discovery=None if c.validate_authority else False)
        except (requests.RequestException, MsalServiceError, ValueError) as exc:
            raise ProviderUnavailable(f"Microsoft sign-in service unreachable ({type(exc).__name__}); "
                                      "try again in a few minutes") from exc


def load_cache(credentials: dict) -> msal.SerializableTokenCache:
    """The per-user MSAL token cache stored in ``credentials`` (empty when none)."""
    cache = msal.SerializableTokenCache()
    if credentials.get("msal_cache"):
        cache.deserialize(credentials["msal_cache"])
    return cache


def is_personal_account(credentials: dict) -> bool:
    """outlook.com / hotmail accounts live in the consumer tenant (home_account_id ``uid.utid``)."""
    return str(credentials.get("home_account_id", "")).endswith("." + PERSONAL_ACCOUNT_TENANT)


def acquire_access_token(apps: MsalApps, credentials: dict, *, force_refresh: bool = False) -> tuple[str, dict | None]:
    """An access token for the stored account, and the new credentials if the cache changed.

    Raises :class:`ReconnectNeeded` when the refresh token is dead (never retried) and
    :class:`ProviderUnavailable` when the identity platform fails transiently.
    """
    cache = load_cache(credentials)
    app = apps.app(cache)
    home = credentials.get("home_account_id")
    accounts = app.get_accounts()
    account = next((a for a in accounts if a.get("home_account_id") == home), None)
    if account is None:
        raise ReconnectNeeded("no Microsoft sign-in is stored for this calendar: reconnect it")
    scopes = list(credentials.get("scopes") or FREE_BUSY_SCOPES)
    try:
        result = app.acquire_token_silent_with_error(scopes, account, force_refresh=force_refresh)
    except (requests.RequestException, MsalServiceError) as exc:
        # MsalServiceError: the token endpoint answered 429/5xx (MSAL then throttles repeats itself)
        raise ProviderUnavailable(f"Microsoft sign-in service failed ({type(exc).__name__}); "
                                  "try again in a few minutes") from exc
    changed = _changed_credentials(credentials, cache)
    if result is None:
        raise ReconnectNeeded("the stored Microsoft sign-in has no usable token: reconnect the calendar")
    if "access_token" not in result:
        error = result.get("error", "")
        codes = result.get("error_codes") or []
        if error in _RECONNECT_ERRORS:
            raise ReconnectNeeded(f"Microsoft says the calendar consent is gone ({error}, AADSTS{codes[0] if codes else '?'}):"
                                  " ask the person to reconnect their calendar")
        raise ProviderUnavailable(f"Microsoft sign-in failed ({error or 'unknown error'}); try again later")
    return result["access_token"], changed


def _changed_credentials(credentials: dict, cache: msal.SerializableTokenCache) -> dict | None:
    if not cache.has_state_changed:  # checked before serialize(): only a changed cache is persisted
        return None
    return {**credentials, "msal_cache": cache.serialize()}


@dataclass(frozen=True)
class Connection:
    """What the web app stores after a successful connect."""

    email: str
    credentials: dict
    personal: bool


class MicrosoftConnectFlow:
    """The auth-code flow (with PKCE, state and nonce, all added by MSAL).

    ``start`` returns the flow dict to keep in the server-side session and the URL to send the
    browser to; ``finish`` takes that dict and the query/form parameters of the redirect back.
    """

    def __init__(self, apps: MsalApps):
        self.apps = apps

    def start(self, redirect_uri: str, scopes: Sequence[str] = FREE_BUSY_SCOPES, *,
              login_hint: str | None = None) -> dict:
        """Begin connecting: the MSAL flow dict (keep it server-side) with ``auth_uri`` to redirect to."""
        app = self.apps.app(msal.SerializableTokenCache())
        return app.initiate_auth_code_flow(list(scopes), redirect_uri=redirect_uri, login_hint=login_hint,
                                           response_mode="form_post", prompt="select_account")

    def finish(self, flow: dict, auth_response: dict) -> Connection:
        """Redeem the code from the redirect; ReconnectNeeded when the answer does not match the flow."""
        cache = msal.SerializableTokenCache()
        app = self.apps.app(cache)
        try:
            result = app.acquire_token_by_auth_code_flow(flow, dict(auth_response))
        except ValueError as exc:  # state mismatch, replayed or forged response
            raise ReconnectNeeded("the Microsoft sign-in answer did not match this request: please try "
                                  "connecting again") from exc
        except (requests.RequestException, MsalServiceError) as exc:
            raise ProviderUnavailable("Microsoft sign-in service failed; try again in a few minutes") from exc
        if "access_token" not in result:
            raise ReconnectNeeded(f"Microsoft sign-in did not complete ({result.get('error', 'unknown error')}): "
                                  "please try connecting again")
        claims = result.get("id_token_claims") or {}
        home = _home_account_id(app, claims)
        granted = [s for s in str(result.get("scope", "")).split() if s not in ("openid", "profile", "offline_access",
                                                                             "email")]
        credentials = {"msal_cache": cache.serialize() if cache.has_state_changed else "",
                       "home_account_id": home, "scopes": granted or list(flow.get("scope", []))}
        return Connection(email=claims.get("preferred_username", ""), credentials=credentials,
                          personal=is_personal_account(credentials))


def _home_account_id(app: msal.ClientApplication, claims: dict) -> str:
    for account in app.get_accounts():
        if account.get("local_account_id") == claims.get("oid") or len(app.get_accounts()) == 1:
            return account["home_account_id"]
    raise ReconnectNeeded("Microsoft sign-in returned no account: please try connecting again")
