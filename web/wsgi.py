"""WSGI entry point for gunicorn: ``gunicorn 'web.wsgi:create()'`` builds the app from settings."""
from __future__ import annotations

from web import create_app


def create():
    return create_app()
