"""Security for every page: CSRF on every form, security headers with a strict CSP, signed
expiring links, the signed-in person and role checks."""
from __future__ import annotations

from flask import Flask

from web.security import auth, csrf, headers


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    headers.init_app(app)
    auth.init_app(app)
