"""Flask app factory: one blueprint per feature, thin controllers.

The factory runs the same settings checks as the CLI (:func:`config.settings.require_ok`):
gunicorn's ``web.wsgi:create()`` builds the app here, so a short secret key, a non-Secure cookie
or demo mode in production stop it from starting.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask

from config.bootstrap import Container, bootstrap
from config.logs import install_redaction
from config.settings import Settings, load_settings, require_ok


def create_app(settings: Settings | None = None, container: Container | None = None) -> Flask:
    """Build the app. Tests pass ``settings`` (with overrides) or a ready ``container``."""
    if container is None:
        settings = settings or load_settings()
        require_ok(settings)
        container = bootstrap(settings)
    settings = container.settings
    require_ok(settings)
    install_redaction()  # signed-link tokens never reach a log line, the dev server's access log included
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.security.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.security.session_cookie_secure,
        SESSION_COOKIE_NAME="tandem_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,  # CSV uploads and forms; nothing bigger is needed
        TESTING=settings.app.env == "test",
    )
    app.extensions["tandem"] = container
    if settings.app.proxy_hops > 0:  # behind a proxy: the client address is in X-Forwarded-For
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.app.proxy_hops)  # type: ignore[method-assign]

    from web import auth, connect, errors, health, home, metrics, onboarding, pairs, programs, security
    from adapters.links import signer_for

    app.extensions["tandem.links"] = container.links or signer_for(settings)  # the signer use cases use
    metrics.init_app(app)  # first: the request id and timing wrap every other hook
    security.init_app(app)
    errors.init_app(app)
    health.init_app(app)
    home.init_app(app)
    auth.init_app(app)
    programs.init_app(app)
    onboarding.init_app(app)
    connect.init_app(app)
    pairs.init_app(app)

    from web import demo, digest, feedback, privacy, reports, webhooks

    reports.init_app(app)

    webhooks.init_app(app)
    feedback.init_app(app)
    digest.init_app(app)
    privacy.init_app(app)
    demo.init_app(app)

    from web import api

    api.init_app(app)
    return app
