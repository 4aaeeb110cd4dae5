"""WSGI entry point for gunicorn: ``gunicorn 'web.wsgi:create()'`` builds the app from settings,
logging JSON lines in production (``config.logs``)."""
from __future__ import annotations

import os

from config.logs import configure_logging
from config.settings import load_settings
from web import create_app


def create():
    settings = load_settings()
    configure_logging(settings.app.env, level=os.environ.get("TANDEM_LOG_LEVEL", "INFO"))
    return create_app(settings)
