"""The booking benchmark at a tiny size: it runs end to end (PostgreSQL, a private Redis, two
workers, both emulators) and prints its table. No timing is asserted: speed is only reported."""
from __future__ import annotations

import contextlib
import io

import pytest

from tests.conftest import require_service

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


@pytest.mark.timeout(600)
def test_booking_benchmark_prints_its_table_for_both_cohorts_and_providers():
    require_service("PostgreSQL", "127.0.0.1", 5432)
    from bench import booking
    from tests.support.services import PrivateRedis
    try:
        PrivateRedis()
    except FileNotFoundError:
        require_service("Redis (redis-server binary)", "127.0.0.1", 1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert booking.main(["--pairs", "2", "--quota", "100", "--latency", "0.01", "--timeout", "400"]) == 0
    text = out.getvalue()
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("cohort"))
    rows = [line.split() for line in lines[header + 2:header + 6]]
    assert "calls/pair" in lines[header] and "lower bound" in lines[header] and "bound/wall" in lines[header]
    assert [(r[0], r[2], r[3]) for r in rows] == [("one", "google", "5/5"), ("one", "microsoft", "5/5"),
                                                  ("all", "google", "5/5"), ("all", "microsoft", "5/5")]
    assert "x the lower bound" in text and "quota" in text
