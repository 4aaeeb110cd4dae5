"""What controllers reach through the app: the container, a unit of work, the clock, the signer."""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from adapters.storage.uow import UnitOfWork
from config.bootstrap import Container


def container() -> Container:
    return current_app.extensions["tandem"]


def uow() -> UnitOfWork:
    return container().uow()


def now() -> datetime:
    return container().clock.now()


def signer():
    """The app's :class:`scheduler.services.links.LinkSigner`."""
    return current_app.extensions["tandem.links"]


def external_url(endpoint: str, **values) -> str:
    """An absolute URL under ``app.base_url`` (for emails and OAuth redirects)."""
    from flask import url_for

    base = container().settings.app.base_url.rstrip("/")
    return base + url_for(endpoint, **values)
