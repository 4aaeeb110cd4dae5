"""Dashboard benchmark: ``python -m bench.dashboard [--quick] [--pairs N] [--weeks W] [--seconds S]
[--clients C] [--databases sqlite,postgres]``.

For each database (a fresh SQLite file; a fresh PostgreSQL database ``bench_dashboard`` on
127.0.0.1:5432, created and dropped here): migrate, seed a program with ``tandem sandbox seed
--pairs N --weeks W`` (a subprocess, as a newcomer would), serve Tandem with gunicorn (a second
process), then for ``--seconds`` send concurrent requests from this process, signed in as the
program's coordinator, to the dashboard (the program page), the pairs table (filters, sorts,
pages) and the missed-meetings report (CSV). It prints p50/p95 per route beside the cost of the
bare named query that feeds each page, measured in this process on the same database (the
baseline), and whether p95 meets the target (200 ms). Speed is reported, never asserted.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_MS = 200.0
PG_ADMIN_URL = os.environ.get("TANDEM_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "bench_dashboard"


@dataclass
class RouteResult:
    route: str
    times: list[float] = field(default_factory=list)  # seconds
    errors: int = 0
    baseline: float = 0.0  # p50 seconds of the bare named query

    def p(self, q: float) -> float:
        if not self.times:
            return float("nan")
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(directory: Path, url: str, port: int, demo: bool) -> Path:
    from adapters.tokens import TokenCipher

    path = directory / ("demo.toml" if demo else "serve.toml")
    path.write_text(f"""[app]
env = "test"
demo = {"true" if demo else "false"}
base_url = "http://127.0.0.1:{port}"
var_dir = "{directory / 'var'}"

[database]
url = "{url}"

[security]
secret_key = "bench-secret-key-{'x' * 40}"
token_keys = ["{TokenCipher.generate_key()}"]
webhook_secret = "bench-webhook-secret"
""", encoding="utf-8")
    return path


def _env(config: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.update(TANDEM_CONFIG=str(config), PYTHONPATH=str(ROOT))
    return env


def _database(kind: str, directory: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{directory / 'bench.sqlite3'}"
    _pg_admin(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)", f"CREATE DATABASE {PG_DATABASE}")
    return PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def _pg_admin(*statements: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _seed(config: Path, pairs: int, weeks: int) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tandem", "sandbox", "seed", "--pairs", str(pairs),
                           "--weeks", str(weeks)], cwd=ROOT, env=_env(config), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"tandem sandbox seed failed:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1], time.perf_counter() - started


def _serve(config: Path, port: int, workers: int, threads: int) -> subprocess.Popen:
    log = tempfile.TemporaryFile()  # a file, not a pipe: a pipe nobody reads fills up and blocks the server
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
                               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "web.wsgi:create()"],
                              cwd=ROOT, env=_env(config), stdout=subprocess.DEVNULL, stderr=log)
    server.log_file = log
    return server


def _wait_until_up(base: str, server: subprocess.Popen, deadline_s: float = 120.0) -> None:
    import requests

    deadline = time.monotonic() + deadline_s
    with requests.Session() as session:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                server.log_file.seek(0)
                raise SystemExit(f"gunicorn stopped:\n{server.log_file.read().decode(errors='replace')}")
            try:
                with session.get(f"{base}/healthz", timeout=2) as reply:
                    if reply.status_code == 200:
                        return
            except requests.RequestException:
                pass
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer {base}/healthz within {deadline_s:.0f} s")


def _routes(program_id: str, today) -> dict[str, list[str]]:
    base = f"/programs/{program_id}"
    start = (today - timedelta(days=30)).isoformat()
    return {
        "dashboard": [base],
        "pairs table": [f"{base}?state=booked&sort=misses&order=desc&page=2", f"{base}?risk=yes&page=1",
                        f"{base}?sort=last_held&page=40", f"{base}?mentor=Mentor+1&sort=next"],
        "missed report": [f"{base}/reports/missed.csv?from={start}&to={today.isoformat()}"],
    }


def _baselines(container, program_id: str, today, repeat_s: float) -> dict[str, float]:
    """p50 seconds of the bare named query behind each page (same database, this process)."""
    from datetime import datetime, time as dtime, timezone

    now = container.clock.now()
    start_at = datetime.combine(today - timedelta(days=30), dtime(0), tzinfo=timezone.utc)
    end_at = datetime.combine(today + timedelta(days=1), dtime(0), tzinfo=timezone.utc)
    queries = {
        "dashboard": lambda uow: (uow.pairs.refresh_summaries(program_id, now), uow.pairs.counts_in(program_id, now)),
        "pairs table": lambda uow: (uow.pairs.refresh_summaries(program_id, now),
                                    uow.pairs.table_page(program_id, now, risk="yes", limit=50)),
        "missed report": lambda uow: uow.occurrences.of_program_between(
            program_id, start_from=start_at, start_before=end_at, verdicts=["missed"]),
    }
    out = {}
    for name, query in queries.items():
        times = []
        deadline = time.monotonic() + repeat_s
        while time.monotonic() < deadline or len(times) < 3:
            with container.uow() as uow:
                began = time.perf_counter()
                query(uow)
                times.append(time.perf_counter() - began)
        out[name] = statistics.median(times)
    return out


def _cookie(container, program_id: str) -> tuple[str, str]:
    from web import create_app

    with container.uow() as uow:
        coordinator_id = uow.memberships.coordinator_ids(program_id)[0]
    from scheduler.services.web_sessions import start_session

    app = create_app(container=container)
    session = {"pid": coordinator_id, "sid": start_session(container, coordinator_id)}  # a server-side session
    value = app.session_interface.get_signing_serializer(app).dumps(session)
    return app.config["SESSION_COOKIE_NAME"], value


def _load(base: str, cookie: tuple[str, str], routes: dict[str, list[str]], seconds: float, clients: int
          ) -> dict[str, RouteResult]:
    import requests

    results = {name: RouteResult(name) for name in routes}
    plan = [(name, path) for name, paths in routes.items() for path in paths]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        with requests.Session() as session:
            run(session, offset)

    def run(session, offset: int) -> None:
        session.cookies.set(*cookie)
        i = offset
        while time.monotonic() < deadline:
            name, path = plan[i % len(plan)]
            i += 1
            began = time.perf_counter()
            try:
                with session.get(base + path, timeout=60, allow_redirects=False) as reply:
                    ok = reply.status_code == 200
            except requests.RequestException:
                ok = False
            took = time.perf_counter() - began
            with lock:
                if ok:
                    results[name].times.append(took)
                else:
                    results[name].errors += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def run_one(kind: str, args) -> list[RouteResult]:
    from adapters.storage.db import make_engine
    from adapters.storage.migrate import upgrade
    from config.bootstrap import bootstrap
    from config.settings import load_settings

    with tempfile.TemporaryDirectory(prefix=f"bench-dashboard-{kind}-") as tmp:
        directory = Path(tmp)
        (directory / "var").mkdir()
        url = _database(kind, directory)
        server = None
        container = None
        try:
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            port = _free_port()
            program_id, seed_s = _seed(_config(directory, url, port, demo=True), args.pairs, args.weeks)
            serve_config = _config(directory, url, port, demo=False)
            server = _serve(serve_config, port, args.workers, args.threads)
            base = f"http://127.0.0.1:{port}"
            container = bootstrap(load_settings(serve_config, environ={}))
            today = container.clock.now().date()
            baselines = _baselines(container, program_id, today, args.baseline_seconds)
            cookie = _cookie(container, program_id)
            _wait_until_up(base, server)
            routes = _routes(program_id, today)
            _load(base, cookie, routes, min(2.0, args.seconds), args.clients)  # warm-up, not counted
            results = _load(base, cookie, routes, args.seconds, args.clients)
            for name, result in results.items():
                result.baseline = baselines[name]
            print(f"{kind}: seeded {args.pairs} pairs x {args.weeks} weeks in {seed_s:.1f} s; "
                  f"{args.seconds:.0f} s of {args.clients} concurrent clients against gunicorn "
                  f"({args.workers} workers x {args.threads} threads)", flush=True)
            return list(results.values())
        finally:
            if server is not None:
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
                server.log_file.close()
            if container is not None:
                container.dispose()
            if kind == "postgres":
                _pg_admin(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


def print_table(rows: list[tuple[str, RouteResult]]) -> None:
    header = (f"{'database':<9} {'route':<14} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'query p50 ms':>12} {'p95/query':>9}  target p95<={TARGET_P95_MS:.0f} ms")
    print(header)
    print("-" * len(header))
    for kind, r in rows:
        p50, p95, base = r.p(0.50), r.p(0.95), r.baseline * 1000
        ratio = p95 / base if base else float("nan")
        met = "met" if p95 <= TARGET_P95_MS else f"MISSED by {p95 - TARGET_P95_MS:.0f} ms"
        print(f"{kind:<9} {r.route:<14} {len(r.times):>8} {r.errors:>6} {p50:>8.1f} {p95:>8.1f} {base:>12.2f} "
              f"{ratio:>9.1f}  {met}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 pairs, 4 weeks, 3 s")
    parser.add_argument("--pairs", type=int, default=None)
    parser.add_argument("--weeks", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="load duration per database (default 30)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--databases", default="sqlite,postgres", help="sqlite, postgres or both (comma)")
    parser.add_argument("--baseline-seconds", type=float, default=None, help="time spent on each bare query")
    args, _unknown = parser.parse_known_args(argv)  # python -m bench passes every benchmark's options
    args.pairs = args.pairs or (200 if args.quick else 10_000)
    args.weeks = args.weeks if args.weeks is not None else (4 if args.quick else 12)
    args.seconds = args.seconds if args.seconds is not None else (3.0 if args.quick else 30.0)
    args.baseline_seconds = args.baseline_seconds if args.baseline_seconds is not None else (
        0.3 if args.quick else 3.0)
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in ("sqlite", "postgres")]
    if unknown or not kinds:
        parser.error(f"--databases takes sqlite and/or postgres, not {', '.join(unknown) or 'nothing'}")
    rows = []
    for kind in kinds:
        rows.extend((kind, r) for r in run_one(kind, args))
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
