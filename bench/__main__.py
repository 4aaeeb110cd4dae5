"""``python -m bench`` (``make bench``): every benchmark, each printing its table against a
baseline measured in the same run. Extra arguments go to each benchmark (e.g. ``--quick``)."""
from __future__ import annotations

import sys

from bench import booking, dashboard, delivery, plan

BENCHMARKS = (("planning", plan.main), ("dashboard", dashboard.main), ("booking", booking.main),
              ("delivery", delivery.main))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    status = 0
    for name, run in BENCHMARKS:
        print(f"== {name} ==", flush=True)
        status = max(status, run(list(argv)) or 0)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
