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
MAX_BATCH = 20  # requests in one JSON $batch (Graph's limit)


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
        try:
            return self._check(resp, method, url)
        except RateLimited as exc:
            self._hold(account, exc)
            raise

    def _hold(self, account: CalendarAccount, error: RateLimited) -> None:
        """A rate limit's ``Retry-After`` holds the account's other calls in this process too."""
        if self.rate_limiter is not None:
            self.rate_limiter.hold(account.connection_id, error.retry_after)

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
        raise error_for(status, code, _retry_after(resp.headers.get("Retry-After")), where)

    def batch(self, operation: str, account: CalendarAccount, calls: list[dict]) -> list[dict | ProviderError]:
        """Run ``calls`` (``{"method", "url", "body"?}``, urls relative to ``/v1.0``) for one
        account through JSON ``$batch``, 20 a batch. Failures are per call: those that are
        transient (429 with its ``Retry-After``, 5xx) are sent again together after one wait;
        the lasting ones (404, lost consent, rejected) are returned in their place. Replies are
        the calls' JSON bodies, in order. One call alone is sent as itself. ``operation`` is the
        adapter's, for the metrics."""
        if len(calls) == 1:
            call = calls[0]
            try:
                return [self.request(operation, account, call["method"], call["url"], json=call.get("body")).json()]
            except (NotFound, ReconnectNeeded, GraphRejected) as exc:
                return [exc]
        results: dict[int, dict | ProviderError] = {}

        def attempt() -> None:
            failures: list[ProviderError] = []
            pending = [i for i in range(len(calls)) if i not in results]
            for offset in range(0, len(pending), MAX_BATCH):
                chunk = pending[offset:offset + MAX_BATCH]
                body = {"requests": [_batch_entry(i, calls[i]) for i in chunk]}
                reply = self._once(account, "POST", self.graph_url + "/$batch", None, body, None).json()
                for entry in reply.get("responses", []):
                    index, status = int(entry["id"]), int(entry.get("status", 500))
                    if status < 400:
                        results[index] = entry.get("body") or {}
                        continue
                    error_body = entry.get("body") if isinstance(entry.get("body"), dict) else {}
                    code = str((error_body.get("error") or {}).get("code", "unknown"))
                    headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
                    error = error_for(status, code, _retry_after(headers.get("retry-after")),
                                      f"{calls[index]['method']} {calls[index]['url'].split('?')[0]} (in $batch)")
                    if isinstance(error, RateLimited):
                        self._hold(account, error)
                    if isinstance(error, (RateLimited, ProviderUnavailable)):
                        failures.append(error)
                    else:
                        results[index] = error
                missing = [i for i in chunk if i not in results]
                if missing and not failures:
                    failures.append(ProviderUnavailable("Microsoft Graph's $batch reply left requests unanswered"))
            if failures:
                raise _worst(failures)
        call_with_retries(attempt, self.retry_policy, provider="microsoft", method=operation, sleep=self.sleep)
        return [results[i] for i in range(len(calls))]


def _batch_entry(index: int, call: dict) -> dict:
    """One request of a ``$batch`` body; headers are not inherited from the batch, so each
    carries its own (times in UTC, a JSON body)."""
    entry = {"id": str(index), "method": call["method"], "url": call["url"],
             "headers": {"Prefer": 'outlook.timezone="UTC"'}}
    if call.get("body") is not None:
        entry["body"] = call["body"]
        entry["headers"]["Content-Type"] = "application/json"
    return entry


def error_for(status: int, code: str, retry_after: float | None, where: str) -> ProviderError:
    """The Tandem error for a Graph error reply (of a request or of a call inside ``$batch``)."""
    if status == 429:
        return RateLimited(f"Microsoft Graph is throttling this calendar ({code})", retry_after=retry_after)
    if status >= 500:
        return ProviderUnavailable(f"Microsoft Graph failed ({status} {code}); try again later")
    if status == 404:
        return NotFound(f"the calendar item no longer exists at Microsoft ({code})")
    if status == 410:
        return SyncTokenExpired(f"the Microsoft change cursor expired ({code}): a full resync is needed")
    if status in (401, 403):
        return ReconnectNeeded(f"Microsoft denied access ({code}): the calendar permission is missing; "
                               "reconnect the calendar and accept the requested permissions")
    return GraphRejected(f"Microsoft Graph rejected {where} ({status} {code})", status, code)


def _worst(errors: list[ProviderError]) -> ProviderError:
    """Rate limits before outages, waiting for the longest ``Retry-After`` any call asked."""
    limited = [e for e in errors if isinstance(e, RateLimited)]
    if not limited:
        return errors[0]
    waits = [e.retry_after for e in limited if e.retry_after is not None]
    return RateLimited(str(limited[0]), retry_after=max(waits) if waits else None)


def _graph_code(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return "unknown"
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code", "unknown")) if isinstance(error, dict) else "unknown"


def _retry_after(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None
