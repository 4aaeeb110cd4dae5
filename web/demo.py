"""The sandbox's front door (only with ``app.demo`` on, never in production): sign in as any
sandbox person with one click, and read the emails Tandem sent them in the demo inbox."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from adapters.storage.models import Membership, Person, Program
from tandem.demo import PEOPLE
from web.security.auth import sign_in

bp = Blueprint("demo", __name__, url_prefix="/demo")


def _container():
    return current_app.extensions["tandem"]


@bp.get("")
def index():
    container = _container()
    emails = [email for email, *_ in PEOPLE]
    with container.uow() as uow:
        people = {p.email: p for p in uow.session.scalars(select(Person).where(Person.email.in_(emails)))}
        sandbox = uow.session.scalar(select(Program).where(Program.is_sandbox.is_(True)))
        roles = {}
        if sandbox is not None:
            for person_id, role in uow.session.execute(select(Membership.person_id, Membership.role)
                                                       .where(Membership.program_id == sandbox.id)):
                roles.setdefault(person_id, set()).add(role)
        rows = [{"id": people[e].id, "name": people[e].name, "email": e, "tz": people[e].tz,
                 "roles": ", ".join(sorted(roles.get(people[e].id, ())))} for e in emails if e in people]
        pairs = [{"mentor": p.mentor.name, "mentee": p.mentee.name, "status": p.status,
                  "reason": p.status_reason} for p in (sandbox.pairs if sandbox else [])]
    mailer = container.mailer
    inbox = list(reversed(getattr(mailer, "sent", [])))[:50]
    return render_template("demo/index.html", people=rows, pairs=pairs, inbox=inbox)


@bp.post("/sign-in")
def sign_in_as():
    person_id = request.form.get("person_id", "")
    emails = {email for email, *_ in PEOPLE}
    with _container().uow() as uow:
        person = uow.session.get(Person, person_id)
        if person is None or person.email not in emails:
            abort(404)
    sign_in(person_id)
    return redirect(url_for("home.index"))


def init_app(app) -> None:
    settings = app.extensions["tandem"].settings
    if settings.app.demo and settings.app.env != "production":
        app.register_blueprint(bp)
