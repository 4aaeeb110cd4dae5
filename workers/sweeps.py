"""Periodic steps the tick runs before claiming outbox rows (``tandem/cli.py`` reads ``STEPS``;
each step is called with the container). The rules live in ``scheduler.services.sweeps``; they
only add outbox rows with a key per day (or per expiry, or per ISO week), or touch only rows not touched today, so running them on every tick, or in
several tick processes, is harmless."""
from __future__ import annotations

from scheduler.services import sweeps, web_sessions


def daily_rechecks(container) -> None:
    sweeps.daily_rechecks(container)


def renew_watches(container) -> None:
    sweeps.renew_watches(container)


def settle_attendance(container) -> None:
    sweeps.settle_attendance(container)


def weekly_digests(container) -> None:
    sweeps.weekly_digests(container)


def at_risk_checks(container) -> None:
    sweeps.at_risk_checks(container)


def at_risk_alerts(container) -> None:
    sweeps.at_risk_alert_sweeps(container)


def feedback_retention(container) -> None:
    sweeps.feedback_retention(container)


def forget_expired_sessions(container) -> None:
    web_sessions.forget_expired_sessions(container)


STEPS = (daily_rechecks, renew_watches, settle_attendance, weekly_digests, at_risk_checks, at_risk_alerts,
         feedback_retention, forget_expired_sessions)
