"""Sends outgoing webhooks (the ``WebhookSender`` port) through the safe fetcher.

A webhook URL is typed by a coordinator: it must not become a way into Tandem's own network. So
the destination is checked when the endpoint is registered and again on every delivery, by
:mod:`adapters.providers.safe_fetch`: the host is resolved once, every address must be public
(no loopback, private, link-local, shared, multicast, reserved or unspecified address), and the
connection goes to the address that was checked, so a DNS answer that changes between the check
and the connection (DNS rebinding) cannot redirect it. Redirects are not followed, the timeouts
are short and at most a few kilobytes of the answer are read.

``allow_private`` (setting ``webhooks.allow_private_destinations``, on in tests and the sandbox)
lifts the address rule; ``require_https`` (production, unless private destinations are allowed)
refuses plain http.
"""
from __future__ import annotations

import socket
from urllib.parse import urlsplit

from adapters.providers.safe_fetch import (FetchLimits, Resolver, check_url_target, is_public_address,
                                           post_untrusted_url)
from scheduler.errors import UnsafeUrl
from scheduler.ports import WebhookResponse

LIMITS = FetchLimits(connect_timeout=5.0, read_timeout=10.0, total_timeout=15.0, max_bytes=64 * 1024,
                     max_redirects=0)


def _any_address(_address) -> bool:
    return True


class HttpWebhookSender:
    def __init__(self, *, allow_private: bool = False, require_https: bool = False,
                 limits: FetchLimits = LIMITS, resolver: Resolver = socket.getaddrinfo):
        self.allow_private, self.require_https = allow_private, require_https
        self.limits, self.resolver = limits, resolver
        self.policy = _any_address if allow_private else is_public_address

    def _check_scheme(self, url: str) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise UnsafeUrl(f"A webhook URL must start with https:// (or http://) and name a host, not {url[:80]!r}.")
        if self.require_https and scheme != "https":
            raise UnsafeUrl("This installation sends webhooks over https only: give an https:// URL.")

    def _reworded(self, url: str, exc: UnsafeUrl) -> UnsafeUrl:
        host = urlsplit(url).hostname
        if "private or local" in str(exc):
            return UnsafeUrl(f"The webhook URL points at {host}, which resolves to a loopback, private, link-local "
                             "or otherwise non-public address; Tandem only sends webhooks to public addresses. "
                             "Give the public address of your receiver.")
        return UnsafeUrl(f"The webhook URL cannot be used: {exc}")

    def check_destination(self, url: str) -> None:
        self._check_scheme(url)
        try:
            check_url_target(url, address_policy=self.policy, resolver=self.resolver)
        except UnsafeUrl as exc:
            raise self._reworded(url, exc) from None

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> WebhookResponse:
        self._check_scheme(url)
        try:
            answer = post_untrusted_url(url, body, headers={"Accept": "*/*", **headers}, limits=self.limits,
                                        address_policy=self.policy, resolver=self.resolver)
        except UnsafeUrl as exc:
            raise self._reworded(url, exc) from None
        return WebhookResponse(status=answer.status, headers=answer.headers)
