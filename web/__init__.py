"""Flask app factory: one blueprint per feature, thin controllers."""
from __future__ import annotations

from flask import Flask

from config.bootstrap import Container, bootstrap
from config.settings import Settings, load_settings


def create_app(settings: Settings | None = None, container: Container | None = None) -> Flask:
    """Build the app. Tests pass ``settings`` (with overrides) or a ready ``container``."""
    if container is None:
        container = bootstrap(settings or load_settings())
    settings = container.settings
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.security.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.security.session_cookie_secure,
        TESTING=settings.app.env == "test",
    )
    app.extensions["tandem"] = container

    from web import health

    health.init_app(app)
    return app
