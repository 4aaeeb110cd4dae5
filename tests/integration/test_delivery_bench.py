"""The delivery benchmark runs end to end at a tiny size and prints its table (speed is the
benchmark's business: nothing here looks at timings)."""
from __future__ import annotations

import pytest

from bench import delivery

pytestmark = pytest.mark.slow


def test_the_delivery_benchmark_prints_its_table_with_nothing_doubled_or_missing(capsys):
    assert delivery.main(["--messages", "30", "--threads", "2", "--skip-old"]) == 0

    out = capsys.readouterr().out
    header, *rows = out.strip().splitlines()[-6:]
    assert header.split()[:4] == ["case", "messages", "seconds", "msg/s"]
    names = [row[:40].strip() for row in rows]
    assert names == ["smtplib script, building each", "smtplib, messages built beforehand",
                     "smtplib, bytes serialized beforehand", "SmtpMailer alone, kept connection",
                     "Tandem pipeline, 2 worker threads"]
    for row in rows:
        messages, arrived, dupes, missing = row[40:].split()[:1] + row[40:].split()[-3:]
        assert (messages, arrived, dupes, missing) == ("30", "30", "0", "0"), row
    assert rows[0][40:].split()[3] == "1.00"  # the script is the baseline of the first ratio
