"""What controllers reach through the app: the dependencies (the container), the clock, the link
signer. Controllers call services with ``container()``; they never open a unit of work."""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from config.bootstrap import Container


def container() -> Container:
    return current_app.extensions["tandem"]


def now() -> datetime:
    return container().clock.now()


def signer():
    """The app's link signer (the ``scheduler.ports.LinkSigner`` the services use too)."""
    return current_app.extensions["tandem.links"]


def external_url(endpoint: str, **values) -> str:
    """An absolute URL under ``app.base_url`` (for emails and OAuth redirects)."""
    from flask import url_for

    base = container().settings.app.base_url.rstrip("/")
    return base + url_for(endpoint, **values)
