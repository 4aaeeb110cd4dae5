"""Security headers on every response: a Content-Security-Policy without inline script or
style, no framing, no sniffing, no referrer (links can carry signed tokens), no caching of
signed-in pages, cross-origin isolation of our resources, and HSTS whenever the site is served
over HTTPS (the session cookie is Secure or ``app.base_url`` is https://)."""
from __future__ import annotations

from flask import Flask, Response, current_app, session

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])


# Two years, all subdomains: once a browser saw it, it never speaks plain HTTP to us again.
HSTS = "max-age=63072000; includeSubDomains"


def _secure(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    response.headers.setdefault("X-Permitted-Cross-Domain-Policies", "none")
    if current_app.config.get("TANDEM_HSTS"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if response.mimetype == "text/html" and session.get("pid"):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    settings = app.extensions["tandem"].settings
    app.config["TANDEM_HSTS"] = (settings.security.session_cookie_secure
                                 or settings.app.base_url.lower().startswith("https://"))
    app.after_request(_secure)
