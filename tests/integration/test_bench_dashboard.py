"""The dashboard benchmark runs end to end at a tiny size and prints its table (no timing is
asserted: speed is only measured, in ``make bench``)."""
from __future__ import annotations

import re

import pytest

from bench import dashboard


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_bench_prints_a_row_per_route(database, capsys):
    assert dashboard.main(["--pairs", "20", "--weeks", "2", "--seconds", "1", "--clients", "2",
                           "--workers", "1", "--threads", "2", "--baseline-seconds", "0.05",
                           "--databases", database]) == 0
    out = capsys.readouterr().out
    assert "p95 ms" in out and "query p50 ms" in out and "target p95<=200 ms" in out
    rows = re.findall(rf"^{database}\s+(dashboard|pairs table|missed report)\s+(\d+)\s+(\d+)\s", out, re.M)
    assert [route for route, _, _ in rows] == ["dashboard", "pairs table", "missed report"]
    for route, requests, errors in rows:
        assert int(requests) >= 1 and int(errors) == 0, (route, requests, errors)
