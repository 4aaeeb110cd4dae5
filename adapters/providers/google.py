"""Google Calendar adapter: the CalendarProvider port over Calendar v3 with the real client
library (google-api-python-client + google-auth).

- Free/busy only: ``freeBusy.query`` covering the whole planning horizon in one query per consent
  when it is at most 90 days (Google's limit; longer horizons are split into 90-day windows that go
  in one HTTP batch) and at most 50 calendars per query (accounts sharing one consent share it).
  A calendar answered with ``errors`` is *unknown*, not free.
- A series is one recurring event whose id is derived from ``spec.series_key`` (base32hex), so
  a retried insert gets 409 and is read back instead of duplicated (a read-back that finds the
  event cancelled raises ``CancelledBefore``: it is not a success). It carries
  ``extendedProperties.private.tandemSeriesKey`` and, on request, a Meet link.
- One occurrence is found with ``events.instances(originalStart=...)`` and patched alone.
- ``changes`` uses sync tokens (410 → SyncTokenExpired) and asks only for ids and our tag
  (``fields=``), so titles of anyone's other events are never requested.
- HTTP errors become the errors of ``scheduler.errors``; transient ones are retried with
  ``call_with_retries``; a dead consent (invalid_grant, 401 after refresh) is never retried.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator, Sequence

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from adapters.providers import google_freebusy, google_oauth
from adapters.providers.google_errors import (AlreadyDeleted, AlreadyExists, CancelledBefore, map_batch_error,
                                              map_http_error, map_refresh_error, worst_of)
from adapters.providers.retry import RateLimiter, RetryPolicy, call_with_retries
from scheduler.core.intervals import Interval, interval, merge
from scheduler.errors import NotFound, ProviderError, ProviderUnavailable, RateLimited, ReconnectNeeded
from scheduler.ports import (CalendarAccount, Changes, FreeBusy, OccurrenceState, SeriesRef, SeriesSpec,
                             SeriesState, Watch)

PROVIDER = "google"  # the provider label of the metrics
GOOGLE_API_ENDPOINT = "https://www.googleapis.com/calendar/v3/"
GOOGLE_BATCH_URI = "https://www.googleapis.com/batch/calendar/v3"
SERIES_TAG = "tandemSeriesKey"
MAX_WINDOW = timedelta(days=90)  # freeBusy.query refuses longer ranges (timeRangeTooLong)
MAX_BATCH = 50
CHANGE_FIELDS = "items(id,status,recurringEventId,extendedProperties/private),nextPageToken,nextSyncToken"
SERIES_FIELDS = "id,status,description,attendees(email,responseStatus),start,end,recurrence,hangoutLink,conferenceData"
INSTANCE_FIELDS = "items(id,status,start,end,originalStartTime,attendees(email,responseStatus)),nextPageToken"
RESPONSES = ("needsAction", "accepted", "declined", "tentative")
MEET_POLL_WAITS = (0.5, 1.0, 2.0)  # a Meet link may stay "pending" briefly after the insert

log = logging.getLogger(__name__)


def event_id_for(series_key: str) -> str:
    """A Google event id (base32hex: 0-9 a-v) derived from the series key, the same every time.

    >>> event_id_for("series-1") == event_id_for("series-1"), len(event_id_for("series-1"))
    (True, 52)
    """
    digest = hashlib.sha256(series_key.encode()).digest()
    return base64.b32hexencode(digest).decode().rstrip("=").lower()


@dataclass
class _Session:
    """One account's credentials and the Calendar service built over them."""

    credentials: Credentials
    http: google_auth_httplib2.AuthorizedHttp
    service: object


@dataclass
class _Part:
    """One API call of a batch: whose it is, the session carrying its credentials, the request."""

    account: CalendarAccount
    session: _Session
    make: Callable[[object], object]


class GoogleCalendarProvider:
    """The Google Calendar implementation of ``CalendarProvider``."""

    kind = "google"
    can_write = True
    can_restore = True  # patching a cancelled instance back to "confirmed" restores it

    def __init__(self, client_id: str, client_secret: str, *, token_uri: str = google_oauth.GOOGLE_TOKEN_URI,
                 api_endpoint: str = GOOGLE_API_ENDPOINT, batch_uri: str = GOOGLE_BATCH_URI,
                 revoke_uri: str = google_oauth.GOOGLE_REVOKE_URI, retry_policy: RetryPolicy = RetryPolicy(),
                 rate_limiter: RateLimiter | None = None, timeout_s: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep, send_updates: str = "all",
                 trust_env: bool = True):
        self._client_id, self._client_secret = client_id, client_secret
        self._token_uri, self._api_endpoint, self._batch_uri = token_uri, api_endpoint, batch_uri
        self._revoke_uri = revoke_uri
        self._retry, self._limiter, self._sleep = retry_policy, rate_limiter, sleep
        self._timeout_s, self._send_updates, self._trust_env = timeout_s, send_updates, trust_env
        self._own_only: set[str] = set()  # calendars a colleague's token could not read (notFound)

    # --- plumbing ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _open(self, account: CalendarAccount) -> Iterator[_Session]:
        """A session for one operation; its connections are closed when the operation ends."""
        session = self._session(account)
        try:
            yield session
        finally:
            session.http.http.close()

    def _session(self, account: CalendarAccount) -> _Session:
        if not account.credentials.get("token") and not account.credentials.get("refresh_token"):
            raise ReconnectNeeded(f"No Google consent is stored for {account.email}: connect the calendar.")
        credentials = google_oauth.credentials_from_dict(account.credentials, client_id=self._client_id,
                                                         client_secret=self._client_secret, token_uri=self._token_uri)
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=self._timeout_s))
        service = build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False,
                        client_options={"api_endpoint": self._api_endpoint})
        return _Session(credentials, http, service)

    def _persist(self, account: CalendarAccount, session: _Session) -> None:
        """Hand refreshed tokens to the caller (who stores them encrypted)."""
        if session.credentials.token and session.credentials.token != account.credentials.get("token"):
            account.credentials_changed(google_oauth.credentials_to_dict(session.credentials, account.credentials))

    def _guarded(self, account: CalendarAccount, session: _Session, call: Callable[[], dict], *,
                 limit: bool = True) -> dict:
        """One attempt: rate limit (unless ``limit`` is False: a batch envelope or a token refresh
        is not a call), run, map every failure to a ``scheduler.errors`` type."""
        if limit and self._limiter is not None:
            self._limiter.acquire(account.connection_id)
        try:
            return call()
        except HttpError as exc:
            raise self._learnt(account, map_http_error(exc)) from None
        except google.auth.exceptions.RefreshError as exc:
            raise map_refresh_error(exc, account) from None
        except google.auth.exceptions.TransportError:
            raise ProviderUnavailable("Google's sign-in service could not be reached; try again later.") from None
        except (httplib2.HttpLib2Error, OSError) as exc:
            raise ProviderUnavailable(f"Google Calendar could not be reached ({type(exc).__name__}); "
                                      "try again later.") from None
        finally:
            self._persist(account, session)

    def _learnt(self, account: CalendarAccount, error: ProviderError) -> ProviderError:
        """A rate limit's ``Retry-After`` holds the account's other calls in this process too."""
        if isinstance(error, RateLimited) and self._limiter is not None:
            self._limiter.hold(account.connection_id, error.retry_after)
        return error

    def _execute(self, method: str, account: CalendarAccount, make: Callable[[object], object],
                 session: _Session | None = None) -> dict:
        """Run one API request with retries of transient failures (in ``session`` if given);
        ``method`` is the adapter operation the metrics name."""
        if session is None:
            with self._open(account) as opened:
                return self._execute(method, account, make, opened)
        return call_with_retries(lambda: self._guarded(account, session, lambda: make(session.service).execute()),
                                 self._retry, provider=PROVIDER, method=method, sleep=self._sleep)

    def _execute_parts(self, parts: list[_Part]) -> list[dict | ProviderError]:
        """Run requests of one or many accounts: alone when there is one, else 50 per HTTP batch,
        each call with its own account's credentials (Google lets a call's ``Authorization``
        override the batch's). One limiter and one retry budget for them all: calls that fail
        transiently are retried together after one wait (the longest ``Retry-After`` asked).

        Returns, per part, the reply or its lasting error when that is a lost consent or a
        missing calendar (``ReconnectNeeded`` / ``NotFound``); other failures raise."""
        if len(parts) == 1:
            part = parts[0]
            try:
                return [self._execute("free_busy", part.account, part.make, part.session)]
            except (ReconnectNeeded, NotFound) as exc:
                return [exc]
        results: dict[int, dict | ProviderError] = {}
        for part in parts:  # a token past its expiry is refreshed alone, first
            if not part.session.credentials.valid and part.session.credentials.refresh_token:
                try:
                    self._refresh(part)
                except (ReconnectNeeded, NotFound) as exc:
                    results.update({i: exc for i, p in enumerate(parts) if p.session is part.session})

        def attempt() -> None:
            failures: dict[int, ProviderError] = {}
            pending = [i for i in range(len(parts)) if i not in results]
            for offset in range(0, len(pending), MAX_BATCH):
                self._send_batch(parts, pending[offset:offset + MAX_BATCH], results, failures)
            if failures:
                raise worst_of(list(failures.values()))
        call_with_retries(attempt, self._retry, provider=PROVIDER, method="free_busy", sleep=self._sleep)
        return [results[i] for i in range(len(parts))]

    def _refresh(self, part: _Part) -> None:
        request = google_auth_httplib2.Request(part.session.http.http)
        call_with_retries(lambda: self._guarded(part.account, part.session,
                                                lambda: part.session.credentials.refresh(request), limit=False),
                          self._retry, provider=PROVIDER, method="refresh_token", sleep=self._sleep)

    def _send_batch(self, parts: list[_Part], chunk: list[int], results: dict, failures: dict) -> None:
        """One HTTP batch of ``parts[i] for i in chunk``: replies and lasting errors into
        ``results``, transient failures into ``failures``."""
        batch = BatchHttpRequest(batch_uri=self._batch_uri)

        def collect(request_id, response, exception):
            if exception is None:
                results[int(request_id)] = response
                return
            error = self._learnt(parts[int(request_id)].account, map_http_error(exception))
            if isinstance(error, (ReconnectNeeded, NotFound)):
                results[int(request_id)] = error
            else:
                failures[int(request_id)] = error
        for index in chunk:
            part = parts[index]
            if self._limiter is not None:
                self._limiter.acquire(part.account.connection_id)
            batch.add(part.make(part.session.service), callback=collect, request_id=str(index))
        head = parts[chunk[0]]
        try:
            self._guarded(head.account, head.session, lambda: batch.execute(http=head.session.http), limit=False)
        except NotFound as exc:  # the batch endpoint itself answered 404: not any calendar's fault
            raise map_batch_error(self._batch_uri) from exc
        except ReconnectNeeded:
            # a token refresh inside the batch failed and the batch cannot say whose: the calls
            # of this batch then go alone (a lost consent is pinned on its owner)
            for index in chunk:
                if index not in results:
                    results[index] = self._execute_parts([parts[index]])[0]
        finally:
            for part in {id(parts[i].session): parts[i] for i in chunk}.values():
                self._persist(part.account, part.session)

    # --- free/busy ---------------------------------------------------------------------------
    def free_busy(self, accounts: Sequence[CalendarAccount], start: datetime, end: datetime) -> dict[str, FreeBusy]:
        """Busy time per ``connection_id`` for a whole planning round at once (which queries: see
        :mod:`adapters.providers.google_freebusy`), every query in one HTTP batch. An account
        whose consent is gone gets ``FreeBusy(error="reconnect_needed: ...")``; a calendar Google
        reports errors for gets ``FreeBusy(error=<reasons>)``. Transient failures that outlast
        the retries raise."""
        window = interval(start, end)
        if window.start == window.end:
            return {a.connection_id: FreeBusy() for a in accounts}
        windows = _split(window, MAX_WINDOW)
        out: dict[str, FreeBusy] = {}
        sessions: dict[str, _Session] = {}
        try:
            queries = google_freebusy.plan_queries(accounts, self._own_only)
            fallback = self._run_free_busy(queries, windows, sessions, out)
            if fallback:
                self._run_free_busy(google_freebusy.own_queries(fallback), windows, sessions, out)
        finally:
            for session in sessions.values():
                session.http.http.close()
        return out

    def _run_free_busy(self, queries: list[google_freebusy.Query], windows: list[Interval],
                       sessions: dict[str, _Session], out: dict[str, FreeBusy]) -> list[CalendarAccount]:
        """Run ``queries`` (one call per query and window, all batched) into ``out``; returns the
        accounts a colleague's token could not read (to be read with their own)."""
        parts: list[_Part] = []
        unusable: dict[int, ProviderError] = {}  # queries whose lead holds no consent at all
        for number, query in enumerate(queries):
            key = google_freebusy.consent_key(query.lead)
            try:
                if key not in sessions:
                    sessions[key] = self._session(query.lead)
            except ReconnectNeeded as exc:
                unusable[number] = exc
                continue
            items = [{"id": c} for c in query.calendar_ids()]
            parts.extend(_Part(query.lead, sessions[key], _free_busy_request(items, part)) for part in windows)
        replies = iter(self._execute_parts(parts) if parts else [])
        fallback: list[CalendarAccount] = []
        for number, query in enumerate(queries):
            answers = [unusable[number]] if number in unusable else [next(replies) for _ in windows]
            failed = next((a for a in answers if isinstance(a, ProviderError)), None)
            if failed is not None:
                code = "reconnect_needed" if isinstance(failed, ReconnectNeeded) else "not_found"
                for member in query.members:
                    if query.shared(member):
                        fallback.append(member)
                    else:
                        out[member.connection_id] = FreeBusy(error=f"{code}: {failed}")
                continue
            busy, errors = _read_free_busy(answers, query.calendar_ids())
            for member in query.members:
                ref = query.ref(member)
                if ref in errors and query.shared(member):
                    if "notFound" in errors[ref]:
                        self._own_only.add(ref)
                    fallback.append(member)
                elif ref in errors:
                    out[member.connection_id] = FreeBusy(error=f"google: {errors[ref]}")
                else:
                    out[member.connection_id] = FreeBusy(busy=tuple(merge(busy[ref])))
        return fallback

    # --- series ------------------------------------------------------------------------------
    def create_series(self, account: CalendarAccount, spec: SeriesSpec) -> SeriesRef:
        """Insert the recurring event with an id derived from the series key; a 409 means an
        earlier attempt made it: read it back. A Meet link still ``pending`` is polled for a few
        seconds; if it is still not ready, ``video_url`` is None and calling again (idempotent)
        picks it up later."""
        event_id = event_id_for(spec.series_key)
        end_local = spec.start_local + timedelta(minutes=spec.duration_min)
        rrule = spec.rrule if spec.rrule.startswith("RRULE:") else "RRULE:" + spec.rrule
        body: dict = {
            "id": event_id, "summary": spec.title, "description": spec.description,
            "start": {"dateTime": spec.start_local.replace(tzinfo=None).isoformat(), "timeZone": spec.tz},
            "end": {"dateTime": end_local.replace(tzinfo=None).isoformat(), "timeZone": spec.tz},
            "recurrence": [rrule],
            "attendees": [{"email": email} for email in spec.attendee_emails],
            "extendedProperties": {"private": {SERIES_TAG: spec.series_key}},
            "guestsCanModify": False,
        }
        if spec.video:
            body["conferenceData"] = {"createRequest": {"requestId": event_id,
                                                        "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
        calendar = account.calendar_id
        try:
            event = self._execute("create_series", account, lambda s: s.events().insert(
                calendarId=calendar, body=body, conferenceDataVersion=1, sendUpdates=self._send_updates))
        except AlreadyExists:
            log.info("series %s already exists on Google; reading it back", event_id)
            event = self._execute("create_series", account, lambda s: s.events().get(
                calendarId=calendar, eventId=event_id, fields=SERIES_FIELDS))
            if event.get("status") == "cancelled":
                raise CancelledBefore(f"Google Calendar already holds event {event_id} for this series, cancelled: "
                                      "a cancelled series is not re-created under the same key; book it as a new "
                                      "series (a new series key) instead.")
        for wait in MEET_POLL_WAITS:
            if not _meet_pending(event):
                break
            self._sleep(wait)
            event = self._execute("create_series", account, lambda s: s.events().get(
                calendarId=calendar, eventId=event_id, fields=SERIES_FIELDS))
        return SeriesRef(event_id=event_id, video_url=_video_url(event))

    def get_series(self, account: CalendarAccount, event_id: str, start: datetime, end: datetime) -> SeriesState:
        window = interval(start, end)
        calendar = account.calendar_id
        with self._open(account) as session:
            event = self._execute("get_series", account, lambda s: s.events().get(
                calendarId=calendar, eventId=event_id, fields=SERIES_FIELDS), session)
            if event.get("recurrence"):
                items = self._all_pages("get_series", account, session, lambda s, page: s.events().instances(
                    calendarId=calendar, eventId=event_id, timeMin=_rfc3339(window.start),
                    timeMax=_rfc3339(window.end), showDeleted=True, maxResults=250, pageToken=page,
                    fields=INSTANCE_FIELDS))
            else:
                items = [event | {"originalStartTime": event["start"]}]
        occurrences = sorted((_occurrence(item) for item in items), key=lambda o: o.original_start)
        occurrences = [o for o in occurrences if o.start < window.end and o.end > window.start or
                       window.start <= o.original_start < window.end]
        attendees = {a["email"].lower(): (a.get("responseStatus") if a.get("responseStatus") in RESPONSES
                                          else "needsAction") for a in event.get("attendees", [])}
        return SeriesState(event_id=event_id, cancelled=event.get("status") == "cancelled",
                           description=event.get("description", ""), attendees=attendees,
                           occurrences=tuple(occurrences))

    def _all_pages(self, method: str, account: CalendarAccount, session: _Session,
                   make: Callable[[object, str | None], object]) -> list[dict]:
        items: list[dict] = []
        page: str | None = None
        while True:
            reply = self._execute(method, account, lambda s, p=page: make(s, p), session)
            items.extend(reply.get("items", []))
            page = reply.get("nextPageToken")
            if not page:
                return items

    def _instance(self, method: str, account: CalendarAccount, event_id: str, original_start: datetime) -> dict:
        """The instance of ``event_id`` that originally started at ``original_start``."""
        calendar = account.calendar_id
        reply = self._execute(method, account, lambda s: s.events().instances(
            calendarId=calendar, eventId=event_id, originalStart=_rfc3339(original_start),
            showDeleted=True, fields="items(id,status,start,end,originalStartTime)"))
        for item in reply.get("items", []):
            if _parse_time(_time_of(item["originalStartTime"])) == original_start.astimezone(timezone.utc):
                return item
        raise NotFound(f"Event {event_id} has no occurrence starting at {_rfc3339(original_start)}.")

    def move_occurrence(self, account: CalendarAccount, event_id: str, original_start: datetime,
                        new_start: datetime, new_end: datetime) -> None:
        instance = self._instance("move_occurrence", account, event_id, original_start)
        zone = instance.get("start", {}).get("timeZone")
        patch = {"start": _event_time(new_start, zone), "end": _event_time(new_end, zone), "status": "confirmed"}
        self._execute("move_occurrence", account, lambda s: s.events().patch(
            calendarId=account.calendar_id, eventId=instance["id"], body=patch, sendUpdates=self._send_updates,
            fields="id"))

    def cancel_occurrence(self, account: CalendarAccount, event_id: str, original_start: datetime) -> None:
        instance = self._instance("cancel_occurrence", account, event_id, original_start)
        if instance.get("status") == "cancelled":
            return
        self._execute("cancel_occurrence", account, lambda s: s.events().patch(
            calendarId=account.calendar_id, eventId=instance["id"], body={"status": "cancelled"},
            sendUpdates=self._send_updates, fields="id"))

    def update_description(self, account: CalendarAccount, event_id: str, description: str) -> None:
        self._execute("update_description", account, lambda s: s.events().patch(
            calendarId=account.calendar_id, eventId=event_id, body={"description": description},
            sendUpdates=self._send_updates, fields="id"))

    def cancel_series(self, account: CalendarAccount, event_id: str) -> None:
        try:
            self._execute("cancel_series", account, lambda s: s.events().delete(
                calendarId=account.calendar_id, eventId=event_id, sendUpdates=self._send_updates))
        except AlreadyDeleted:
            return

    # --- changes and push --------------------------------------------------------------------
    def changes(self, account: CalendarAccount, cursor: str | None) -> Changes:
        """Ids of our series changed since ``cursor`` (all of ours when ``cursor`` is None).

        Deleted events come back from Google as id + status only, so their ids are reported
        even though the tag cannot be seen; callers ignore ids they do not know."""
        params = {"calendarId": account.calendar_id, "maxResults": 250, "fields": CHANGE_FIELDS}
        params.update({"syncToken": cursor} if cursor else {"showDeleted": False})
        changed: list[str] = []
        with self._open(account) as session:
            while True:
                reply = self._execute("changes", account, lambda s, p=dict(params): s.events().list(**p), session)
                for item in reply.get("items", []):
                    ours = SERIES_TAG in item.get("extendedProperties", {}).get("private", {})
                    if ours or (cursor and item.get("status") == "cancelled"):
                        series_id = item.get("recurringEventId") or item["id"]
                        if series_id not in changed:
                            changed.append(series_id)
                if not reply.get("nextPageToken"):
                    return Changes(cursor=reply["nextSyncToken"], changed_event_ids=tuple(changed),
                                   full_resync=cursor is None)
                params["pageToken"] = reply["nextPageToken"]

    def watch(self, account: CalendarAccount, webhook_url: str, token: str) -> Watch | None:
        body = {"id": str(uuid.uuid4()), "type": "web_hook", "address": webhook_url, "token": token}
        reply = self._execute("watch", account, lambda s: s.events().watch(calendarId=account.calendar_id, body=body))
        expires = datetime.fromtimestamp(int(reply["expiration"]) / 1000, timezone.utc)
        return Watch(watch_id=reply["id"], resource_id=reply["resourceId"], expires_at=expires, token=token)

    def renew_watch(self, account: CalendarAccount, watch: Watch) -> Watch | None:
        """Google channels cannot be extended: the caller starts a new one before this expires."""
        return None

    def stop_watch(self, account: CalendarAccount, watch: Watch) -> None:
        body = {"id": watch.watch_id, "resourceId": watch.resource_id}
        try:
            self._execute("stop_watch", account, lambda s: s.channels().stop(body=body))
        except NotFound:
            return  # expired or stopped already

    def revoke(self, account: CalendarAccount) -> None:
        token = account.credentials.get("refresh_token") or account.credentials.get("token")
        if token:
            call_with_retries(lambda: google_oauth.revoke_token(self._revoke_uri, token, trust_env=self._trust_env),
                              self._retry, provider=PROVIDER, method="revoke", sleep=self._sleep)

    def verify(self, account: CalendarAccount, now: datetime) -> None:
        """Nothing to check: the tokens come straight from the person's OAuth consent."""


# --- helpers ---------------------------------------------------------------------------------
def _read_free_busy(replies: list[dict], calendar_ids: list[str]) -> tuple[dict[str, list[Interval]], dict[str, str]]:
    """Busy intervals and error reasons per calendar id from freeBusy replies (one per window)."""
    busy: dict[str, list[Interval]] = {c: [] for c in calendar_ids}
    errors: dict[str, str] = {}
    for reply in replies:
        calendars = reply.get("calendars", {})
        for calendar_id in calendar_ids:
            entry = calendars.get(calendar_id)
            if entry is None:
                errors[calendar_id] = "missing from Google's reply"
            elif entry.get("errors"):
                errors[calendar_id] = ", ".join(e.get("reason", "unknown") for e in entry["errors"])
            else:
                busy[calendar_id].extend(interval(_parse_time(b["start"]), _parse_time(b["end"]))
                                         for b in entry.get("busy", []))
    return busy, errors


def _free_busy_request(items: list[dict], window: Interval) -> Callable[[object], object]:
    body = {"timeMin": _rfc3339(window.start), "timeMax": _rfc3339(window.end), "timeZone": "UTC",
            "calendarExpansionMax": google_freebusy.MAX_CALENDARS_PER_QUERY, "items": items}
    return lambda service: service.freebusy().query(body=body)


def _split(window: Interval, size: timedelta) -> list[Interval]:
    parts, cursor = [], window.start
    while cursor < window.end:
        parts.append(Interval(cursor, min(cursor + size, window.end)))
        cursor = parts[-1].end
    return parts


def _rfc3339(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _parse_time(text: str) -> datetime:
    if len(text) == 10:  # all-day date
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def _time_of(value: dict) -> str:
    return value.get("dateTime") or value["date"]


def _occurrence(item: dict) -> OccurrenceState:
    original = item.get("originalStartTime") or item["start"]
    return OccurrenceState(original_start=_parse_time(_time_of(original)), start=_parse_time(_time_of(item["start"])),
                           end=_parse_time(_time_of(item["end"])), cancelled=item.get("status") == "cancelled",
                           declined_by=frozenset(a["email"].lower() for a in item.get("attendees", ())
                                                 if a.get("email") and a.get("responseStatus") == "declined"))


def _event_time(instant: datetime, zone: str | None) -> dict:
    body = {"dateTime": _rfc3339(instant)}
    if zone:
        body["timeZone"] = zone
    return body


def _meet_pending(event: dict) -> bool:
    status = event.get("conferenceData", {}).get("createRequest", {}).get("status", {})
    return status.get("statusCode") == "pending"


def _video_url(event: dict) -> str | None:
    for entry in event.get("conferenceData", {}).get("entryPoints", []):
        if entry.get("entryPointType") == "video":
            return entry.get("uri")
    return event.get("hangoutLink")
