"""Calendar connection use cases: store or replace a connection with encrypted tokens (also when
signing in with a calendar account), list a person's connections, and disconnect (revoke at the
provider, then delete our tokens).

Tokens are encrypted with ``deps.cipher`` before they are stored. ``disconnect`` talks to the
provider outside any transaction. Marking a connection "reconnect needed" is
``scheduler.services.accounts.mark_reconnect_needed``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from scheduler.core.entities import CalendarConnection
from scheduler.errors import InvalidInput, NotFound, ProviderError, ReconnectNeeded
from scheduler.ports import CalendarAccount, CalendarProvider, Dependencies, UnitOfWork
from scheduler.services.accounts import account_for, provider_for
from scheduler.services.changes import WEBHOOK_PATHS, needs_polling
from scheduler.services.onboarding import refresh_readiness
from scheduler.services.replanning import recheck_booked, replan_waiting

log = logging.getLogger(__name__)
PROVIDERS = ("google", "microsoft", "caldav", "ics", "memory")
PROVIDER_LABELS = {"google": "Google Calendar", "microsoft": "Microsoft 365", "caldav": "CalDAV",
                   "ics": "calendar feed (ICS)", "memory": "test calendar"}


CHECKING, CHECK_FAILED = "checking", "check_failed"  # a CalDAV account or feed from a form, before or after its check


@dataclass(frozen=True)
class ConnectionView:
    """A connection as pages show it (no tokens); ``problem`` is why its check failed."""

    id: str
    provider: str
    account_email: str
    status: str
    label: str
    problem: str | None = None
    updates: str = ""  # "push": changes arrive at once; "polling": checked daily; "": the provider never pushes
    push_failures: int = 0  # failures of its push channel since it last worked


def _store(deps: Dependencies, uow: UnitOfWork, person_id: str, provider: str, account_email: str,
           credentials: dict, now: datetime, calendar_id: str, *, status: str = "ok") -> CalendarConnection:
    if provider not in PROVIDERS:
        raise InvalidInput(f"'{provider}' is not a calendar Tandem can connect; use Google, Microsoft, CalDAV or ICS.")
    account_email = (account_email or "").strip().lower()
    existing = next((c for c in uow.connections.of_people([person_id])
                     if c.provider == provider and c.account_email == account_email), None)
    reconnected = existing is not None and existing.status != "ok"
    connection = existing or CalendarConnection(person_id=person_id, provider=provider, account_email=account_email)
    connection.calendar_id = calendar_id
    connection.token_blob = deps.cipher.encrypt(credentials)
    connection.status = status
    connection.last_error = None
    connection.last_checked_at = now if status == "ok" else None
    if existing is None:
        uow.connections.add(connection)
    uow.flush()
    if status == "ok":
        _now_healthy(uow, person_id, connection, reconnected, now)
    return connection


def _now_healthy(uow: UnitOfWork, person_id: str, connection: CalendarConnection, reconnected: bool,
                 now: datetime) -> None:
    ready = refresh_readiness(uow, person_id, now)
    # A calendar connected or reconnected can open time: waiting pairs are planned again, and
    # after a reconnect every booked series of the person is re-checked (a conflict added while
    # Tandem could not read the calendar is repaired).
    replan_waiting(uow, [person_id], now, "calendar connected", just_queued=ready)
    if reconnected:
        recheck_booked(uow, person_id, connection.id, now)


def store_connection(deps: Dependencies, person_id: str, provider: str, account_email: str, credentials: dict,
                     calendar_id: str = "primary") -> ConnectionView:
    """Save a new connection, or replace the tokens of the person's existing connection to the
    same account (a reconnect), and mark it healthy. Pairs that become ready are queued."""
    with deps.uow() as uow:
        connection = _store(deps, uow, person_id, provider, account_email, credentials, deps.clock.now(),
                            calendar_id)
        view = ConnectionView(connection.id, connection.provider, connection.account_email, connection.status,
                              PROVIDER_LABELS.get(connection.provider, connection.provider))
        uow.commit()
    return view


def store_sign_in_connection(deps: Dependencies, provider: str, account_email: str,
                             credentials: dict) -> str | None:
    """Signing in with a calendar account: store the connection for the person with that email
    and return their id; None (and nothing stored) when Tandem knows nobody with that email."""
    with deps.uow() as uow:
        person = uow.people.by_email(account_email)
        if person is None:
            return None
        person_id = person.id
        _store(deps, uow, person_id, provider, account_email, credentials, deps.clock.now(), "primary")
        uow.commit()
    return person_id


def connections_of(deps: Dependencies, person_id: str) -> list[ConnectionView]:
    """A person's connections, oldest first."""
    now = deps.clock.now()
    with deps.uow() as uow:
        return [ConnectionView(c.id, c.provider, c.account_email, c.status, PROVIDER_LABELS.get(c.provider, c.provider),
                               c.last_error if c.status == CHECK_FAILED else None,
                               *_updates(c, now))
                for c in uow.connections.of_people([person_id])]


def _updates(connection: CalendarConnection, now: datetime) -> tuple[str, int]:
    """How changes of this calendar reach Tandem, and the push channel's failures (its health)."""
    if connection.provider not in WEBHOOK_PATHS:
        return "", 0
    failures = int((connection.watch or {}).get("failures", 0))
    return ("polling" if needs_polling(connection.watch, now) else "push"), failures


def broken_calendars(uow: UnitOfWork, person_id: str) -> list[str]:
    """Labels of the person's connections that are not healthy (to ask them to reconnect)."""
    return [PROVIDER_LABELS.get(c.provider, c.provider) for c in uow.connections.of_people([person_id])
            if c.status not in ("ok", CHECKING)]


@dataclass(frozen=True)
class Disconnected:
    """The outcome of a disconnect: ``revoked`` is False when the provider could not confirm it,
    and ``message`` then says what the person can do."""

    revoked: bool
    message: str


def disconnect(deps: Dependencies, person_id: str, connection_id: str) -> Disconnected:
    """Revoke our access at the provider (when it holds tokens and a provider is configured),
    then delete the tokens and the connection. Local deletion happens even when the revoke fails:
    Tandem never keeps tokens a person asked it to drop."""
    with deps.uow() as uow:
        connection = uow.connections.get(connection_id)
        if connection is None or connection.person_id != person_id:
            raise NotFound("That calendar connection does not exist (any more); reload your calendars page.")
        label = PROVIDER_LABELS.get(connection.provider, connection.provider)
        try:
            provider = provider_for(deps, connection.provider)
        except LookupError:
            provider = None
        account = account_for(deps, connection) if connection.token_blob else None
    result = revoke_access(deps, connection_id, provider, account, label)
    with deps.uow() as uow:
        connection = uow.connections.get(connection_id)
        if connection is not None:
            connection.token_blob = None
            uow.connections.delete(connection)
            uow.commit()
    return result


def revoke_access(deps: Dependencies, connection_id: str, provider: CalendarProvider | None,
                  account: CalendarAccount | None, label: str) -> Disconnected:
    """Give our access back at the provider (outside any transaction); the caller deletes the
    tokens whatever the outcome. ``Disconnected.revoked`` is False when the provider could not
    confirm it, and the message then says what the person can do."""
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
    return Disconnected(revoked, message)


def check_before_storing(deps: Dependencies, provider_kind: str, email: str, credentials: dict,
                         now: datetime | None = None, connection_id: str = "check") -> None:
    """Try a CalDAV login or an ICS feed once before saving it (``CalendarProvider.verify``), so a
    wrong URL or password is reported on the form (raises ``ProviderError``/``InvalidInput`` with a
    message to show). Without a configured provider for that kind there is nothing to try with,
    and nothing is raised."""
    try:
        provider = provider_for(deps, provider_kind)
    except LookupError:
        return
    account = CalendarAccount(connection_id=connection_id, provider=provider_kind,  # type: ignore[arg-type]
                              email=email, credentials=credentials)
    provider.verify(account, now or deps.clock.now())


def connect_calendar(deps: Dependencies, person_id: str, provider_kind: str, account_email: str,
                     credentials: dict) -> ConnectionView:
    """A CalDAV account or an ICS feed from a form: stored as ``checking`` (encrypted) with a
    ``check_connection`` outbox row in the same transaction. Nothing is fetched or parsed here:
    the address and its answer are untrusted (a slow server, a huge or hostile calendar), so the
    check runs in a worker under the providers' limits (:func:`check_connection`), never inside
    a web request. Until it passes, nothing is read from the calendar and its person's pairs wait."""
    now = deps.clock.now()
    with deps.uow() as uow:
        connection = _store(deps, uow, person_id, provider_kind, account_email, credentials, now, "primary",
                            status=CHECKING)
        prefix = f"check_connection:{connection.id}:"
        uow.outbox.add_once("check_connection", connection.id,
                            f"{prefix}{uow.outbox.count_with_key_prefix(prefix) + 1}", now)
        view = ConnectionView(connection.id, connection.provider, connection.account_email, connection.status,
                              PROVIDER_LABELS.get(connection.provider, connection.provider))
        uow.commit()
    return view


def check_connection(deps: Dependencies, connection_id: str) -> bool:
    """The worker's check of a connection from a form (``check_connection`` outbox row): log in
    once or fetch, parse and expand the feed once (``CalendarProvider.verify``, under the
    provider's size, time and expansion limits). It becomes ``ok`` (pairs that can go ahead are
    queued) or ``check_failed`` with the reason, which the calendars page shows. A connection
    removed, replaced by another check, or already checked is left alone. True when it passed."""
    with deps.uow() as uow:
        connection = uow.connections.get(connection_id)
        if connection is None or connection.status != CHECKING:
            return False
        checked_blob, kind, email = connection.token_blob, connection.provider, connection.account_email
        credentials = deps.cipher.decrypt(checked_blob)
    problem = None
    try:
        check_before_storing(deps, kind, email, credentials, connection_id=connection_id)
    except (InvalidInput, ProviderError) as exc:
        problem = str(exc)[:500] or type(exc).__name__
    now = deps.clock.now()
    with deps.uow() as uow:
        connection = uow.connections.get(connection_id, lock=True)
        if connection is None or connection.status != CHECKING or connection.token_blob != checked_blob:
            return False  # removed or replaced while we checked: the newer request has its own row
        if problem is not None:
            connection.status, connection.last_error = CHECK_FAILED, problem
        else:
            connection.status, connection.last_error, connection.last_checked_at = "ok", None, now
            _now_healthy(uow, connection.person_id, connection, False, now)
        uow.commit()
    return problem is None


# --- the CalDAV and feed forms ---------------------------------------------------------------------
def web_address(raw: str, what: str) -> str:
    """A calendar address typed by a person: ``webcal://`` means ``https://``; anything but an
    http(s) address with a host is refused, saying what ``what`` must look like.

    >>> web_address(" webcal://example.org/a.ics ", "calendar feed link")
    'https://example.org/a.ics'
    """
    url = (raw or "").strip()
    if url.startswith("webcal://"):
        url = "https://" + url[len("webcal://"):]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"The {what} must be a web address starting with https:// (or webcal://).")
    return url


def _person(deps: Dependencies, person_id: str) -> tuple[str, str]:
    """(email, time zone) of the person connecting a calendar; UTC when they chose no zone."""
    with deps.uow() as uow:
        person = uow.people.get(person_id)
        if person is None:
            raise InvalidInput("Your account no longer exists; ask your coordinator for a new invitation.")
        return person.email, person.tz or "UTC"


def connect_caldav(deps: Dependencies, person_id: str, url: str, username: str, password: str) -> ConnectionView:
    """Connect a CalDAV account from the form: the server address must be a web address and both
    the user name and the app password are needed. The account is the user name when it is an
    email address, else the person's own email; free/busy is read in the person's time zone."""
    url = web_address(url, "CalDAV server address")
    username = (username or "").strip()
    if not username or not password:
        raise InvalidInput("Enter the user name and the app password for your CalDAV server.")
    email, tz = _person(deps, person_id)
    return connect_calendar(deps, person_id, "caldav", username if "@" in username else email,
                            {"url": url, "username": username, "password": password, "tz": tz})


def connect_ics(deps: Dependencies, person_id: str, url: str) -> ConnectionView:
    """Connect a published calendar feed (``webcal://`` works too) under the person's own email;
    the feed's floating times are read in the person's time zone."""
    url = web_address(url, "calendar feed link")
    email, tz = _person(deps, person_id)
    return connect_calendar(deps, person_id, "ics", email, {"url": url, "tz": tz})
