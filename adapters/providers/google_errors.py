"""How Google's answers become ``scheduler.errors``: rate limits (429 and 403 rate reasons,
with Retry-After), outages, dead consent, missing or deleted events, expired sync tokens."""
from __future__ import annotations

import json

import google.auth.exceptions
from googleapiclient.errors import HttpError

from scheduler.errors import (NotFound, ProviderError, ProviderUnavailable, RateLimited, ReconnectNeeded,
                              SyncTokenExpired)
from scheduler.ports import CalendarAccount

RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})


class AlreadyExists(ProviderError):
    """409 duplicate: an insert with our deterministic id already happened."""


class AlreadyDeleted(NotFound):
    """410 deleted: the event was cancelled before."""


class CancelledBefore(ProviderError):
    """An insert met our own id (409) and the read-back found that event cancelled: the series was
    cancelled earlier and cannot be re-created under the same key. Waiting does not change that."""

    retryable = False


class BatchEndpointFailed(ProviderError):
    """The HTTP batch endpoint itself refused the request (404 on the batch URI): a configuration
    or service fault, not a verdict on any calendar in the batch."""

    retryable = False


def map_batch_error(batch_uri: str) -> ProviderError:
    return BatchEndpointFailed(f"Google's batch endpoint {batch_uri} answered 404 Not Found: no calendar in the "
                               "batch was read; check the Google API base URL in the settings (the batch URI "
                               "is <api base>/batch/calendar/v3).")


def error_detail(exc: HttpError) -> tuple[str, str]:
    """(reason, message) from Google's error JSON."""
    try:
        error = json.loads(exc.content.decode("utf-8", "replace")).get("error", {})
    except (ValueError, AttributeError):
        return "", ""
    if not isinstance(error, dict):
        return str(error), ""
    details = error.get("errors") or [{}]
    return details[0].get("reason", ""), error.get("message", "")


def retry_after_of(exc: HttpError) -> float | None:
    value = exc.resp.get("retry-after") if exc.resp is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def map_http_error(exc: HttpError) -> ProviderError:
    status = exc.resp.status
    reason, message = error_detail(exc)
    if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
        return RateLimited(f"Google Calendar is rate limiting ({reason or status}).", retry_after=retry_after_of(exc))
    if status == 401:
        return ReconnectNeeded("Google no longer accepts Tandem's access (401 after a refresh): reconnect the calendar.")
    if status == 403 and reason == "insufficientPermissions":
        return ReconnectNeeded("The Google consent lacks calendar access: reconnect and allow free/busy and events.")
    if status == 404:
        return NotFound("Google Calendar has no such event or calendar.")
    if status == 410:
        if reason == "fullSyncRequired":
            return SyncTokenExpired("Google's sync token expired: a full resync is needed.")
        return AlreadyDeleted("The event was deleted on Google Calendar.")
    if status == 409:
        return AlreadyExists("The event already exists on Google Calendar.")
    if status >= 500 or status == 408:
        return ProviderUnavailable(f"Google Calendar answered {status}; try again later.")
    return ProviderError(f"Google Calendar refused the request ({status} {reason}): {message}")


def map_refresh_error(exc: google.auth.exceptions.RefreshError, account: CalendarAccount) -> ProviderError:
    text = str(exc)
    if getattr(exc, "retryable", False) and "invalid_grant" not in text:
        return ProviderUnavailable("Google's sign-in service failed; try again later.")
    return ReconnectNeeded(f"Google access for {account.email} was revoked or expired: reconnect the calendar.")


def worst_of(errors: list[ProviderError]) -> ProviderError:
    """The error to raise for a batch: permanent before rate limit before unavailable."""
    for error in errors:
        if not isinstance(error, (RateLimited, ProviderUnavailable)):
            return error
    limited = [e for e in errors if isinstance(e, RateLimited)]
    if limited:
        waits = [e.retry_after for e in limited if e.retry_after is not None]
        return RateLimited(str(limited[0]), retry_after=max(waits) if waits else None)
    return errors[0]
