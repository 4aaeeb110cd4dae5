"""What ``tandem doctor`` checks for production beyond the settings' own problems: sign-in
clients, a reachable SMTP server, a public HTTPS base URL for webhooks and links, secrets that
are present and strong. Each check answers ``(ok, area, message)``; a failure says the fix."""
from __future__ import annotations

import ipaddress
import smtplib
import socket
from urllib.parse import urlsplit

from config.settings import Settings

Check = tuple[bool, str, str]
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_public_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if not host or host in LOCAL_NAMES or host.endswith((".local", ".localhost", ".internal", ".lan")):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host  # a bare name ("web") only resolves inside a private network
    return address.is_global


def production_checks(settings: Settings, *, smtp_timeout: float = 5.0) -> list[Check]:
    checks: list[Check] = []
    # sign-in / calendar clients
    clients = []
    for name, section, setting in (("Google", settings.google, "google"),
                                   ("Microsoft", settings.microsoft, "microsoft")):
        if section.client_id and section.client_secret:
            clients.append(name)
        elif section.client_id or section.client_secret:
            missing = "client_secret" if section.client_id else "client_id"
            checks.append((False, "oauth", f"{setting}.{missing} is missing: set both {setting}.client_id and "
                                           f"{setting}.client_secret from the app registration, or neither"))
    if clients:
        checks.append((True, "oauth", f"OAuth clients configured: {', '.join(clients)}"))
    elif not any(not ok for ok, area, _ in checks if area == "oauth"):
        checks.append((False, "oauth", "no OAuth client is configured, so nobody can connect Google or Microsoft "
                                       "calendars: set google.client_id/client_secret and/or "
                                       "microsoft.client_id/client_secret (see docs/providers-google.md)"))
    # base URL: links in emails and the webhook endpoints the providers call
    url = urlsplit(settings.app.base_url)
    if url.scheme != "https":
        checks.append((False, "base_url", f"app.base_url is {settings.app.base_url!r}: Google and Microsoft only "
                                          "deliver webhooks to https; set it to the public https:// address"))
    elif not _is_public_host(url.hostname or ""):
        checks.append((False, "base_url", f"app.base_url host {url.hostname!r} is not public: providers cannot reach "
                                          "its webhooks and emailed links will not open; use the public DNS name"))
    else:
        checks.append((True, "base_url", f"webhooks and links use {settings.app.base_url}"))
    # secrets
    if not settings.security.webhook_secret:
        checks.append((False, "secrets", "security.webhook_secret is missing: webhooks cannot be verified; set it "
                                         "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"))
    elif len(settings.security.webhook_secret) < 32:
        checks.append((False, "secrets", "security.webhook_secret is shorter than 32 characters; generate a new one "
                                         "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"))
    key = settings.security.secret_key
    if key and len(set(key)) < 10:
        checks.append((False, "secrets", "security.secret_key has too few distinct characters to be random; "
                                         "generate one (python -c 'import secrets; print(secrets.token_urlsafe(48))')"))
    if settings.security.token_keys:
        checks.append((True, "secrets", f"{len(settings.security.token_keys)} token key(s) present"))
    if not settings.metrics.token:
        checks.append((True, "metrics", "metrics.token is not set, so /metrics answers 404 in production; set it "
                                        "to let Prometheus scrape with 'Authorization: Bearer <token>'"))
    # SMTP
    host, port = settings.mail.smtp_host, settings.mail.smtp_port
    if not host:
        checks.append((False, "smtp", "mail.smtp_host is not set: no email can be sent; set your provider's host"))
    else:
        try:
            with smtplib.SMTP(host, port, timeout=smtp_timeout) as smtp:
                code, _ = smtp.noop()
            if code != 250:
                raise smtplib.SMTPResponseException(code, b"NOOP refused")
            checks.append((True, "smtp", f"SMTP server {host}:{port} answers"))
        except (OSError, smtplib.SMTPException, socket.timeout) as exc:
            checks.append((False, "smtp", f"SMTP server {host}:{port} is not reachable ({exc.__class__.__name__}: "
                                          f"{exc}); check mail.smtp_host, mail.smtp_port and the firewall"))
    return checks
