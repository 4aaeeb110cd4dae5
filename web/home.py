"""The home page: sign-in for visitors; for a signed-in person, their pairs and programs."""
from __future__ import annotations

from flask import Blueprint, Flask, render_template

from web.deps import container, uow
from web.pairs.queries import pairs_of_person
from web.security.auth import current

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    person = current()
    if person is None:
        settings = container().settings
        return render_template("home/welcome.html", sandbox=settings.app.demo and settings.app.env != "production")
    with uow() as work:
        pairs = pairs_of_person(work.session, person.id)
    return render_template("home/dashboard.html", pairs=pairs)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
