"""Shared pieces for building calendar providers: the HTTP session Graph and MSAL use, and the
per-account request budget. ``config.providers.build_providers`` builds them from settings."""
from __future__ import annotations

import requests



def microsoft_session(ca_file: str) -> requests.Session:
    """A session for Graph/MSAL that trusts ``ca_file`` (the emulator's CA) when given.

    ``trust_env=False`` so a machine-wide REQUESTS_CA_BUNDLE cannot override the CA we chose.
    """
    session = requests.Session()
    if ca_file:
        session.verify = ca_file
        session.trust_env = False
    return session


# Per account (connection): Google's per-user quota and Graph's 10,000 requests per 10 minutes
# per mailbox both allow more than this; staying under it keeps one busy person from being
# throttled and from starving the others.
REQUESTS_PER_SECOND_PER_ACCOUNT = 5.0
BURST_PER_ACCOUNT = 10
# A Retry-After longer than this is not slept in the process (a worker thread would idle, and
# with it every job queued behind it): it is raised as RateLimited, and the outbox row is due
# again when the provider said. Shorter ones are waited out in place.
MAX_WAIT_IN_PROCESS = 5.0
