"""Error hierarchy that callers catch by meaning.

Every error carries a message a person can act on: what went wrong and what to do next.
"""
from __future__ import annotations


class TandemError(Exception):
    """Base of every error Tandem raises on purpose.

    ``retryable`` says whether doing the same work again later can help: the outbox retries a
    failed row with backoff only when it can (an error that is not a ``TandemError`` is taken as
    transient). A row whose error is not retryable is ``dead`` at once, shown to coordinators.
    ``routine``: the retry is part of normal operation (another run is doing the work), so the
    worker logs it at INFO, not as a warning.
    """

    retryable: bool = True
    routine: bool = False


# --- bad input -----------------------------------------------------------------------------
class InvalidInput(TandemError):
    """Input that cannot be used as given (a file, a form, a scenario)."""

    retryable = False


class InvalidCalendarFile(InvalidInput):
    """An iCalendar file that cannot be parsed; the message names the file and the problem."""


class UnknownTimeZone(InvalidInput):
    """A time-zone name that is neither IANA nor a known Windows zone name."""


class ImpossiblePreferences(InvalidInput):
    """Preferences that leave no possible time (e.g. earliest start after latest end)."""


class ConfigError(TandemError):
    """Settings that are missing, unreadable or not allowed."""


# --- planning ------------------------------------------------------------------------------
class NoMutualTime(TandemError):
    """Two people share no time that could hold a session; ``reason`` is for coordinators."""

    retryable = False


# --- calendar providers ---------------------------------------------------------------------
class ProviderError(TandemError):
    """A calendar provider call failed."""


class RateLimited(ProviderError):
    """The provider asked us to slow down; retry after ``retry_after`` seconds."""

    def __init__(self, message: str = "rate limited by the calendar provider", retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    """The provider is down, slow or answered 5xx; retry later."""


class ReconnectNeeded(ProviderError):
    """The person's consent is gone (revoked, expired refresh token): they must reconnect.

    Never retried automatically.
    """

    retryable = False


class NotFound(ProviderError):
    """The calendar object does not exist (any more)."""

    retryable = False


class SyncTokenExpired(ProviderError):
    """An incremental-sync cursor is no longer valid (HTTP 410): do a full resync."""


class UnsafeUrl(InvalidInput):
    """A URL a user gave points at a loopback, private or link-local address, or is not http(s)."""


# --- mail ----------------------------------------------------------------------------------
class MailUnavailable(TandemError):
    """The mail server could not take the message now (4xx, refused connection, timeout, our
    login or sender refused): the outbox retries later."""


class MailRejected(TandemError):
    """The mail server permanently refused the message for ``addresses`` (5xx): retrying the
    same message will not help; fix or replace those addresses."""

    retryable = False

    def __init__(self, message: str, addresses: tuple[str, ...] = (), code: int | None = None):
        super().__init__(message)
        self.addresses = addresses
        self.code = code
