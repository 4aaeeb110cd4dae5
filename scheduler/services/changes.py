"""Calendar change notices (webhooks, periodic checks) and the push channels that send them."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

from scheduler.core.attendance import Signal
from scheduler.core.pair_state import WITH_SESSIONS, PairState, SeriesState, move_pair, move_series
from scheduler.errors import (NotFound, ProviderError, ProviderUnavailable, RateLimited, ReconnectNeeded,
                              SyncTokenExpired)
from scheduler.ports import Dependencies, UnitOfWork, Watch
from scheduler.services.accounts import account_for
from scheduler.services.attendance import record_signal
from scheduler.services.notifications import cancel_occurrence_notifications, notify_coordinators
from scheduler.services.pair_status import check_sessions_left

log = logging.getLogger(__name__)
RENEW_BEFORE = timedelta(days=1)
WEBHOOK_PATHS = {"google": "/webhooks/google", "microsoft": "/webhooks/microsoft", "memory": "/webhooks/memory"}


# --- channel tokens: "<connection id>.<channel>.<hmac>" -------------------------------------------
# Each push channel gets its own random ``channel`` value (kept in ``connection.watch["channel"]``),
# so a token dies with its channel; the HMAC also binds the endpoint (``google`` or ``microsoft``):
# a Google channel token is never a Graph clientState.
MAX_TOKEN_LENGTH = 256


def new_channel() -> str:
    """A fresh per-channel secret value."""
    return secrets.token_urlsafe(18)


def channel_token(secret: str, endpoint: str, connection_id: str, channel: str) -> str:
    mac = hmac.new(secret.encode(), f"channel:{endpoint}:{connection_id}:{channel}".encode(),
                   hashlib.sha256).hexdigest()[:43]
    return f"{connection_id}.{channel}.{mac}"


def verify_channel_token(secret: str, endpoint: str, token: str | None) -> tuple[str, str] | None:
    """(connection id, channel) a token stands for at ``endpoint``, or None when it is forged,
    malformed or made for another endpoint (compared in constant time)."""
    if not token or not secret or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        return None
    connection_id, channel, _ = token.split(".")
    expected = channel_token(secret, endpoint, connection_id, channel)
    return (connection_id, channel) if hmac.compare_digest(expected.encode(), token.encode()) else None


def live_channel(uow: UnitOfWork, connection_id: str, channel: str, watch_id: str | None):
    """The connection whose *current* channel is ``channel`` (and, when given, whose provider-side
    channel id is ``watch_id``); None for a replaced, stopped or unknown channel."""
    connection = uow.connections.get(connection_id)
    watch = (connection.watch or {}) if connection is not None else {}
    known = str(watch.get("channel") or "")
    if not known or not hmac.compare_digest(known.encode(), channel.encode()):
        return None
    if watch_id is not None and watch.get("watch_id") and watch_id != watch.get("watch_id"):
        return None
    return connection


def enqueue_change(uow: UnitOfWork, connection_id: str, now: datetime, dedupe: str) -> bool:
    """Queue ``handle_calendar_change`` for a connection (from a webhook: answer fast)."""
    return uow.outbox.add_once("handle_calendar_change", connection_id, f"change:{connection_id}:{dedupe}", now)


def expire_watch(uow: UnitOfWork, connection_id: str, now: datetime, *, forget: bool) -> None:
    """Make ``ensure_watch`` replace the channel: drop it (removed) or mark it expired now."""
    connection = uow.connections.get(connection_id)
    if connection is None:
        return
    if forget or not connection.watch:
        connection.watch = None
    else:
        connection.watch = {**connection.watch, "expires_at": now.isoformat()}


def handle_calendar_change(deps: Dependencies, connection_id: str) -> int:
    """Read what changed since the cursor, note series cancelled at the provider, and queue a
    re-check of every booked series of the connection's owner. Returns how many were queued."""
    now = deps.clock.now()
    with deps.uow() as uow:
        connection = uow.connections.get(connection_id)
        if connection is None or connection.status != "ok":
            return 0
        provider = deps.providers.get(connection.provider)
        account = account_for(deps, connection)
        cursor, person_id = connection.sync_cursor, connection.person_id
    changed: tuple[str, ...] = ()
    if provider is not None:
        try:
            result = provider.changes(account, cursor)
        except SyncTokenExpired:
            result = provider.changes(account, None)
        cursor, changed = result.cursor, result.changed_event_ids
    cancelled, declined = _cancelled_at_provider(deps, provider, account, changed, now)
    with deps.uow() as uow:
        connection = uow.connections.get(connection_id)
        connection.sync_cursor, connection.last_checked_at = cursor, now
        _record_cancellations(uow, cancelled, now)
        record_declines(uow, declined, now)
        queued = 0
        for series_id in uow.series.booked_ids(person_id):
            queued += uow.outbox.add_once("recheck_series", series_id,
                                          f"recheck_series:{series_id}:change:{cursor or now.isoformat()}", now)
        uow.commit()
    return queued


def _cancelled_at_provider(deps: Dependencies, provider, account, changed_ids, now):
    """For our events among ``changed_ids``: the whole series, or single occurrences, that the
    people cancelled in their calendar; and the occurrences someone declined
    (``(series id, original start, addresses)``)."""
    if not changed_ids or provider is None:
        return [], []
    with deps.uow() as uow:
        ours = [(s.id, s.provider_event_id) for s in uow.series.booked_by_event_ids(changed_ids)]
    found, declined = [], []
    for series_id, event_id in ours:
        try:
            state = provider.get_series(account, event_id, now - timedelta(days=1), now + timedelta(days=400))
        except NotFound:
            found.append((series_id, None, "calendar_deleted"))
            continue
        if state.cancelled:
            found.append((series_id, None, "calendar_cancelled"))
        else:
            found.extend((series_id, o.original_start, "calendar_cancelled")
                         for o in state.occurrences if o.cancelled)
            declined.extend((series_id, o.original_start, o.declined_by)
                            for o in state.occurrences if o.declined_by and not o.cancelled)
    return found, declined


def record_declines(uow: UnitOfWork, declined, now: datetime) -> int:
    """Keep a decline by the mentor or the mentee as a ``calendar_declined`` signal by that
    person (a cancellation by them, with the notice they gave), once per person and session;
    the session stays on the calendar (they may still meet). Returns how many were recorded."""
    recorded = 0
    for series_id, original_start, addresses in declined:
        occ = uow.occurrences.by_original_start(series_id, original_start)
        if occ is None or occ.status not in ("scheduled", "moved", "conflict"):
            continue
        pair = occ.series.pair
        emails = {role: _addresses(uow, person) for role, person in (("mentor", pair.mentor), ("mentee", pair.mentee))}
        already = {s.get("by") for s in occ.attendance_signals or [] if s.get("kind") == "calendar_declined"}
        for role in ("mentor", "mentee"):
            if role not in already and emails[role] & set(addresses):
                record_signal(uow, occ, Signal("calendar_declined", now, role), now)
                recorded += 1
    return recorded


def _addresses(uow: UnitOfWork, person) -> set[str]:
    """A person's address and those of their calendars (either may be the invited attendee)."""
    return {person.email.lower()} | {c.account_email.lower() for c in uow.connections.of_people([person.id])
                                     if c.account_email}


def _record_cancellations(uow: UnitOfWork, cancelled, now: datetime) -> None:
    for series_id, original_start, kind in cancelled:
        series = uow.series.get(series_id)
        if original_start is None:
            move_series(series, SeriesState.CANCELLED)
            for occ in series.occurrences:
                if occ.status in ("scheduled", "moved", "conflict") and occ.start > now:
                    occ.status = "cancelled"
                    record_signal(uow, occ, Signal(kind, now), now)
                    cancel_occurrence_notifications(uow, occ.id)
            pair = series.pair
            if pair.status in WITH_SESSIONS:  # a paused pair stays paused: resuming plans it again
                move_pair(pair, PairState.NEEDS_ATTENTION, "the series was cancelled in a calendar")
                notify_coordinators(uow, pair, "pair_attention", now, key=f"cancelled:{series_id}",
                                    payload={"reason": pair.status_reason})
            continue
        occ = uow.occurrences.by_original_start(series_id, original_start)
        if occ is not None and occ.status in ("scheduled", "moved", "conflict"):
            occ.status = "cancelled"
            record_signal(uow, occ, Signal(kind, now), now)
            cancel_occurrence_notifications(uow, occ.id)
            uow.flush()
            check_sessions_left(uow, series.pair, now, key=f"cancelled:{occ.id}")


def ensure_watch(deps: Dependencies, connection_id: str) -> bool:
    """Start the push channel of a connection, or keep it alive before it expires: a live one is
    extended in place where the provider can (Graph subscriptions; it keeps its channel secret),
    else replaced by a new one with a new secret (Google channels; one that expired, was marked
    for replacement, e.g. after Graph's ``reauthorizationRequired``, or dates from before
    per-channel secrets). A channel the provider refuses is counted in the connection's health
    (``watch["failures"]``) and the connection is polled meanwhile. True if changed."""
    now = deps.clock.now()
    with deps.uow() as uow:
        connection = uow.connections.get(connection_id)
        if connection is None or connection.status != "ok":
            return False
        provider = deps.providers.get(connection.provider)
        path = WEBHOOK_PATHS.get(connection.provider)
        if provider is None or path is None:
            return False
        current = dict(connection.watch or {})
        # a channel from before per-channel secrets (no "channel") is replaced at once
        fresh = current.get("channel") or not current.get("watch_id")
        if current and fresh and datetime.fromisoformat(current["expires_at"]) - RENEW_BEFORE > now:
            return False
        account = account_for(deps, connection)
        endpoint = connection.provider
    secret = deps.config.webhook_secret
    previous = (Watch(current["watch_id"], current["resource_id"], datetime.fromisoformat(current["expires_at"]),
                      channel_token(secret, endpoint, connection_id, current.get("channel") or new_channel()))
                if current.get("watch_id") else None)
    try:
        watch = _renewed(provider, account, previous if current.get("channel") else None, now)
        channel = current["channel"] if watch is not None else new_channel()
        renewed = watch is not None
        if watch is None:
            watch = provider.watch(account, deps.config.url(path), channel_token(secret, endpoint, connection_id,
                                                                                 channel))
    except (RateLimited, ProviderUnavailable, ReconnectNeeded):
        raise  # transient or consent lost: the outbox retries or flags it
    except ProviderError as exc:
        # The provider refuses this channel (e.g. Graph wants an https webhook URL): fall back
        # to polling (daily and before each session) and try the channel again tomorrow.
        log.warning("push channel for connection %s refused: %s; polling instead", connection_id, exc)
        with deps.uow() as uow:
            connection = uow.connections.get(connection_id)
            connection.watch = {"watch_id": None, "resource_id": None, "error": str(exc)[:500],
                                "failures": int(current.get("failures", 0)) + 1,
                                "expires_at": (now + RENEW_BEFORE + timedelta(days=1)).isoformat()}
            uow.commit()
        return False
    if previous is not None and not renewed:
        try:
            provider.stop_watch(account, previous)
        except NotFound:
            pass
    with deps.uow() as uow:
        connection = uow.connections.get(connection_id)
        connection.watch = None if watch is None else {
            "watch_id": watch.watch_id, "resource_id": watch.resource_id, "channel": channel,
            "expires_at": watch.expires_at.isoformat(), "failures": 0}
        uow.commit()
    return watch is not None


def _renewed(provider, account, old: Watch | None, now: datetime) -> Watch | None:
    """``old`` extended in place, when it is still live and the provider can; else None."""
    if old is None or old.expires_at <= now:
        return None
    try:
        return provider.renew_watch(account, old)
    except NotFound:
        return None  # gone at the provider: a new one is started


def record_webhook_failure(uow: UnitOfWork, connection_id: str, what: str) -> None:
    """Count a failure of a connection's push channel in its health (``watch["failures"]``): it
    is polled (see :func:`needs_polling`) until a channel works again."""
    connection = uow.connections.get(connection_id)
    if connection is None:
        return
    watch = dict(connection.watch or {"watch_id": None, "resource_id": None,
                                       "expires_at": "1970-01-01T00:00:00+00:00"})
    watch["failures"] = int(watch.get("failures", 0)) + 1
    watch["error"] = what[:500]
    connection.watch = watch


def needs_polling(watch: dict | None, now: datetime) -> bool:
    """True when a connection's changes do not (reliably) arrive by push: no channel, a refused
    or expired one, or one that failed since it last worked."""
    if not watch or not watch.get("watch_id") or int(watch.get("failures", 0)) > 0:
        return True
    return datetime.fromisoformat(watch["expires_at"]) <= now
