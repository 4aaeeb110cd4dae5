"""Periodic steps the tick runs before claiming outbox rows. Each only *adds* outbox rows with
a key per day (or per expiry), so running them on every tick, or in several tick processes, is
harmless."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from adapters.storage.models import CalendarConnection
from adapters.storage.outbox import add_outbox
from scheduler.services.changes import RENEW_BEFORE, WEBHOOK_PATHS
from scheduler.services.repair import booked_series_ids

_last_daily: dict[int, str] = {}


def daily_rechecks(container) -> None:
    """At least once a day, every booked series is checked against fresh calendars."""
    now = container.clock.now()
    today = now.date().isoformat()
    if _last_daily.get(id(container)) == today:
        return
    with container.uow() as uow:
        for series_id in booked_series_ids(uow.session):
            add_outbox(uow.session, "recheck_series", series_id, f"recheck_series:{series_id}:daily:{today}", now)
        for connection_id in uow.session.scalars(select(CalendarConnection.id).where(
                CalendarConnection.status == "ok", CalendarConnection.provider.in_(tuple(WEBHOOK_PATHS)))):
            add_outbox(uow.session, "handle_calendar_change", connection_id, f"change:{connection_id}:daily:{today}", now)
        uow.commit()
    _last_daily[id(container)] = today


def renew_watches(container) -> None:
    """Push channels are replaced a day before they expire (Google) or renewed (Graph)."""
    now = container.clock.now()
    with container.uow() as uow:
        rows = uow.session.execute(select(CalendarConnection.id, CalendarConnection.watch).where(
            CalendarConnection.status == "ok", CalendarConnection.provider.in_(tuple(WEBHOOK_PATHS))))
        for connection_id, watch in rows:
            expires = datetime.fromisoformat(watch["expires_at"]) if watch else None
            if expires is None or expires - RENEW_BEFORE <= now:
                stamp = expires.isoformat() if expires else "new"
                add_outbox(uow.session, "renew_watch", connection_id, f"renew_watch:{connection_id}:{stamp}", now)
        uow.commit()


STEPS = (daily_rechecks, renew_watches)
