"""Composition root: builds every adapter from settings. Nothing is built at import time."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from adapters.storage.db import make_engine, make_session_factory
from adapters.storage.uow import UnitOfWork
from adapters.tokens import TokenCipher
from config.settings import Settings


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


@dataclass
class Container:
    """Everything the web app, the workers and the CLI need, built once per process."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Any = field(default_factory=SystemClock)
    _cipher: TokenCipher | None = None
    extras: dict = field(default_factory=dict)  # adapters added by later layers (providers, mailer)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    @property
    def cipher(self) -> TokenCipher:
        if self._cipher is None:
            self._cipher = TokenCipher(self.settings.security.token_keys)
        return self._cipher

    def dispose(self) -> None:
        self.engine.dispose()


def bootstrap(settings: Settings, **extras: Any) -> Container:
    """Build the container for ``settings``; ``extras`` replace or add adapters (tests, demo):
    ``clock``, ``providers`` (kind -> CalendarProvider, merged over the configured ones),
    ``mailer``."""
    from adapters.mail.smtp import SmtpMailer
    from adapters.providers.registry import build_providers

    engine = make_engine(settings.database_url, echo=settings.database.echo)
    clock = extras.pop("clock", None) or SystemClock()
    extras["providers"] = {**build_providers(settings), **extras.get("providers", {})}
    extras.setdefault("mailer", SmtpMailer(settings.mail))
    return Container(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                     clock=clock, extras=extras)
