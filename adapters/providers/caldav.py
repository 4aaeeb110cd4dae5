"""A calendar provider over CalDAV (Radicale, Nextcloud, Fastmail, iCloud, ...) with ``caldav``.

``CalendarAccount.credentials`` holds ``{"url": server or calendar URL, "username", "password"}``
(an app password where the server offers them). ``calendar_id`` is ``"primary"`` (the first
calendar of the user's principal, found once and remembered) or a calendar URL / path.

How the port maps onto CalDAV:

- free/busy: ``calendar.search(start, end, event=True)`` (the server's time-range filter), then
  the one busy parser of :mod:`scheduler.core.ics_busy` via :func:`ical_util.busy_time` (RRULE,
  EXDATE, overrides, floating and all-day times in ``credentials["tz"]``); only start and end are
  kept, never a title. A failure for one account gives ``FreeBusy(error=...)`` for it
  (each account is its own server and login); the others still count.
- create: PUT of one VCALENDAR (VTIMEZONE + a VEVENT with RRULE, ORGANIZER/ATTENDEE, DESCRIPTION)
  whose UID — and so its resource name — comes from ``series_key``, with ``If-None-Match: *``:
  a repeat finds it there and changes nothing (an existing series is never overwritten).
- one occurrence: a RECURRENCE-ID override under the same UID, written back with ``If-Match``
  on the ETag; a concurrent change (412) is retried from a fresh read.
- changes: WebDAV sync tokens (RFC 6578); an invalid token is :class:`SyncTokenExpired`. For
  servers without sync-collection, the ``caldav`` library's own fallback compares ETags of all
  objects (its ``fake-`` cursors): then a change reports every one of our events.
- no push (``watch`` returns None): CalDAV has no standard webhook; callers poll ``changes``.
- ``revoke`` forgets the remembered calendar URL; nothing is held remotely (the person removes
  the app password at their server).

Errors: 401/403 → :class:`ReconnectNeeded` (never retried); 404 → :class:`NotFound`;
429 → :class:`RateLimited`; 5xx, timeouts and connection errors → :class:`ProviderUnavailable`
(retried).

The server URL is user-given, and so is every redirect it answers: the HTTP session of each
request runs with a :class:`CheckedResolver`, so *every connection* — the typed URL and each
redirect hop (301/302/303/307/308) — resolves its host once, refuses it
(:class:`~scheduler.errors.UnsafeUrl`, before any byte is sent) if any address is loopback,
private, link-local or otherwise not public, and connects to the checked address only (the
connection is pinned: no DNS rebinding between check and connect). No proxy from the
environment is used and HTTP/3 is off (a QUIC upgrade is another connection). A private address
is never contacted, so an open and a closed port inside get the same refusal.

Bounded answers: every response body is read through a hook that stops at
``max_response_bytes`` (decoded size, so a compressed bomb stops too) with
:class:`~adapters.providers.safe_fetch.ResponseTooLarge`; an answer that is not WebDAV XML (an
HTML page, plain text) is :class:`NotACalDavServer` saying to check the address — never an
unhandled error.
"""
from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Callable, Iterable, Sequence, TypeVar
from urllib.parse import unquote, urljoin

import caldav
import icalendar
import niquests
from caldav.lib import error as dav_error
from lxml import etree
from niquests.packages.urllib3.contrib.resolver.system import SystemResolver

from adapters.providers import ical_util
from adapters.providers.retry import RetryPolicy, call_with_retries
from adapters.providers.safe_fetch import (AddressPolicy, Resolver, ResponseTooLarge, check_url_target,
                                           checked_addresses, is_own_server, is_public_address, loopback_only)
from scheduler.core.ics_busy import ExpansionLimits
from scheduler.errors import (InvalidInput, NotFound, ProviderError, ProviderUnavailable, RateLimited,
                              ReconnectNeeded, SyncTokenExpired, UnsafeUrl)
from scheduler.ports import (RECONNECT_NEEDED, CalendarAccount, Changes, FreeBusy, ProviderKind, SeriesRef, SeriesSpec,
                             SeriesState, Watch)

log = logging.getLogger(__name__)
T = TypeVar("T")
_PARALLEL_ACCOUNTS = 8
_SYNC_TOKEN_PRECONDITION = "{DAV:}valid-sync-token"
_NETWORK_ERRORS: tuple[type[BaseException], ...] = (OSError,)
for _library in ("niquests", "requests"):
    try:
        _NETWORK_ERRORS += (__import__(f"{_library}.exceptions", fromlist=["RequestException"]).RequestException,)
    except ImportError:
        pass


_CHUNK = 64 * 1024
MAX_RESPONSE_BYTES = 10 * 1024 * 1024


class NotACalDavServer(ProviderError):
    """The server's answer is not WebDAV/CalDAV XML: the address is not a CalDAV server."""

    retryable = False


def _capped_body(max_bytes: int) -> Callable:
    """A response hook (requests/niquests) that reads the body itself, stopping at ``max_bytes``.

    The session runs response hooks before it reads the body, so nothing larger is ever held.
    """
    def hook(response, **_kwargs):
        declared = str(response.headers.get("Content-Length") or "")
        if declared.isdigit() and int(declared) > max_bytes:
            response.close()
            raise ResponseTooLarge(f"the CalDAV server's answer is {int(declared)} bytes; Tandem reads at most "
                                   f"{max_bytes}: check the CalDAV address, or share a smaller calendar")
        chunks, size = [], 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                response.close()
                raise ResponseTooLarge(f"the CalDAV server's answer is larger than {max_bytes} bytes; Tandem "
                                       "stops reading there: check the CalDAV address, or share a smaller calendar")
            chunks.append(chunk)
        response._content = b"".join(chunks)
        response._content_consumed = True
        return response
    return hook


class CheckedResolver(SystemResolver):
    """The HTTP session's resolver: each connection's host is resolved once, every address is
    checked against ``policy``, and only checked addresses are handed back to connect to.

    A refusal raises :class:`UnsafeUrl` out of the HTTP library; ``refusal`` also keeps it, so
    a caller seeing the library wrap it still reports the one refusal."""

    def __init__(self, policy: AddressPolicy, resolve: Resolver):
        super().__init__()
        self._policy, self._resolve = policy, resolve
        self.refusal: UnsafeUrl | None = None

    def getaddrinfo(self, host, port, family, type, proto=0, flags=0, *, quic_upgrade_via_dns_rr=False):  # noqa: A002
        name = host.decode("ascii") if isinstance(host, bytes) else str(host)
        try:
            allowed = checked_addresses(name, int(port or 0), self._resolve, self._policy)
        except UnsafeUrl as refusal:
            self.refusal = refusal
            raise
        infos = []
        for address in allowed:
            infos.extend(socket.getaddrinfo(address, port, family, type, proto,
                                            flags | socket.AI_NUMERICHOST))
        return infos


def checked_session(policy: AddressPolicy, resolve: Resolver) -> niquests.Session:
    """A session whose every connection (redirects included) goes through :class:`CheckedResolver`."""
    session = niquests.Session(resolver=CheckedResolver(policy, resolve), disable_http3=True)
    session.trust_env = False  # no proxy or .netrc from the environment: connect where we checked
    return session


def _raised_by_the_client_library(exc: BaseException) -> bool:
    """True when ``exc`` comes from parsing inside ``caldav``/``lxml`` (a malformed answer): the
    deepest frame outside the standard library is theirs, not ours."""
    if isinstance(exc, etree.LxmlError):
        return True
    tb, owner = exc.__traceback__, ""
    while tb is not None:
        top = tb.tb_frame.f_globals.get("__name__", "").split(".")[0]
        if top not in sys.stdlib_module_names:
            owner = top
        tb = tb.tb_next
    return owner in ("caldav", "lxml")


def translate_dav_error(exc: BaseException) -> ProviderError:
    """The Tandem error for a failed CalDAV request (messages say what to do next)."""
    if isinstance(exc, dav_error.DAVError) and _SYNC_TOKEN_PRECONDITION in getattr(exc, "preconditions", []):
        return SyncTokenExpired("the CalDAV sync token is no longer valid: do a full resync")
    if isinstance(exc, dav_error.RateLimitError):
        return RateLimited("the CalDAV server asked us to slow down", retry_after=exc.retry_after_seconds)
    if isinstance(exc, dav_error.AuthorizationError):
        return ReconnectNeeded("the CalDAV server refused the login or access to the calendar "
                               f"(HTTP {exc.status or '401/403'}): reconnect with a new app password")
    if isinstance(exc, dav_error.NotFoundError):
        return NotFound("the calendar object does not exist (any more) on the CalDAV server")
    if isinstance(exc, dav_error.ETagMismatchError):
        return ProviderUnavailable("the event changed on the CalDAV server while we edited it; try again")
    if isinstance(exc, dav_error.DAVError):
        status = exc.status
        if status is None or status >= 500 or status in (408, 423):
            return ProviderUnavailable(f"the CalDAV server failed (HTTP {status or 'error'}); try again later")
        return ProviderError(f"the CalDAV server refused the request (HTTP {status}): {exc.reason}")
    return ProviderUnavailable(f"the CalDAV server could not be reached ({type(exc).__name__}); try again later")


def _our_uids(urls: Iterable) -> tuple[str, ...]:
    """UIDs of our series among resource URLs (their names are ``<uid>.ics``)."""
    uids = []
    for url in urls:
        name = unquote(str(url).rstrip("/").rsplit("/", 1)[-1]).removesuffix(".ics")
        if name.startswith("tandem-") and name not in uids:
            uids.append(name)
    return tuple(uids)


class CalDavCalendarProvider:
    """Implements ``CalendarProvider`` over CalDAV with the ``caldav`` client library."""

    kind: ProviderKind = "caldav"
    can_write: bool = True
    can_restore: bool = True  # the override's STATUS goes back to CONFIRMED

    def __init__(self, *, retry_policy: RetryPolicy = RetryPolicy(attempts=3),
                 sleep: Callable[[float], None] = time.sleep, timeout: float = 15.0,
                 address_policy: AddressPolicy = is_public_address,
                 resolver: Resolver = socket.getaddrinfo,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 expansion_limits: ExpansionLimits = ExpansionLimits(),
                 max_response_bytes: int = MAX_RESPONSE_BYTES, own_servers: tuple[str, ...] = ()):
        """``own_servers``: origins of CalDAV servers this installation runs on loopback (the
        sandbox's); a URL there is checked to be loopback instead of public."""
        self._own_servers = own_servers
        self._retry_policy = retry_policy
        self._max_response_bytes = max_response_bytes
        self._expansion_limits = expansion_limits
        self._sleep = sleep
        self._timeout = timeout
        self._address_policy = address_policy
        self._resolver = resolver
        self._now = now
        self._calendar_urls: dict[str, str] = {}  # connection_id -> discovered calendar URL
        self._lock = threading.Lock()

    # --- plumbing --------------------------------------------------------------------------
    def _run(self, method: str, account: CalendarAccount, operation: Callable[[caldav.Calendar], T]) -> T:
        """Run ``operation`` on the account's calendar with retries and translated errors (``method``:
        the adapter operation the metrics name)."""
        def attempt() -> T:
            url = account.credentials.get("url", "")
            # the sandbox's own CalDAV server is the one loopback address a link may name
            policy = loopback_only if is_own_server(url, self._own_servers) else self._address_policy
            check_url_target(url, address_policy=policy, resolver=self._resolver)
            session = checked_session(policy, self._resolver)
            try:
                with caldav.DAVClient(url=url, username=account.credentials.get("username"),
                                      password=account.credentials.get("password"), timeout=self._timeout,
                                      enable_rfc6764=False) as client:
                    client.session.close()
                    client.session = session
                    session.hooks["response"].append(_capped_body(self._max_response_bytes))
                    return operation(self._calendar(client, account))
            except (dav_error.DAVError, *_NETWORK_ERRORS) as exc:
                refusal = session.resolver.refusal
                if refusal is not None:
                    raise UnsafeUrl(str(refusal)) from exc
                raise translate_dav_error(exc) from exc
            except (etree.LxmlError, AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
                if isinstance(exc, InvalidInput) or not _raised_by_the_client_library(exc):
                    raise
                raise NotACalDavServer(
                    "the server at this address did not answer as a CalDAV server (its reply is not WebDAV "
                    "XML): check the CalDAV address your provider gives (for example "
                    "https://caldav.fastmail.com/dav/) and connect again") from exc
        return call_with_retries(attempt, self._retry_policy, provider="caldav", method=method, sleep=self._sleep)

    def _calendar(self, client: caldav.DAVClient, account: CalendarAccount) -> caldav.Calendar:
        if account.calendar_id != "primary":
            return caldav.Calendar(client=client, url=urljoin(account.credentials["url"], account.calendar_id))
        with self._lock:
            known = self._calendar_urls.get(account.connection_id)
        if known is None:
            calendars = client.principal().calendars()
            if not calendars:
                raise NotFound("the CalDAV account has no calendar: create one at the server and reconnect")
            known = str(calendars[0].url)
            with self._lock:
                self._calendar_urls[account.connection_id] = known
        return caldav.Calendar(client=client, url=known)

    def _load_series(self, calendar: caldav.Calendar, event_id: str) -> tuple[caldav.Event, icalendar.Calendar]:
        resource = calendar.get_event_by_uid(event_id)
        return resource, ical_util.parse_calendar(resource.data, f"CalDAV event {event_id}")

    def _edit(self, method: str, account: CalendarAccount, event_id: str,
              change: Callable[[icalendar.Calendar], object]) -> None:
        """Read the series, apply ``change`` and write it back under If-Match (False: no write)."""
        def edit(calendar: caldav.Calendar) -> None:
            resource, ics = self._load_series(calendar, event_id)
            if change(ics) is False:
                return
            resource.data = ics.to_ical().decode()
            resource.save(increase_seqno=False)
        self._run(method, account, edit)

    # --- CalendarProvider ---------------------------------------------------------------------
    def check_connection(self, account: CalendarAccount) -> None:
        """Raise the typed error if the account cannot be used (for the connect step)."""
        self._run("check_connection", account, lambda calendar: calendar.get_supported_components())

    def verify(self, account: CalendarAccount, now: datetime) -> None:
        """Log in once and open the calendar (:meth:`check_connection`)."""
        self.check_connection(account)

    def free_busy(self, accounts: Sequence[CalendarAccount], start: datetime, end: datetime) -> dict[str, FreeBusy]:
        def one(account: CalendarAccount) -> FreeBusy:
            def read(calendar: caldav.Calendar) -> list[str]:
                return [resource.data for resource in calendar.search(start=start, end=end, event=True)]
            try:
                texts = self._run("free_busy", account, read)
                return FreeBusy(busy=ical_util.busy_time(texts, "an event in the CalDAV calendar",
                                                         start, end, account.credentials.get("tz"),
                                                         limits=self._expansion_limits))
            except (ProviderError, InvalidInput) as exc:
                log.warning("CalDAV free/busy of connection %s failed: %s", account.connection_id,
                            type(exc).__name__)
                prefix = f"{RECONNECT_NEEDED}: " if isinstance(exc, ReconnectNeeded) else ""
                return FreeBusy(error=f"{prefix}{exc}")

        if len(accounts) <= 1:
            return {account.connection_id: one(account) for account in accounts}
        with ThreadPoolExecutor(max_workers=min(_PARALLEL_ACCOUNTS, len(accounts))) as pool:
            return {account.connection_id: result for account, result in zip(accounts, pool.map(one, accounts))}

    def create_series(self, account: CalendarAccount, spec: SeriesSpec) -> SeriesRef:
        uid = ical_util.series_uid(spec.series_key)
        ics = ical_util.build_series_calendar(spec, now=self._now()).to_ical().decode()

        def create(calendar: caldav.Calendar) -> None:
            try:
                calendar.add_event(ics, no_overwrite=True, increase_seqno=False)
            except (dav_error.ConsistencyError, dav_error.UidConflictError):
                log.info("CalDAV series %s already exists: create is a no-op", uid)
        self._run("create_series", account, create)
        return SeriesRef(event_id=uid, video_url=None)

    def get_series(self, account: CalendarAccount, event_id: str, start: datetime, end: datetime) -> SeriesState:
        return self._run("get_series", account, lambda calendar: ical_util.read_series(
            self._load_series(calendar, event_id)[1], event_id, start, end))

    def move_occurrence(self, account: CalendarAccount, event_id: str, original_start: datetime,
                        new_start: datetime, new_end: datetime) -> None:
        self._edit("move_occurrence", account, event_id, lambda ics: ical_util.set_occurrence(
            ics, event_id, original_start, now=self._now(), new_start=new_start, new_end=new_end, cancelled=False))

    def cancel_occurrence(self, account: CalendarAccount, event_id: str, original_start: datetime) -> None:
        self._edit("cancel_occurrence", account, event_id, lambda ics: ical_util.set_occurrence(
            ics, event_id, original_start, now=self._now(), cancelled=True))

    def update_description(self, account: CalendarAccount, event_id: str, description: str) -> None:
        self._edit("update_description", account, event_id, lambda ics: ical_util.set_description(
            ics, event_id, description, now=self._now()))

    def cancel_series(self, account: CalendarAccount, event_id: str) -> None:
        self._edit("cancel_series", account, event_id,
                   lambda ics: ical_util.cancel_series(ics, event_id, now=self._now()))

    def changes(self, account: CalendarAccount, cursor: str | None) -> Changes:
        def read(calendar: caldav.Calendar) -> Changes:
            if cursor is None:
                found = calendar.get_objects_by_sync_token(load_objects=False)
            else:
                found = calendar.get_objects_by_sync_token(sync_token=cursor, load_objects=False,
                                                           disable_fallback=not cursor.startswith("fake-"))
            changed = _our_uids([*(o.url for o in found.objects), *getattr(found, "deleted_urls", ())])
            return Changes(cursor=str(found.sync_token), changed_event_ids=changed, full_resync=cursor is None)
        return self._run("changes", account, read)

    def watch(self, account: CalendarAccount, webhook_url: str, token: str) -> Watch | None:
        return None

    def renew_watch(self, account: CalendarAccount, watch: Watch) -> Watch | None:
        """Nothing to renew: CalDAV never pushes."""
        return None

    def stop_watch(self, account: CalendarAccount, watch: Watch) -> None:
        """Nothing to stop: CalDAV never pushes."""

    def revoke(self, account: CalendarAccount) -> None:
        """Forget what we remembered; the person deletes the app password at their server."""
        with self._lock:
            self._calendar_urls.pop(account.connection_id, None)
