"""CSRF protection for every state-changing request.

A random token lives in the (signed, HttpOnly) session; every form carries it in a hidden
``csrf_token`` field (``{{ csrf_field() }}`` in templates) and every POST/PUT/PATCH/DELETE must
send it back, in the form or the ``X-CSRF-Token`` header. Views that receive machine callbacks
(webhooks) opt out with :func:`exempt`.
"""
from __future__ import annotations

import hmac
import secrets
from typing import Callable

from flask import Flask, abort, current_app, request, session
from markupsafe import Markup, escape

SESSION_KEY = "_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def token() -> str:
    """This session's CSRF token (created on first use)."""
    value = session.get(SESSION_KEY)
    if not value:
        value = secrets.token_urlsafe(32)
        session[SESSION_KEY] = value
    return value


def rotate() -> None:
    """A fresh token (called at sign-in, so a token seen before sign-in is useless after)."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)


def field() -> Markup:
    return Markup(f'<input type="hidden" name="{FIELD}" value="{escape(token())}">')


def exempt(view: Callable) -> Callable:
    """Mark a view that authenticates its caller otherwise (e.g. a signed webhook)."""
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def _check() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, "csrf_exempt", False):
        return
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    if not expected or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description="This form has expired or was not sent from a Tandem page. "
                               "Go back, reload the page and send it again.")


def init_app(app: Flask) -> None:
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = token
    app.jinja_env.globals["csrf_field"] = field
