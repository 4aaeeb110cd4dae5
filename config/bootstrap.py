"""Composition root: builds every adapter from settings. Nothing is built at import time."""
from __future__ import annotations

from datetime import timedelta
from typing import Mapping

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from adapters.clock import SandboxClock, SystemClock
from adapters.links import link_signer
from adapters.mail.renderers import MailRenderer
from adapters.storage.clock_offsets import offset_reader
from adapters.storage.db import make_engine, make_read_session_factory, make_session_factory
from adapters.storage.uow import SqlUnitOfWork
from adapters.tokens import TokenCipher
from adapters.webhooks import HttpWebhookSender
from config.settings import Settings
from scheduler.ports import CalendarProvider, Clock, Dependencies, Mailer, ServiceConfig


class LazyCipher:
    """The token cipher, built on first use: a process that never touches a token (``tandem
    doctor`` on a half-written config) does not fail on missing keys."""

    def __init__(self, keys):
        self._keys = keys
        self._cipher: TokenCipher | None = None

    def _get(self) -> TokenCipher:
        if self._cipher is None:
            self._cipher = TokenCipher(self._keys)
        return self._cipher

    def encrypt(self, credentials: dict) -> bytes:
        return self._get().encrypt(credentials)

    def decrypt(self, blob: bytes) -> dict:
        return self._get().decrypt(blob)

    def is_current(self, blob: bytes) -> bool:
        return self._get().is_current(blob)

    def rotate(self, blob: bytes) -> bytes:
        return self._get().rotate(blob)


def service_config(settings: Settings) -> ServiceConfig:
    return ServiceConfig(base_url=settings.app.base_url, webhook_secret=settings.security.webhook_secret,
                         link_secret=settings.security.secret_key,
                         link_max_age_days=settings.security.link_max_age_days,
                         claim_timeout=timedelta(seconds=settings.tick.claim_timeout_seconds),
                         max_attempts=settings.tick.max_attempts,
                         feedback_retention_days=settings.privacy.feedback_retention_days)


def webhook_sender(settings: Settings) -> HttpWebhookSender:
    """Outgoing webhooks: private destinations only when allowed (or in the sandbox); https only
    in production unless private destinations are allowed (an internal receiver may be plain http)."""
    allow_private = settings.webhooks.allow_private_destinations or settings.app.demo
    return HttpWebhookSender(allow_private=allow_private,
                             require_https=settings.app.env == "production" and not allow_private)


class Container(Dependencies):
    """The process's dependencies (what use cases receive) plus what the shells need: the
    settings and the database engine. Built once per process by :func:`bootstrap`."""

    def __init__(self, settings: Settings, engine: Engine, session_factory: sessionmaker[Session], *,
                 clock: Clock, providers: Mapping[str, CalendarProvider], mailer: Mailer):
        self.settings = settings
        self.engine = engine
        self.session_factory = session_factory
        read_factory = make_read_session_factory(engine)
        super().__init__(unit_of_work=lambda: SqlUnitOfWork(session_factory), clock=clock,
                         providers=dict(providers), mailer=mailer,
                         cipher=LazyCipher(settings.security.token_keys), config=service_config(settings),
                         renderer=MailRenderer(), links=link_signer(settings), webhooks=webhook_sender(settings),
                         read_only_unit_of_work=lambda: SqlUnitOfWork(read_factory, read_only=True))

    def dispose(self) -> None:
        close = getattr(self.mailer, "close", None)  # kept SMTP connections
        if close is not None:
            close()
        self.engine.dispose()


def bootstrap(settings: Settings, *, clock: Clock | None = None,
              providers: Mapping[str, CalendarProvider] | None = None, mailer: Mailer | None = None) -> Container:
    """Build the container for ``settings``. With ``app.demo`` on, the clock is the sandbox's
    (``adapters.clock.SandboxClock``). Tests may replace the ``clock``, add or
    replace ``providers`` (kind -> CalendarProvider, merged over the configured ones), or give
    another ``mailer``."""
    from adapters.mail.smtp import SmtpMailer
    from config.providers import build_providers

    engine = make_engine(settings.database_url, echo=settings.database.echo)
    session_factory = make_session_factory(engine)
    if clock is None:  # the sandbox has its own clock, stored in the database (docs/contracts.md §2)
        clock = SandboxClock(offset_reader(engine)) if settings.app.demo else SystemClock()
    return Container(settings, engine, session_factory, clock=clock,
                     providers={**build_providers(settings), **(providers or {})},
                     mailer=mailer or SmtpMailer(settings.mail))
