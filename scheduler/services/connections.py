"""Calendar connection use cases: store or replace a connection with encrypted tokens, list a
person's connections, and disconnect (revoke at the provider, then delete our tokens).

``store_connection`` runs inside the caller's unit of work and never commits; tokens are
encrypted with the container's :class:`adapters.tokens.TokenCipher` before they touch the
session. ``disconnect`` talks to the provider outside any transaction, so it takes the container.
Marking a connection "reconnect needed" is ``scheduler.services.accounts.mark_reconnect_needed``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.storage.models import CalendarConnection
from adapters.tokens import TokenCipher
from scheduler.errors import InvalidInput, NotFound, ProviderError, ReconnectNeeded
from scheduler.ports import CalendarAccount
from scheduler.services.accounts import account_for, provider_for
from scheduler.services.onboarding import refresh_readiness

log = logging.getLogger(__name__)
PROVIDERS = ("google", "microsoft", "caldav", "ics", "memory")
PROVIDER_LABELS = {"google": "Google Calendar", "microsoft": "Microsoft 365", "caldav": "CalDAV",
                   "ics": "calendar feed (ICS)", "memory": "test calendar"}


def store_connection(session: Session, cipher: TokenCipher, person_id: str, provider: str, account_email: str,
                     credentials: dict, now: datetime, calendar_id: str = "primary") -> CalendarConnection:
    """Save a new connection, or replace the tokens of the person's existing connection to the
    same account (a reconnect), and mark it healthy. Pairs that become ready are queued."""
    if provider not in PROVIDERS:
        raise InvalidInput(f"'{provider}' is not a calendar Tandem can connect; use Google, Microsoft, CalDAV or ICS.")
    account_email = (account_email or "").strip().lower()
    existing = session.scalar(select(CalendarConnection).where(
        CalendarConnection.person_id == person_id, CalendarConnection.provider == provider,
        CalendarConnection.account_email == account_email))
    connection = existing or CalendarConnection(person_id=person_id, provider=provider, account_email=account_email)
    connection.calendar_id = calendar_id
    connection.token_blob = cipher.encrypt(credentials)
    connection.status = "ok"
    connection.last_error = None
    connection.last_checked_at = now
    if existing is None:
        session.add(connection)
    session.flush()
    refresh_readiness(session, person_id, now)
    return connection


@dataclass(frozen=True)
class Disconnected:
    """The outcome of a disconnect: ``revoked`` is False when the provider could not confirm it,
    and ``message`` then says what the person can do."""

    revoked: bool
    message: str


def connections_of(session: Session, person_id: str) -> list[CalendarConnection]:
    """A person's connections, oldest first."""
    return list(session.scalars(select(CalendarConnection).where(CalendarConnection.person_id == person_id)
                                .order_by(CalendarConnection.created_at)))


def disconnect(container, person_id: str, connection_id: str) -> Disconnected:
    """Revoke our access at the provider (when it holds tokens and a provider is configured),
    then delete the tokens and the connection. Local deletion happens even when the revoke fails:
    Tandem never keeps tokens a person asked it to drop."""
    with container.uow() as uow:
        connection = uow.session.get(CalendarConnection, connection_id)
        if connection is None or connection.person_id != person_id:
            raise NotFound("That calendar connection does not exist (any more); reload your calendars page.")
        label = PROVIDER_LABELS.get(connection.provider, connection.provider)
        try:
            provider = provider_for(container, connection.provider)
        except LookupError:
            provider = None
        account = account_for(container, connection) if connection.token_blob else None
    revoked, message = True, f"Your {label} is disconnected and Tandem's access tokens are deleted."
    if provider is None and account is not None:
        revoked = False
        message = (f"Tandem deleted its tokens for your {label}, but could not revoke them at {label} from here; "
                   f"to be sure, remove Tandem from your account's connected apps.")
    if provider is not None and account is not None:
        account.on_credentials_changed = None  # nothing to keep: the tokens are about to go
        try:
            provider.revoke(account)
        except ReconnectNeeded:
            pass  # the tokens were already dead: nothing left to revoke
        except ProviderError as exc:
            log.warning("revoke of connection %s failed: %s", connection_id, exc)
            revoked = False
            message = (f"Tandem deleted its tokens for your {label}, but {label} did not confirm the revoke; "
                       f"to be sure, remove Tandem from your account's connected apps.")
    with container.uow() as uow:
        connection = uow.session.get(CalendarConnection, connection_id)
        if connection is not None:
            connection.token_blob = None
            uow.session.delete(connection)
            uow.commit()
    return Disconnected(revoked, message)


def check_before_storing(container, provider_kind: str, email: str, credentials: dict, now: datetime) -> None:
    """Try a CalDAV login or an ICS feed once before saving it, so a wrong URL or password is
    reported on the form (raises ``ProviderError``/``InvalidInput`` with a message to show).
    Without a configured provider for that kind there is nothing to try with, and nothing is raised."""
    try:
        provider = provider_for(container, provider_kind)
    except LookupError:
        return
    account = CalendarAccount(connection_id="check", provider=provider_kind,  # type: ignore[arg-type]
                              email=email, credentials=credentials)
    if hasattr(provider, "check_feed"):
        provider.check_feed(account, now=now)
    elif hasattr(provider, "check_connection"):
        provider.check_connection(account)
