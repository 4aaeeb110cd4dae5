"""Build the calendar providers a process uses from settings (composition root).

Google and Microsoft are built only when a client id is configured; CalDAV and ICS feeds need
no credentials of Tandem's own. The in-memory provider is never built from settings: the demo
and the tests hand it in.
"""
from __future__ import annotations

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
        from adapters.providers.microsoft import MicrosoftCalendarProvider

        providers["microsoft"] = MicrosoftCalendarProvider(
            settings.microsoft.graph_base, settings.microsoft.authority, settings.microsoft.client_id,
            settings.microsoft.client_secret, microsoft_session(settings.microsoft.ca_file),
            validate_authority=not settings.microsoft.ca_file,
            retry_policy=RetryPolicy(max_retry_after=MAX_WAIT_IN_PROCESS), rate_limiter=_limiter())
    return providers


def _limiter() -> RateLimiter:
    """One limiter per provider and process, shared by every account's calls (and learning each
    account's Retry-After)."""
    return RateLimiter(REQUESTS_PER_SECOND_PER_ACCOUNT, BURST_PER_ACCOUNT, max_hold=MAX_WAIT_IN_PROCESS)
