"""Who is signed in, and role checks as decorators.

The (signed) session cookie holds the person's id (``pid``) and a session token (``sid``) whose
row in ``web_sessions`` is checked on every request (:mod:`scheduler.services.web_sessions`):
signing out ends it for every copy of the cookie, and each sign-in starts a new one. Roles: ``admin`` (``Person.is_admin``),
``coordinator`` of a program (a membership), and ``mentor``/``mentee`` of a pair. Every view
says what it needs with one decorator; a check that fails answers 403 with a page saying why
and where to go, and a visitor who is not signed in is sent to the sign-in page.
"""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import Flask, abort, g, redirect, request, session, url_for

from scheduler.services import web_sessions
from scheduler.services.access import SignedInPerson, is_pair_member
from web import deps
from web.security import csrf

CurrentPerson = SignedInPerson  # the signed-in person as pages need them (a plain value)


def sign_in(person_id: str) -> None:
    """Start a fresh session for ``person_id``: a new server-side session (a new token: no
    fixation), old session data (CSRF included) dropped, the browser's earlier session ended."""
    container = deps.container()
    web_sessions.end_session(container, session.get("sid"))
    token = web_sessions.start_session(container, person_id)
    session.clear()
    session["pid"], session["sid"] = person_id, token
    session.permanent = True
    csrf.rotate()


def sign_out() -> None:
    """End this browser's session on the server (every copy of the cookie stops working)."""
    web_sessions.end_session(deps.container(), session.get("sid"))
    session.clear()


def sign_out_everywhere(person_id: str) -> int:
    """End every session of ``person_id`` (this browser's too)."""
    ended = web_sessions.end_all_sessions(deps.container(), person_id)
    session.clear()
    return ended


def _load() -> None:
    g.person = None
    person_id = session.get("pid")
    if not person_id or request.endpoint == "static":
        return
    person = web_sessions.session_person(deps.container(), session.get("sid"), person_id)
    if person is None:
        session.clear()
        return
    g.person = person


def current() -> CurrentPerson | None:
    return g.get("person")


def _to_sign_in():
    return redirect(url_for("auth.sign_in", next=request.full_path if request.method == "GET" else None))


def login_required(view: Callable) -> Callable:
    """Any signed-in person."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if current() is None:
            return _to_sign_in()
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):
        person = current()
        if person is None:
            return _to_sign_in()
        if not person.is_admin:
            abort(403, description="Only Tandem administrators can open this page.")
        return view(*args, **kwargs)

    return wrapped


def coordinator_required(view: Callable) -> Callable:
    """A coordinator of the program named by the ``program_id`` view argument (or an admin);
    without that argument, a coordinator of any program."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        person = current()
        if person is None:
            return _to_sign_in()
        program_id = kwargs.get("program_id")
        allowed = person.is_admin or (program_id in person.coordinates if program_id else bool(person.coordinates))
        if not allowed:
            abort(403, description="Only the program's coordinators can open this page. "
                                   "If you coordinate this program, ask an administrator to add you.")
        return view(*args, **kwargs)

    return wrapped


def pair_member_required(view: Callable) -> Callable:
    """The mentor or the mentee of the pair named by the ``pair_id`` view argument. Not
    coordinators and not admins: a pair's agenda, goals and notes are theirs alone
    (coordinators see each pair's state on the program page)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        person = current()
        if person is None:
            return _to_sign_in()
        if not is_pair_member(deps.container(), person.id, kwargs.get("pair_id")):
            abort(403, description="This page belongs to another mentoring pair. "
                                   "Your own sessions are on your home page.")
        return view(*args, **kwargs)

    return wrapped


def init_app(app: Flask) -> None:
    app.before_request(_load)

    @app.context_processor
    def _person():
        return {"me": current()}
