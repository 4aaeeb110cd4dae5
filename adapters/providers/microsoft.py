"""Microsoft 365 / Outlook calendars through Microsoft Graph v1.0 (``CalendarProvider``).

- Free/busy: ``POST /me/calendar/getSchedule`` in windows of at most 62 days (Graph's limit);
  personal outlook.com accounts, which Graph does not serve getSchedule for, use
  ``GET /me/calendarView`` with ``$select=start,end,showAs,isCancelled``. Only start, end and
  status are kept; subjects and locations in the replies are dropped at once and never logged.
  Busy: ``busy``, ``oof``, ``tentative`` (a maybe is not a free slot to book over) and
  ``unknown``. Free: ``free`` and ``workingElsewhere`` (the person is working, only elsewhere —
  a video session still fits).
- Time zones written (start, end, ``recurrenceTimeZone``) are Windows ids from the CLDR table
  (:mod:`adapters.providers.microsoft_zones`); moves are written in ``UTC``.
- Series: ``POST /me/events`` with a ``patternedRecurrence`` built from the RRULE, a
  ``transactionId`` derived from ``series_key`` (a retried create returns the same event), a
  Teams meeting when ``video``, and a ``singleValueExtendedProperties`` tag holding the key.
- One occurrence: found with ``/instances`` by its ``originalStart``, then PATCHed or cancelled.
- Changes: ``calendarView/delta`` with ``$select=transactionId,seriesMasterId,type`` (Graph keeps it
  in the delta/next links), so no subject, body or attendee of anyone's event is fetched; the cursor
  is the ``@odata.deltaLink``; 410 -> SyncTokenExpired.
- Watch: a ``/subscriptions`` on ``me/events`` (clientState = the watch token), renewed with
  :meth:`MicrosoftCalendarProvider.renew_watch` before it expires (< 7 days).
"""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Sequence

import requests

from adapters.providers.microsoft_auth import MsalApps, MsalConfig, is_personal_account, load_cache
from adapters.providers.microsoft_graph import GraphClient, GraphRejected
from adapters.providers.microsoft_recurrence import (graph_datetime, iana_zone, parse_graph_datetime,
                                                     rrule_to_graph, utc_graph_datetime)
from adapters.providers.microsoft_zones import windows_zone
from adapters.providers.retry import RateLimiter, RetryPolicy
from scheduler.core.intervals import Interval, interval, merge
from scheduler.errors import InvalidInput, NotFound, ProviderError, ReconnectNeeded
from scheduler.ports import (CalendarAccount, Changes, FreeBusy, OccurrenceState, ProviderKind, Response,
                             SeriesRef, SeriesSpec, SeriesState, Watch)

MAX_SCHEDULE_WINDOW = timedelta(days=62)
MAX_SCHEDULES = 20  # schedules asked in one getSchedule
MAX_PARALLEL_TOKENS = 8  # tokens read at the same time in one free/busy round
BUSY_STATUSES = frozenset({"busy", "oof", "tentative", "unknown"})
TAG_PROPERTY_ID = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name tandemSeriesKey"
WATCH_LIFETIME = timedelta(days=6)  # Graph allows < 7 days (10080 minutes) for events
MAX_CLIENT_STATE = 128
DELTA_WINDOW = (timedelta(days=30), timedelta(days=730))  # past, future, around now
# what ``_ours`` reads of a delta item (id always comes): no subject, body, attendees or location
DELTA_SELECT = "transactionId,seriesMasterId,type"
OCCURRENCE_SEARCH = timedelta(days=45)  # how far a moved occurrence may sit from its original start
_TXN_NAMESPACE = uuid.UUID("0d7a3c52-3c4e-4f0e-8a51-6f1f3a0c9b21")
_RESPONSES: dict[str, Response] = {"accepted": "accepted", "organizer": "accepted", "declined": "declined",
                                   "tentativelyAccepted": "tentative", "none": "needsAction",
                                   "notResponded": "needsAction"}
UTC = timezone.utc


TXN_PREFIX = "tandem-"


class CancelledBefore(ProviderError):
    """A create met our own earlier event for the series key (same ``transactionId``), and that event
    is cancelled: reported as what it is, not as a booking. Waiting does not change it."""

    retryable = False


def transaction_id(series_key: str) -> str:
    """The Graph ``transactionId`` for a series key: stable, so a retried create is a no-op, and
    prefixed, so our events are recognisable in delta replies (which cannot ``$expand`` our tag).

    >>> transaction_id("series-42") == transaction_id("series-42")
    True
    >>> transaction_id("series-42").startswith(TXN_PREFIX)
    True
    """
    return TXN_PREFIX + str(uuid.uuid5(_TXN_NAMESPACE, series_key))


def _ours(item: dict) -> str | None:
    """The event id a delta item stands for, when it may be one of ours.

    Ours carry our ``transactionId``. Removed items carry only an id, and an occurrence may come
    without its series' transactionId: both are kept (a superset; callers match ids anyway).
    """
    if "@removed" in item:
        return item["id"]
    txn = item.get("transactionId")
    if txn and str(txn).startswith(TXN_PREFIX):
        return item.get("seriesMasterId") or item["id"]
    if not txn and item.get("type") in ("occurrence", "exception"):
        return item.get("seriesMasterId") or item["id"]
    return None


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MicrosoftCalendarProvider:
    """``CalendarProvider`` for Microsoft Graph. ``session`` is the ``requests.Session`` used for
    both MSAL and Graph (tests pass one with ``verify=<emulator CA>`` and ``trust_env=False``)."""

    kind: ProviderKind = "microsoft"
    can_write: bool = True
    # A cancelled occurrence leaves the series (it is listed in cancelledOccurrences) and Graph
    # has no call that brings it back: resuming re-plans instead (see scheduler.services.lifecycle).
    can_restore: bool = False

    def __init__(self, graph_url: str, authority: str, client_id: str, client_secret: str,
                 session: requests.Session, *, validate_authority: bool = True,
                 retry_policy: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep,
                 rate_limiter: RateLimiter | None = None, timeout: float = 30.0,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        base = graph_url.rstrip("/")
        self.graph_url = base if base.endswith("/v1.0") else base + "/v1.0"
        self.apps = MsalApps(MsalConfig(client_id, client_secret, authority, session, validate_authority))
        self.graph = GraphClient(self.graph_url, self.apps, session, retry_policy=retry_policy, sleep=sleep,
                                 rate_limiter=rate_limiter, timeout=timeout)
        self._now = now
        self._own_only: set[str] = set()  # addresses a colleague's getSchedule could not read

    # --- free/busy ----------------------------------------------------------------------------
    def free_busy(self, accounts: Sequence[CalendarAccount], start: datetime, end: datetime) -> dict[str, FreeBusy]:
        """Busy time per account for a whole planning round. People of one tenant are read with
        one colleague's token through ``getSchedule`` (20 schedules a request, windows of at most
        62 days, the windows of one token in one ``$batch``); a person that token cannot read
        is read with their own (and remembered); personal accounts through ``calendarView``.
        Different tokens run concurrently. A lost consent, a missing mailbox or a request Graph
        rejects for that account makes it unknown (``FreeBusy.error``); throttling and outages
        that outlast the retries raise, so the caller retries the whole read."""
        out: dict[str, FreeBusy] = {}
        personal = [a for a in accounts if is_personal_account(a.credentials)]
        work = [a for a in accounts if not is_personal_account(a.credentials)]
        jobs = _schedule_jobs(work, self._own_only)
        fallback = [a for found in self._run_all([lambda j=j: self._schedule_job(j, start, end, out) for j in jobs])
                    for a in found]
        view = personal + self._run_all_flat([lambda j=j: self._schedule_job(j, start, end, out)
                                              for j in _schedule_jobs(fallback, own_only=None)])
        self._run_all([lambda a=a: out.__setitem__(a.connection_id, self._view_or_error(a, start, end))
                       for a in view])
        return out

    def _run_all(self, tasks: list[Callable[[], object]]) -> list:
        """Run ``tasks`` (one per token) concurrently; the first failure is raised after all ended."""
        if len(tasks) <= 1:
            return [task() for task in tasks]
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_TOKENS, len(tasks))) as pool:
            futures = [pool.submit(task) for task in tasks]
        failed = next((f.exception() for f in futures if f.exception() is not None), None)
        if failed is not None:
            raise failed
        return [f.result() for f in futures]

    def _run_all_flat(self, tasks: list[Callable[[], list]]) -> list:
        return [item for found in self._run_all(tasks) for item in found]

    def _view_or_error(self, account: CalendarAccount, start: datetime, end: datetime) -> FreeBusy:
        try:
            return FreeBusy(busy=tuple(merge(self._busy_from_view(account, start, end))))
        except ReconnectNeeded as exc:
            return FreeBusy(error=f"reconnect_needed: {exc}")
        except NotFound as exc:
            return FreeBusy(error=f"not_found: {exc}")
        except GraphRejected as exc:
            return FreeBusy(error=f"rejected: {exc.code}")

    def _schedule_job(self, job: "_ScheduleJob", start: datetime, end: datetime,
                      out: dict[str, FreeBusy]) -> list[CalendarAccount]:
        """One token's getSchedule requests (one per window, in one ``$batch``) into ``out``;
        returns the accounts to read otherwise: colleagues the token could not read (with their
        own token) and, when getSchedule is not offered (``ErrorNotSupported``), the lead itself
        (through calendarView, returned as the only element with ``job.lead``)."""
        windows = _windows(start, end, MAX_SCHEDULE_WINDOW)
        emails = [m.email for m in job.members]
        calls = [{"method": "POST", "url": "/me/calendar/getSchedule",
                  "body": {"schedules": emails, "startTime": utc_graph_datetime(s), "endTime": utc_graph_datetime(e),
                           "availabilityViewInterval": 60}} for s, e in windows]
        try:
            replies = self.graph.batch("free_busy", job.lead, calls)
        except (ReconnectNeeded, NotFound, GraphRejected) as exc:
            replies = [exc]
        failed = next((r for r in replies if isinstance(r, ProviderError)), None)
        others = [m for m in job.members if m is not job.lead]
        if failed is not None:
            if isinstance(failed, GraphRejected) and failed.code == "ErrorNotSupported":
                self._own_only.update(m.email.lower() for m in others)
                return job.members[:]  # no getSchedule here: calendarView for each, own tokens
            out[job.lead.connection_id] = FreeBusy(error=_error_code(failed))
            return others
        busy: dict[str, list[Interval]] = {e.lower(): [] for e in emails}
        errors: dict[str, str] = {}
        for reply, (s, e) in zip(replies, windows):
            for info in reply.get("value", []):
                who = str(info.get("scheduleId", "")).lower()
                if info.get("error"):
                    errors[who] = f"schedule_error: {info['error'].get('responseCode', 'unknown')}"
                    continue
                for item in info.get("scheduleItems", []):
                    # keep status, start and end only: subject/location are dropped here, unread
                    status, item_start, item_end = item.get("status"), item.get("start"), item.get("end")
                    if status in BUSY_STATUSES and item_start and item_end and who in busy:
                        iv = _clip(interval(parse_graph_datetime(item_start), parse_graph_datetime(item_end)), s, e)
                        if iv.end > iv.start:
                            busy[who].append(iv)
        again = []
        for member in job.members:
            who = member.email.lower()
            if who in errors and member is not job.lead:
                self._own_only.add(who)
                again.append(member)
            elif who in errors:
                out[member.connection_id] = FreeBusy(error=errors[who])
            else:
                out[member.connection_id] = FreeBusy(busy=tuple(merge(busy[who])))
        return again

    def _busy_from_view(self, account: CalendarAccount, start: datetime, end: datetime) -> list[Interval]:
        params = {"startDateTime": _iso(start), "endDateTime": _iso(end),
                  "$select": "start,end,showAs,isCancelled", "$top": "100"}
        busy = []
        for item in self._pages("free_busy", account, "/me/calendarView", params):
            if item.get("isCancelled") or item.get("showAs") not in BUSY_STATUSES:
                continue
            iv = _clip(interval(parse_graph_datetime(item["start"]), parse_graph_datetime(item["end"])), start, end)
            if iv.end > iv.start:
                busy.append(iv)
        return busy

    def _pages(self, operation: str, account: CalendarAccount, path: str, params: dict | None,
               headers: dict | None = None):
        url, query = path, params
        while url:
            reply = self.graph.request(operation, account, "GET", url, params=query, headers=headers).json()
            yield from reply.get("value", [])
            url, query = reply.get("@odata.nextLink"), None

    # --- series -------------------------------------------------------------------------------
    def create_series(self, account: CalendarAccount, spec: SeriesSpec) -> SeriesRef:
        """Create the recurring meeting (idempotent on ``series_key`` via ``transactionId``)."""
        end_local = spec.start_local + timedelta(minutes=spec.duration_min)
        zone = windows_zone(spec.tz)  # Graph's create/update take Windows ids, not every IANA name
        body = {
            "subject": spec.title,
            "body": {"contentType": "text", "content": spec.description},
            "start": graph_datetime(spec.start_local, zone),
            "end": graph_datetime(end_local, zone),
            "recurrence": rrule_to_graph(spec.rrule, spec.start_local, zone),
            "attendees": [{"emailAddress": {"address": a}, "type": "required"} for a in spec.attendee_emails],
            "allowNewTimeProposals": False,
            "transactionId": transaction_id(spec.series_key),
            "singleValueExtendedProperties": [{"id": TAG_PROPERTY_ID, "value": spec.series_key}],
        }
        if spec.video:
            body.update(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
        created = self.graph.request("create_series", account, "POST", "/me/events", json=body).json()
        if created.get("isCancelled"):  # the transactionId met our own earlier event, since cancelled
            raise CancelledBefore(f"Microsoft already holds event {created.get('id')} for this series, cancelled: "
                                  "a cancelled series is not re-created under the same key; book it as a new series "
                                  "(a new series key) instead.")
        join = (created.get("onlineMeeting") or {}).get("joinUrl")
        return SeriesRef(event_id=created["id"], video_url=join)

    def get_series(self, account: CalendarAccount, event_id: str, start: datetime, end: datetime) -> SeriesState:
        """The series and its occurrences in ``[start, end)``, cancelled ones included as cancelled."""
        master = self.graph.request("get_series", 
            account, "GET", f"/me/events/{event_id}",
            params={"$select": "isCancelled,body,attendees,recurrence,cancelledOccurrences,start,end,type"},
            headers={"Prefer": 'outlook.timezone="UTC", outlook.body-content-type="text"'}).json()
        attendees = {a["emailAddress"]["address"].lower(): _RESPONSES.get(a.get("status", {}).get("response"),
                                                                          "needsAction")
                     for a in master.get("attendees", []) if a.get("emailAddress", {}).get("address")}
        description = (master.get("body") or {}).get("content", "")
        if master.get("isCancelled"):
            return SeriesState(event_id, True, description, attendees, ())
        occurrences = [OccurrenceState(original_start=parse_graph_datetime({"dateTime": i["originalStart"],
                                                                            "timeZone": "UTC"}),
                                       start=parse_graph_datetime(i["start"]), end=parse_graph_datetime(i["end"]),
                                       declined_by=_declined(i))
                       for i in self._instances("get_series", account, event_id, start, end)]
        occurrences.extend(self._cancelled_occurrences(master, start, end))
        occurrences.sort(key=lambda o: o.original_start)
        return SeriesState(event_id, False, description, attendees, tuple(occurrences))

    def _instances(self, operation: str, account: CalendarAccount, event_id: str, start: datetime,
                   end: datetime) -> list[dict]:
        params = {"startDateTime": _iso(start), "endDateTime": _iso(end),
                  "$select": "start,end,originalStart,isCancelled,type,attendees", "$top": "100"}
        return [i for i in self._pages(operation, account, f"/me/events/{event_id}/instances", params)
                if not i.get("isCancelled") and i.get("originalStart")]

    def _cancelled_occurrences(self, master: dict, start: datetime, end: datetime) -> list[OccurrenceState]:
        """Graph lists deleted occurrences on the master as ``OID.<master id>.<yyyy-mm-dd>``."""
        recurrence = master.get("recurrence") or {}
        zone = iana_zone((recurrence.get("range") or {}).get("recurrenceTimeZone") or "UTC")
        first_start = parse_graph_datetime(master["start"])
        duration = parse_graph_datetime(master["end"]) - first_start
        wall = first_start.astimezone(zone).timetz().replace(tzinfo=None)
        out = []
        for marker in master.get("cancelledOccurrences") or []:
            day = marker.rsplit(".", 1)[-1]
            try:
                original = datetime.combine(datetime.fromisoformat(day).date(), wall, tzinfo=zone).astimezone(UTC)
            except ValueError:
                continue
            if start <= original < end:
                out.append(OccurrenceState(original, original, original + duration, cancelled=True))
        return out

    def _find_occurrence(self, operation: str, account: CalendarAccount, event_id: str,
                         original_start: datetime) -> dict:
        target = original_start.astimezone(UTC)
        for inst in self._instances(operation, account, event_id, target - OCCURRENCE_SEARCH,
                                    target + OCCURRENCE_SEARCH):
            original = parse_graph_datetime({"dateTime": inst["originalStart"], "timeZone": "UTC"})
            if original == target:
                return inst
        raise NotFound(f"the series has no occurrence that started at {_iso(target)}")

    def move_occurrence(self, account: CalendarAccount, event_id: str, original_start: datetime,
                        new_start: datetime, new_end: datetime) -> None:
        """Move the occurrence that originally started at ``original_start``; NotFound if none."""
        inst = self._find_occurrence("move_occurrence", account, event_id, original_start)
        self.graph.request("move_occurrence", account, "PATCH", f"/me/events/{inst['id']}",
                           json={"start": utc_graph_datetime(new_start), "end": utc_graph_datetime(new_end)})

    def cancel_occurrence(self, account: CalendarAccount, event_id: str, original_start: datetime) -> None:
        """Cancel one occurrence (the attendee gets a cancellation for that date only)."""
        inst = self._find_occurrence("cancel_occurrence", account, event_id, original_start)
        self.graph.request("cancel_occurrence", account, "POST", f"/me/events/{inst['id']}/cancel", json={})

    def update_description(self, account: CalendarAccount, event_id: str, description: str) -> None:
        """Replace the agenda (the event body, as text)."""
        self.graph.request("update_description", account, "PATCH", f"/me/events/{event_id}",
                           json={"body": {"contentType": "text", "content": description}})

    def cancel_series(self, account: CalendarAccount, event_id: str) -> None:
        """Cancel the whole series; cancelling a cancelled or missing series is a no-op."""
        try:
            state = self.graph.request("cancel_series", account, "GET", f"/me/events/{event_id}",
                                       params={"$select": "isCancelled"}).json()
            if state.get("isCancelled"):
                return
            self.graph.request("cancel_series", account, "POST", f"/me/events/{event_id}/cancel", json={})
        except NotFound:
            return  # already gone: cancelling is idempotent

    # --- changes and watches -------------------------------------------------------------------
    def changes(self, account: CalendarAccount, cursor: str | None) -> Changes:
        """Ids of our events (series masters) changed since ``cursor``. Without a cursor, a full
        round over now-30 days .. now+730 days reports all of ours (``full_resync=True``)."""
        headers = {"Prefer": 'outlook.timezone="UTC", odata.maxpagesize=100'}
        if cursor is None:
            now = self._now()
            url, params = "/me/calendarView/delta", {"startDateTime": _iso(now - DELTA_WINDOW[0]),
                                                     "endDateTime": _iso(now + DELTA_WINDOW[1]),
                                                     "$select": DELTA_SELECT}
        else:
            url, params = cursor, None
        changed: dict[str, None] = {}
        while True:
            reply = self.graph.request("changes", account, "GET", url, params=params, headers=headers).json()
            for item in reply.get("value", []):
                event_id = _ours(item)  # ids only: subjects in the reply are never read
                if event_id is not None and not (cursor is None and "@removed" in item):
                    changed[event_id] = None
            if "@odata.nextLink" in reply:
                url, params = reply["@odata.nextLink"], None
                continue
            delta_link = reply.get("@odata.deltaLink")
            if not delta_link:
                raise ProviderError("Microsoft Graph ended a delta round without a deltaLink")
            return Changes(cursor=delta_link, changed_event_ids=tuple(changed), full_resync=cursor is None)

    def watch(self, account: CalendarAccount, webhook_url: str, token: str) -> Watch | None:
        """A Graph subscription on the account's events; None if the consent cannot read events
        (a ``Calendars.ReadBasic``-only connection: Graph needs Calendars.Read to subscribe)."""
        if len(token) > MAX_CLIENT_STATE:
            raise InvalidInput(f"a Graph clientState holds at most {MAX_CLIENT_STATE} characters")
        scopes = set(account.credentials.get("scopes") or ())
        if not scopes & {"Calendars.Read", "Calendars.ReadWrite"}:
            return None
        expires = self._now() + WATCH_LIFETIME
        sub = self.graph.request("watch", account, "POST", "/subscriptions", json={
            "changeType": "created,updated,deleted", "notificationUrl": webhook_url,
            "lifecycleNotificationUrl": webhook_url, "resource": "me/events",
            "expirationDateTime": _iso(expires), "clientState": token}).json()
        return _watch(sub, token)

    def renew_watch(self, account: CalendarAccount, watch: Watch, lifetime: timedelta = WATCH_LIFETIME) -> Watch:
        """Extend a subscription (Graph event subscriptions live less than 7 days)."""
        sub = self.graph.request("renew_watch", account, "PATCH", f"/subscriptions/{watch.watch_id}",
                                 json={"expirationDateTime": _iso(self._now() + lifetime)}).json()
        return _watch(sub, watch.token)

    def stop_watch(self, account: CalendarAccount, watch: Watch) -> None:
        """Delete the subscription (one that is already gone is fine)."""
        try:
            self.graph.request("stop_watch", account, "DELETE", f"/subscriptions/{watch.watch_id}")
        except NotFound:
            return

    def revoke(self, account: CalendarAccount) -> None:
        """Forget our tokens. Graph has no per-app revoke of delegated consent (revokeSignInSessions
        would sign the person out of every app), so the MSAL cache is emptied and persisted; the
        person removes the app grant at myapps.microsoft.com / account.live.com/consent/Manage."""
        cache = load_cache(account.credentials)
        app = self.apps.app(cache)
        for acct in app.get_accounts():
            app.remove_account(acct)
        account.credentials_changed({**account.credentials, "msal_cache": cache.serialize(), "home_account_id": ""})

    def verify(self, account: CalendarAccount, now: datetime) -> None:
        """Nothing to check: the tokens come straight from the person's OAuth consent."""


def _watch(sub: dict, token: str) -> Watch:
    expires = parse_graph_datetime({"dateTime": sub["expirationDateTime"], "timeZone": "UTC"})
    return Watch(watch_id=sub["id"], resource_id=sub.get("resource", "me/events"), expires_at=expires,
                 token=sub.get("clientState") or token)


def _clip(iv: Interval, start: datetime, end: datetime) -> Interval:
    return Interval(max(iv.start, start.astimezone(UTC)), min(iv.end, end.astimezone(UTC)))


@dataclass(frozen=True)
class _ScheduleJob:
    """One token (``lead``'s) reading the schedules of ``members`` (lead first, at most 20)."""

    lead: CalendarAccount
    members: list[CalendarAccount]


def _tenant_of(account: CalendarAccount) -> str | None:
    """The tenant id of a work account (``home_account_id`` is ``<oid>.<tenant id>``)."""
    home = str(account.credentials.get("home_account_id", ""))
    return home.partition(".")[2] or None


def _schedule_jobs(accounts: Sequence[CalendarAccount], own_only: set[str] | None) -> list[_ScheduleJob]:
    """Accounts of one tenant share a colleague's getSchedule, 20 schedules a request; those in
    ``own_only`` (or all, when it is None) are read with their own token."""
    by_tenant: dict[str, list[CalendarAccount]] = {}
    jobs: list[_ScheduleJob] = []
    for account in accounts:
        tenant = _tenant_of(account)
        if own_only is None or tenant is None or account.email.lower() in own_only:
            jobs.append(_ScheduleJob(account, [account]))
        else:
            by_tenant.setdefault(tenant, []).append(account)
    for members in by_tenant.values():
        lead = members[0]
        rest = members[1:]
        step = MAX_SCHEDULES - 1
        for offset in range(0, max(len(rest), 1), step):
            jobs.append(_ScheduleJob(lead, [lead] + rest[offset:offset + step]))
    return jobs


def _windows(start: datetime, end: datetime, size: timedelta) -> list[tuple[datetime, datetime]]:
    parts, cursor = [], start
    while cursor < end:
        parts.append((cursor, min(cursor + size, end)))
        cursor = parts[-1][1]
    return parts


def _error_code(exc: ProviderError) -> str:
    if isinstance(exc, ReconnectNeeded):
        return f"reconnect_needed: {exc}"
    if isinstance(exc, NotFound):
        return f"not_found: {exc}"
    return f"rejected: {getattr(exc, 'code', 'unknown')}"


def _declined(item: dict) -> frozenset[str]:
    """The addresses of the attendees who declined this instance (``status.response``)."""
    return frozenset(a["emailAddress"]["address"].lower() for a in item.get("attendees") or ()
                     if (a.get("emailAddress") or {}).get("address")
                     and (a.get("status") or {}).get("response") == "declined")
