"""Build the calendar providers a process uses from settings (composition root).

Google and Microsoft are built only when a client id is configured; CalDAV and ICS feeds need
no credentials of Tandem's own. The in-memory provider is never built from settings: the demo
and the tests hand it in.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from adapters.providers.registry import (BURST_PER_ACCOUNT, MAX_WAIT_IN_PROCESS, REQUESTS_PER_SECOND_PER_ACCOUNT,
                                         microsoft_session)
from adapters.providers.retry import RateLimiter, RetryPolicy
from config.settings import Settings
from scheduler.ports import CalendarProvider


def build_providers(settings: Settings) -> dict[str, CalendarProvider]:
    from adapters.providers.caldav import CalDavCalendarProvider
    from adapters.providers.ics_feed import IcsFeedCalendarProvider

    providers: dict[str, CalendarProvider] = {"caldav": CalDavCalendarProvider(), "ics": IcsFeedCalendarProvider()}
    if settings.google.client_id:
        from adapters.providers.google import GoogleCalendarProvider

        base = settings.google.api_base.rstrip("/")
        providers["google"] = GoogleCalendarProvider(
            settings.google.client_id, settings.google.client_secret, token_uri=settings.google.token_uri,
            api_endpoint=f"{base}/calendar/v3/", batch_uri=f"{base}/batch/calendar/v3",
            revoke_uri=settings.google.revoke_uri,
            retry_policy=RetryPolicy(max_retry_after=MAX_WAIT_IN_PROCESS), rate_limiter=_limiter())
    if settings.microsoft.client_id:
        ms = settings.microsoft
        providers["microsoft"] = microsoft_provider(ms.graph_base, ms.authority, ms.client_id, ms.client_secret,
                                                    ms.ca_file)
    return providers


def microsoft_provider(graph_base: str, authority: str, client_id: str, client_secret: str, ca_file: str = "", *,
                       now: Callable[[], datetime] | None = None) -> CalendarProvider:
    """The Microsoft Graph adapter (a ``ca_file`` means a private authority: the emulator's).
    ``now`` is the time Graph keeps, for subscriptions' absolute expiries (default: the real
    time; the sandbox's emulated Graph keeps the sandbox's)."""
    from adapters.providers.microsoft import MicrosoftCalendarProvider

    return MicrosoftCalendarProvider(
        graph_base, authority, client_id, client_secret, microsoft_session(ca_file),
        validate_authority=not ca_file, retry_policy=RetryPolicy(max_retry_after=MAX_WAIT_IN_PROCESS),
        rate_limiter=_limiter(), **({"now": now} if now is not None else {}))


def _limiter() -> RateLimiter:
    """One limiter per provider and process, shared by every account's calls (and learning each
    account's Retry-After)."""
    return RateLimiter(REQUESTS_PER_SECOND_PER_ACCOUNT, BURST_PER_ACCOUNT, max_hold=MAX_WAIT_IN_PROCESS)
