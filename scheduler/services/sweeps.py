"""Periodic sweeps the tick runs before claiming outbox rows.

Each only *adds* outbox rows with a key per day (or per expiry), or (attendance) touches only
rows it has not touched today, so running them on every tick, or in several tick processes at
once, is harmless: a repeat does nothing new. They keep no state between runs.
"""
from __future__ import annotations

from datetime import datetime

from scheduler.ports import Dependencies
from scheduler.services import at_risk_alerts, attendance, digest, outgoing_webhooks, privacy
from scheduler.services.changes import RENEW_BEFORE, WEBHOOK_PATHS, needs_polling


def daily_rechecks(deps: Dependencies) -> int:
    """At least once a day, every booked series is checked against fresh calendars, and every
    calendar whose changes do not arrive by push (no channel, or a refused, expired or failing
    one: polling is only the fallback) is read for changes.
    Returns how many rows were queued (0 when today's were queued already)."""
    now = deps.clock.now()
    today = now.date().isoformat()
    queued = 0
    with deps.uow() as uow:
        for series_id in uow.series.booked_ids():
            queued += uow.outbox.add_once("recheck_series", series_id, f"recheck_series:{series_id}:daily:{today}",
                                          now)
        for connection in uow.connections.usable_with_provider(tuple(WEBHOOK_PATHS)):
            if needs_polling(connection.watch, now):
                queued += uow.outbox.add_once("handle_calendar_change", connection.id,
                                              f"change:{connection.id}:daily:{today}", now)
        uow.commit()
    return queued


def renew_watches(deps: Dependencies) -> int:
    """Push channels are replaced a day before they expire (Google) or renewed (Graph); a
    connection without one gets one. Returns how many renewals were queued."""
    now = deps.clock.now()
    queued = 0
    with deps.uow() as uow:
        for connection in uow.connections.usable_with_provider(tuple(WEBHOOK_PATHS)):
            watch = connection.watch
            expires = datetime.fromisoformat(watch["expires_at"]) if watch else None
            if expires is None or expires - RENEW_BEFORE <= now:
                stamp = expires.isoformat() if expires else "new"
                queued += uow.outbox.add_once("renew_watch", connection.id,
                                              f"renew_watch:{connection.id}:{stamp}", now)
        uow.commit()
    return queued


def settle_attendance(deps: Dependencies) -> int:
    """Once a day, past sessions whose attendance is still unknown are resolved again: once a
    program's answer window has passed, silence becomes a signal beside the verdict. Returns how
    many sessions were resolved (0 when today's were resolved already)."""
    return attendance.sweep_attendance(deps)


def weekly_digests(deps: Dependencies) -> int:
    """Once per ISO week (from Monday 08:00 where each coordinator is), each coordinator's digest
    of each program they coordinate is queued, keyed by the week. Returns how many were queued."""
    return digest.queue_weekly_digests(deps)


def at_risk_checks(deps: Dependencies) -> int:
    """Once an hour, each program with a webhook endpoint that wants ``pair.at_risk`` gets a
    ``check_at_risk`` row (keyed by program and hour), which announces pairs that became at risk.
    Returns how many were queued."""
    return outgoing_webhooks.queue_at_risk_checks(deps)


def at_risk_alert_sweeps(deps: Dependencies) -> int:
    """Every hour, each program with immediate at-risk alerts on gets its ``alert_at_risk`` row
    (the actor emails the coordinators about pairs that became at risk). Returns how many were queued."""
    return at_risk_alerts.queue_alert_sweeps(deps)


def feedback_retention(deps: Dependencies) -> int:
    """Once a day, feedback free text older than the retention setting is deleted (answers and
    ratings stay) by a ``feedback_retention`` row keyed by the day. Returns how many rows were
    queued (0 when today's was queued already, or when the text is kept for ever)."""
    return privacy.queue_retention_sweep(deps)
