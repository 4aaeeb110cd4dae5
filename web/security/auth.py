"""Who is signed in, and role checks as decorators.

The session holds only the person's id (``pid``). Roles: ``admin`` (``Person.is_admin``),
``coordinator`` of a program (a membership), and ``mentor``/``mentee`` of a pair. Every view
says what it needs with one decorator; a check that fails answers 403 with a page saying why
and where to go, and a visitor who is not signed in is sent to the sign-in page.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Callable

from flask import Flask, abort, g, redirect, request, session, url_for
from sqlalchemy import select

from adapters.storage.models import Membership, Pair, Person
from web.deps import uow
from web.security import csrf


@dataclass(frozen=True)
class CurrentPerson:
    """The signed-in person as pages need them (a plain value, not an ORM object)."""

    id: str
    email: str
    name: str
    tz: str | None
    is_admin: bool
    onboarded: bool
    coordinates: frozenset[str]  # program ids

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def is_coordinator(self) -> bool:
        return self.is_admin or bool(self.coordinates)


def sign_in(person_id: str) -> None:
    """Start a fresh session for ``person_id`` (old session data, including CSRF, is dropped)."""
    session.clear()
    session["pid"] = person_id
    session.permanent = True
    csrf.rotate()


def sign_out() -> None:
    session.clear()


def _load() -> None:
    g.person = None
    person_id = session.get("pid")
    if not person_id or request.endpoint == "static":
        return
    with uow() as work:
        person = work.session.get(Person, person_id)
        if person is None:
            session.clear()
            return
        programs = frozenset(work.session.scalars(select(Membership.program_id).where(
            Membership.person_id == person.id, Membership.role == "coordinator")))
        g.person = CurrentPerson(person.id, person.email, person.name, person.tz, person.is_admin,
                                 person.onboarded_at is not None, programs)


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
        with uow() as work:
            pair = work.session.scalar(select(Pair).where(Pair.id == kwargs.get("pair_id")))
            members = (pair.mentor_id, pair.mentee_id) if pair is not None else ()
        if person.id not in members:
            abort(403, description="This page belongs to another mentoring pair. "
                                   "Your own sessions are on your home page.")
        return view(*args, **kwargs)

    return wrapped


def init_app(app: Flask) -> None:
    app.before_request(_load)

    @app.context_processor
    def _person():
        return {"me": current()}
