"""Build the Google and Microsoft OAuth clients from settings (the real services, or the
loopback emulators in tests and the sandbox)."""
from __future__ import annotations

import os
from urllib.parse import urlsplit

from adapters.providers import google_oauth
from adapters.providers.microsoft_auth import MicrosoftConnectFlow, MsalApps, MsalConfig
from adapters.providers.registry import microsoft_session
from config.settings import Settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in LOOPBACK


def allow_loopback_http(settings: Settings) -> None:
    """oauthlib refuses plain-http endpoints; the Google emulator on 127.0.0.1 is plain http.
    Relaxed only when the configured endpoint itself is a loopback http URL (tests, sandbox)."""
    uri = settings.google.auth_uri
    if uri.startswith("http://") and is_loopback(uri):
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


def google_config(settings: Settings, redirect_uri: str) -> google_oauth.GoogleOAuthConfig:
    g = settings.google
    real = g.auth_uri.startswith("https://accounts.google.com")
    issuers = google_oauth.GOOGLE_ISSUERS if real else (_origin(g.auth_uri),)
    return google_oauth.GoogleOAuthConfig(g.client_id, g.client_secret, redirect_uri, auth_uri=g.auth_uri,
                                          token_uri=g.token_uri, revoke_uri=g.revoke_uri, issuers=issuers,
                                          trust_env=not is_loopback(g.token_uri))


def microsoft_flow(settings: Settings, apps_cache: dict) -> MicrosoftConnectFlow:
    """The MSAL auth-code flow; ``apps_cache`` keeps one ``MsalApps`` per app (OpenID discovery
    is fetched once)."""
    apps = apps_cache.get("msal_apps")
    if apps is None:
        m = settings.microsoft
        apps = MsalApps(MsalConfig(m.client_id, m.client_secret, m.authority, microsoft_session(m.ca_file),
                                   validate_authority=not m.ca_file))
        apps_cache["msal_apps"] = apps
    return MicrosoftConnectFlow(apps)
