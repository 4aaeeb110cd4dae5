"""What each provider's harness offers the contract suite."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from scheduler.ports import CalendarAccount, CalendarProvider


@dataclass
class Harness:
    """A provider under test plus the back door into the calendar it talks to.

    - ``provider``: the real adapter, talking to its backing store (emulator, Radicale, file).
    - ``account(email)``: a connected account for that person (creates the user as needed).
    - ``add_busy(account, start, end, title, **kw)``: put one of the person's *other* events
      straight into the backing calendar (kw may have ``rrule``, ``transparent``, ``cancelled``).
    - ``faults``: names of faults this harness can inject via ``inject(name, **kw)``, e.g.
      ``"rate_limit"``, ``"unavailable"``, ``"revoked"``, ``"stale_sync"``.
    - ``all_logged_text()``: everything the adapter/backend logged or stored, for privacy checks.
    """

    name: str
    provider: CalendarProvider
    account: Callable[[str], CalendarAccount]
    add_busy: Callable[..., None]
    faults: frozenset[str] = frozenset()
    inject: Callable[..., None] | None = None
    extra: dict = field(default_factory=dict)
