"""HTTP to Microsoft Graph for one connected account: bearer tokens from MSAL, one refresh on
401, Graph errors mapped to Tandem's error types, retries with ``call_with_retries``.

Error mapping: 429 -> RateLimited(retry_after), 5xx / timeouts / connection errors ->
ProviderUnavailable, 404 -> NotFound, 410 -> SyncTokenExpired, 401 after a forced refresh or 403
-> ReconnectNeeded (consent gone or too narrow), other 4xx -> ProviderError with Graph's code.
Only status codes and Graph error codes are logged, never bodies (they can hold event subjects).
"""
from __future__ import annotations

import logging
import time
from typing import Callable

import requests

from adapters.providers.microsoft_auth import MsalApps, acquire_access_token
from adapters.providers.retry import RateLimiter, RetryPolicy, call_with_retries
from scheduler.errors import (NotFound, ProviderError, ProviderUnavailable, RateLimited, ReconnectNeeded,
                              SyncTokenExpired)
from scheduler.ports import CalendarAccount

log = logging.getLogger(__name__)


class GraphRejected(ProviderError):
    """Graph answered 4xx for a reason not covered by a more specific error."""

    def __init__(self, message: str, status: int, code: str):
        super().__init__(message)
        self.status, self.code = status, code


class GraphClient:
    """Authenticated, retried Graph requests on behalf of one account at a time."""

    def __init__(self, graph_url: str, apps: MsalApps, session: requests.Session, *,
                 retry_policy: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep,
                 rate_limiter: RateLimiter | None = None, timeout: float = 30.0):
        self.graph_url = graph_url.rstrip("/")
        self.apps = apps
        self.session = session
        self.retry_policy = retry_policy
        self.sleep = sleep
        self.rate_limiter = rate_limiter
        self.timeout = timeout

    def request(self, operation: str, account: CalendarAccount, method: str, path_or_url: str, *,
                params: dict | None = None, json: dict | None = None,
                headers: dict | None = None) -> requests.Response:
        """Send one Graph request (retried when transient) and return the 2xx response.
        ``operation`` is the adapter's (``free_busy``, ``create_series``, ...), for the metrics."""
        url = path_or_url if path_or_url.startswith("https://") else self.graph_url + path_or_url
        if not url.startswith(self.graph_url + "/"):
            raise ProviderError(f"refusing to send a Graph token to {url.split('?')[0]!r}")
        return call_with_retries(lambda: self._once(account, method, url, params, json, headers),
                                 self.retry_policy, provider="microsoft", method=operation, sleep=self.sleep)

    def _once(self, account, method, url, params, json, headers) -> requests.Response:
        if self.rate_limiter is not None:
            self.rate_limiter.acquire(account.connection_id)
        token = self._token(account, force_refresh=False)
        resp = self._send(method, url, token, params, json, headers)
        if resp.status_code == 401:
            resp.close()
            token = self._token(account, force_refresh=True)
            resp = self._send(method, url, token, params, json, headers)
            if resp.status_code == 401:
                resp.close()
                raise ReconnectNeeded("Microsoft refused the calendar token after a refresh: reconnect the calendar")
        return self._check(resp, method, url)

    def _token(self, account: CalendarAccount, *, force_refresh: bool) -> str:
        token, changed = acquire_access_token(self.apps, account.credentials, force_refresh=force_refresh)
        if changed is not None:
            account.credentials_changed(changed)  # rotated refresh token: persist before anything else
        return token

    def _send(self, method, url, token, params, json, headers) -> requests.Response:
        all_headers = {"Authorization": f"Bearer {token}", "Prefer": 'outlook.timezone="UTC"'}
        all_headers.update(headers or {})
        try:
            return self.session.request(method, url, params=params, json=json, headers=all_headers,
                                        timeout=self.timeout)
        except requests.Timeout as exc:
            raise ProviderUnavailable("Microsoft Graph did not answer in time; try again later") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"Microsoft Graph unreachable ({type(exc).__name__}); try again later") from exc

    def _check(self, resp: requests.Response, method: str, url: str) -> requests.Response:
        status = resp.status_code
        if status < 400:
            return resp
        code = _graph_code(resp)
        where = f"{method} {url.split('?')[0].removeprefix(self.graph_url)}"
        log.info("graph %s -> %s %s", where, status, code)
        resp.close()
        if status == 429:
            raise RateLimited(f"Microsoft Graph is throttling this calendar ({code})",
                              retry_after=_retry_after(resp))
        if status >= 500:
            raise ProviderUnavailable(f"Microsoft Graph failed ({status} {code}); try again later")
        if status == 404:
            raise NotFound(f"the calendar item no longer exists at Microsoft ({code})")
        if status == 410:
            raise SyncTokenExpired(f"the Microsoft change cursor expired ({code}): a full resync is needed")
        if status == 403:
            raise ReconnectNeeded(f"Microsoft denied access ({code}): the calendar permission is missing; "
                                  "reconnect the calendar and accept the requested permissions")
        raise GraphRejected(f"Microsoft Graph rejected {where} ({status} {code})", status, code)


def _graph_code(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return "unknown"
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code", "unknown")) if isinstance(error, dict) else "unknown"


def _retry_after(resp: requests.Response) -> float | None:
    raw = resp.headers.get("Retry-After")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None
