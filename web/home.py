"""The home page: sign-in for visitors; for a signed-in person, their pairs and programs."""
from __future__ import annotations

from flask import Blueprint, Flask, render_template

from scheduler.services.connections import PROVIDER_LABELS, connections_of
from scheduler.services.pair_page import pairs_of_person
from web.deps import container, uow
from web.security.auth import current

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    person = current()
    if person is None:
        settings = container().settings
        return render_template("home/welcome.html", sandbox=settings.app.demo and settings.app.env != "production")
    pairs = pairs_of_person(container(), person.id)
    with uow() as work:
        broken = [PROVIDER_LABELS.get(c.provider, c.provider) for c in connections_of(work.session, person.id)
                  if c.status != "ok"]
    return render_template("home/dashboard.html", pairs=pairs, broken=broken)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
