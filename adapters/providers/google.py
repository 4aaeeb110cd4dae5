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

from adapters.providers import google_oauth
from adapters.providers.google_errors import (AlreadyDeleted, AlreadyExists, CancelledBefore, map_batch_error,
                                              map_http_error, map_refresh_error, worst_of)
from adapters.providers.retry import RateLimiter, RetryPolicy, call_with_retries
from scheduler.core.intervals import Interval, interval, merge
from scheduler.errors import NotFound, ProviderError, ProviderUnavailable, ReconnectNeeded
from scheduler.ports import (CalendarAccount, Changes, FreeBusy, OccurrenceState, SeriesRef, SeriesSpec,
                             SeriesState, Watch)

PROVIDER = "google"  # the provider label of the metrics
GOOGLE_API_ENDPOINT = "https://www.googleapis.com/calendar/v3/"
GOOGLE_BATCH_URI = "https://www.googleapis.com/batch/calendar/v3"
SERIES_TAG = "tandemSeriesKey"
MAX_WINDOW = timedelta(days=90)  # freeBusy.query refuses longer ranges (timeRangeTooLong)
MAX_CALENDARS_PER_QUERY = 50
MAX_BATCH = 50
CHANGE_FIELDS = "items(id,status,recurringEventId,extendedProperties/private),nextPageToken,nextSyncToken"
SERIES_FIELDS = "id,status,description,attendees(email,responseStatus),start,end,recurrence,hangoutLink,conferenceData"
INSTANCE_FIELDS = "items(id,status,start,end,originalStartTime),nextPageToken"
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


class GoogleCalendarProvider:
    """The Google Calendar implementation of ``CalendarProvider``."""

    kind = "google"
    can_write = True

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

    def _guarded(self, account: CalendarAccount, session: _Session, call: Callable[[], dict]) -> dict:
        """One attempt: rate limit, run, map every failure to a ``scheduler.errors`` type."""
        if self._limiter is not None:
            self._limiter.acquire(account.connection_id)
        try:
            return call()
        except HttpError as exc:
            raise map_http_error(exc) from None
        except google.auth.exceptions.RefreshError as exc:
            raise map_refresh_error(exc, account) from None
        except google.auth.exceptions.TransportError:
            raise ProviderUnavailable("Google's sign-in service could not be reached; try again later.") from None
        except (httplib2.HttpLib2Error, OSError) as exc:
            raise ProviderUnavailable(f"Google Calendar could not be reached ({type(exc).__name__}); "
                                      "try again later.") from None
        finally:
            self._persist(account, session)

    def _execute(self, method: str, account: CalendarAccount, make: Callable[[object], object],
                 session: _Session | None = None) -> dict:
        """Run one API request with retries of transient failures (in ``session`` if given);
        ``method`` is the adapter operation the metrics name."""
        if session is None:
            with self._open(account) as opened:
                return self._execute(method, account, make, opened)
        return call_with_retries(lambda: self._guarded(account, session, lambda: make(session.service).execute()),
                                 self._retry, provider=PROVIDER, method=method, sleep=self._sleep)

    def _execute_many(self, method: str, account: CalendarAccount,
                      makers: list[Callable[[object], object]]) -> list[dict]:
        """Run several requests of one account, 50 per HTTP batch; retry only the failed ones."""
        if len(makers) == 1:
            return [self._execute(method, account, makers[0])]
        results: dict[int, dict] = {}

        def attempt() -> list[dict]:
            failures: dict[int, ProviderError] = {}
            pending = [i for i in range(len(makers)) if i not in results]
            for start in range(0, len(pending), MAX_BATCH):
                batch = BatchHttpRequest(batch_uri=self._batch_uri)

                def collect(request_id, response, exception):
                    if exception is None:
                        results[int(request_id)] = response
                    else:
                        failures[int(request_id)] = map_http_error(exception)
                for index in pending[start:start + MAX_BATCH]:
                    batch.add(makers[index](session.service), callback=collect, request_id=str(index))
                try:
                    self._guarded(account, session, lambda: batch.execute(http=session.http))
                except NotFound as exc:  # the batch endpoint itself answered 404: not any calendar's fault
                    raise map_batch_error(self._batch_uri) from exc
            if failures:
                raise worst_of(list(failures.values()))
            return [results[i] for i in range(len(makers))]
        with self._open(account) as session:
            return call_with_retries(attempt, self._retry, provider=PROVIDER, method=method, sleep=self._sleep)

    # --- free/busy ---------------------------------------------------------------------------
    def free_busy(self, accounts: Sequence[CalendarAccount], start: datetime, end: datetime) -> dict[str, FreeBusy]:
        """Busy time per ``connection_id``; an account whose consent is gone gets
        ``FreeBusy(error="reconnect_needed: ...")``; a calendar Google reports errors for gets
        ``FreeBusy(error=<reasons>)``. Transient failures that outlast the retries raise."""
        window = interval(start, end)
        if window.start == window.end:
            return {a.connection_id: FreeBusy() for a in accounts}
        windows = _split(window, MAX_WINDOW)
        out: dict[str, FreeBusy] = {}
        for group in _group_by_consent(accounts):
            for offset in range(0, len(group), MAX_CALENDARS_PER_QUERY):
                members = group[offset:offset + MAX_CALENDARS_PER_QUERY]
                try:
                    out.update(self._free_busy_of(members, windows))
                except (ReconnectNeeded, NotFound) as exc:
                    code = "reconnect_needed" if isinstance(exc, ReconnectNeeded) else "not_found"
                    out.update({a.connection_id: FreeBusy(error=f"{code}: {exc}") for a in members})
        return out

    def _free_busy_of(self, members: list[CalendarAccount], windows: list[Interval]) -> dict[str, FreeBusy]:
        lead = members[0]
        calendar_ids = sorted({a.calendar_id for a in members})

        def query(part: Interval) -> Callable[[object], object]:
            body = {"timeMin": _rfc3339(part.start), "timeMax": _rfc3339(part.end), "timeZone": "UTC",
                    "calendarExpansionMax": MAX_CALENDARS_PER_QUERY, "items": [{"id": c} for c in calendar_ids]}
            return lambda service: service.freebusy().query(body=body)
        replies = self._execute_many("free_busy", lead, [query(part) for part in windows])
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
        return {a.connection_id: (FreeBusy(error=f"google: {errors[a.calendar_id]}") if a.calendar_id in errors
                                  else FreeBusy(busy=tuple(merge(busy[a.calendar_id]))))
                for a in members}

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
def _group_by_consent(accounts: Sequence[CalendarAccount]) -> list[list[CalendarAccount]]:
    """Accounts that share one consent (the same refresh token) can share a freeBusy query."""
    groups: dict[str, list[CalendarAccount]] = {}
    for account in accounts:
        key = account.credentials.get("refresh_token") or account.credentials.get("token") or account.connection_id
        groups.setdefault(key, []).append(account)
    return list(groups.values())


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
                           end=_parse_time(_time_of(item["end"])), cancelled=item.get("status") == "cancelled")


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
