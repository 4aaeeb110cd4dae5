"""What each provider's harness offers the contract suite."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from scheduler.ports import CalendarAccount, CalendarProvider


@dataclass
class Harness:
    """A provider under test plus the back door into the calendar it talks to.

    - ``provider``: the real adapter, talking to its backing store (emulator, Radicale, file).
      Build it with a retry policy that does not really sleep (e.g. ``sleep=lambda s: None``),
      so fault tests stay fast.
    - ``account(email)``: a connected account for that person (creates the user as needed).
      Each harness instance starts empty: a fresh email has an empty calendar.
    - ``add_busy(account, start, end, title, **kw)``: put one of the person's *other* events
      straight into the backing calendar (kw may have ``rrule`` — an RRULE without DTSTART, e.g.
      ``"FREQ=DAILY;COUNT=3"`` —, ``transparent``, ``cancelled``).
    - ``faults``: names of faults this harness can inject via ``inject(name, **kw)``:

      ======================  =================================================================
      ``"rate_limit"``        the next ``times`` (default 1) requests get 429 / rate limited,
                              with ``retry_after`` seconds when given
      ``"unavailable"``       the next ``times`` (default 1) requests get 503 / unavailable
      ``"revoked"``           from now on the account's consent is gone (401 / invalid_grant)
      ``"stale_sync"``        every change cursor handed out so far becomes invalid (410)
      ======================  =================================================================

    Optional hooks (None when the harness cannot offer them; tests that need one skip):

    - ``count_events(account)``: how many events the account's backing calendar holds, a
      recurring series counting once (checks that an idempotent create made exactly one).
    - ``requests_served()``: how many requests the backend has received so far, failed or not
      (tells a retry from a single attempt).
    - ``set_attendee_response(organizer_account, event_id, attendee_email, response)``: the
      attendee answers the invitation (``"accepted"``, ``"declined"``, ``"tentative"``) as their
      own calendar app would; ``get_series`` must then show it.
    - ``all_logged_text()``: everything Tandem's side (the adapter, its logs, anything it
      persisted) wrote down, for privacy checks — not the backing calendar's own data.
    - ``extra``: anything else a provider-specific test wants.
    """

    name: str
    provider: CalendarProvider
    account: Callable[[str], CalendarAccount]
    add_busy: Callable[..., None]
    faults: frozenset[str] = frozenset()
    inject: Callable[..., None] | None = None
    extra: dict = field(default_factory=dict)
    count_events: Callable[[CalendarAccount], int] | None = None
    requests_served: Callable[[], int] | None = None
    all_logged_text: Callable[[], str] | None = None
    set_attendee_response: Callable[[CalendarAccount, str, str, str], None] | None = None
