"""Server-side sessions live in real time: the sandbox clock skipping ahead signs nobody out."""
from __future__ import annotations

from datetime import timedelta

from scheduler.services import web_sessions
from tests.unit.services.booked import T0


class SkippingClock:
    """Like the sandbox clock: ``now`` is real time plus an offset that /demo moves forward."""

    def __init__(self):
        self.real, self.offset = T0, timedelta(0)

    def now(self):
        return self.real + self.offset

    def real_now(self):
        return self.real


def test_skipping_the_sandbox_clock_ahead_keeps_the_browser_signed_in_and_real_time_still_ends_it(deps, seed):
    s = seed()
    clock = SkippingClock()
    deps.clock = clock
    token = web_sessions.start_session(deps, s.coordinator_id)

    clock.offset = timedelta(weeks=3)  # "Skip a week", three times
    assert web_sessions.session_person(deps, token, s.coordinator_id) is not None

    clock.real += web_sessions.SESSION_LIFETIME  # twelve real hours later
    assert web_sessions.session_person(deps, token, s.coordinator_id) is None


def test_a_session_ends_for_every_copy_of_its_cookie(deps, seed):
    s = seed()
    token = web_sessions.start_session(deps, s.coordinator_id)
    web_sessions.end_session(deps, token)
    assert web_sessions.session_person(deps, token, s.coordinator_id) is None
