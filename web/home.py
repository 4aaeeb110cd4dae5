"""The home page: sign-in for visitors; for a signed-in person, their pairs and programs."""
from __future__ import annotations

from flask import Blueprint, Flask, render_template

from scheduler.services.programs import home_page
from web import deps
from web.security.auth import current

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    person = current()
    if person is None:
        settings = deps.container().settings
        return render_template("home/welcome.html", sandbox=settings.app.demo and settings.app.env != "production")
    page = home_page(deps.container(), person.id)
    return render_template("home/dashboard.html", pairs=page.pairs, broken=page.broken_calendars)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
