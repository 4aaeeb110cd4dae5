"""The ``tandem`` command. Every subcommand builds what it needs through ``config.bootstrap``."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from config.settings import load_settings, problems, redacted_items, require_ok
from scheduler.errors import ConfigError, TandemError

log = logging.getLogger("tandem")


def _settings(args):
    return load_settings(getattr(args, "config", None))


# --- config ----------------------------------------------------------------------------------
def cmd_config_show(args) -> int:
    settings = _settings(args)
    width = max(len(k) for k, _, _ in redacted_items(settings))
    for key, value, source in redacted_items(settings):
        print(f"{key:<{width}}  {value!r:<40}  ({source})")
    return 0


def cmd_config_init(args) -> int:
    from adapters.tokens import TokenCipher

    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"{out} exists; keeping it (use --force to replace it, which makes stored tokens unreadable)")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    text = (f'# Tandem settings written by "tandem config init". Keep this file secret.\n'
            f'[app]\nenv = "{args.env}"\n'
            + ("demo = true\n" if args.demo else "")
            + f'\n[security]\nsecret_key = "{secrets.token_urlsafe(48)}"\n'
            f'token_keys = ["{TokenCipher.generate_key()}"]\n'
            f'webhook_secret = "{secrets.token_urlsafe(32)}"\n')
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    print(f"wrote {out} with new secret keys (mode 600)")
    return 0


# --- database ---------------------------------------------------------------------------------
def cmd_db_upgrade(args) -> int:
    from adapters.storage.db import make_engine
    from adapters.storage.migrate import upgrade

    settings = _settings(args)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    print(f"database at {engine.url.render_as_string(hide_password=True)} is at the latest schema")
    engine.dispose()
    return 0


# --- doctor -----------------------------------------------------------------------------------
def cmd_doctor(args) -> int:
    """Check settings, database, schema and broker; in production also sign-in clients, SMTP, the
    public https base URL and the secrets (``config.doctor``). Say what to do about each problem."""
    from adapters.storage.db import check_database, make_engine
    from adapters.storage.migrate import pending_revisions
    from adapters.broker_health import check_broker

    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"FAIL settings: {exc}")
        return 1
    failures = 0
    for problem in problems(settings):
        print(f"FAIL settings: {problem}")
        failures += 1
    if settings.security.token_keys:
        try:
            from adapters.tokens import TokenCipher
            TokenCipher(settings.security.token_keys)
        except ConfigError as exc:
            print(f"FAIL tokens: {exc}")
            failures += 1
    engine = make_engine(settings.database_url)
    db_problem = check_database(engine)
    if db_problem:
        print(f"FAIL database: {db_problem} — check database.url and that the server is running")
        failures += 1
    else:
        pending = pending_revisions(engine)
        if pending:
            print(f"FAIL database: {len(pending)} migration(s) not applied — run 'tandem db upgrade'")
            failures += 1
        else:
            print(f"ok   database: {engine.dialect.name}, schema current")
    engine.dispose()
    broker_problem = check_broker(settings.broker.url)
    if broker_problem:
        print(f"FAIL broker: {broker_problem}")
        failures += 1
    else:
        print(f"ok   broker: {settings.broker.url}")
    if settings.app.env == "production":
        from config.doctor import production_checks

        for ok, area, message in production_checks(settings):
            print(f"{'ok  ' if ok else 'FAIL'} {area}: {message}")
            failures += 0 if ok else 1
    if failures == 0:
        print("ok   settings: no problems found")
    return 1 if failures else 0


# --- processes --------------------------------------------------------------------------------
def _wait_for_signal() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _require_ok(settings) -> None:
    """Refuse to start a process on broken settings; otherwise set up its logging (JSON lines in
    production, readable lines elsewhere)."""
    from config.logs import configure_logging

    require_ok(settings)
    configure_logging(settings.app.env, level=os.environ.get("TANDEM_LOG_LEVEL", "INFO"))


def _start_services(settings, *, worker: bool, tick: bool, stop: threading.Event, **extras):
    """Build the container, broker, worker and tick thread as asked. Returns (container, worker)."""
    from config.bootstrap import bootstrap
    from workers import runtime
    from workers.actors import bind_actors
    from workers.broker import configure_broker
    from workers.tick import run_tick_loop

    container = bootstrap(settings, **extras)
    broker = configure_broker(settings)
    bind_actors(broker, container)
    started_worker = runtime.start_worker(broker, settings.broker.worker_threads) if worker else None
    if tick:
        steps = _tick_steps()
        threading.Thread(target=run_tick_loop, args=(container, broker, stop, steps),
                         name="tandem-tick", daemon=True).start()
    return container, started_worker


def _tick_steps():
    """Periodic sweepers other layers register in ``workers.sweeps.STEPS`` (if present)."""
    try:
        return importlib.import_module("workers.sweeps").STEPS
    except ModuleNotFoundError:
        return ()


def cmd_run(args) -> int:
    """The embedded default: web + in-process worker + tick in one process.

    With ``app.demo`` on and no real OAuth client configured, the Google and Microsoft
    emulators start in-process, the sandbox program is seeded, and emails go to the in-memory
    demo inbox (shown at /demo) instead of SMTP.
    """
    from werkzeug.serving import make_server

    from adapters.storage.db import make_engine
    from adapters.storage.migrate import upgrade
    from tandem import demo
    from web import create_app

    settings = _settings(args)
    _require_ok(settings)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    stop = _wait_for_signal()
    extras, emulators, emulator_clock = {}, None, demo.FollowClock()
    directory = demo.SandboxDirectory(emulator_clock)
    if demo.wants_emulators(settings):
        from adapters.mail.memory import InMemoryMailer

        emulators = demo.start_emulators(emulator_clock, directory)
        extras["providers"] = emulators.providers()
        overrides = emulators.settings_overrides()
        if "tick.interval_seconds" not in settings.sources:
            overrides["tick.interval_seconds"] = 2.0
        settings = settings.with_overrides(overrides, source="demo emulators")
        extras["mailer"] = InMemoryMailer()
    container, worker = _start_services(settings, worker=True, tick=True, stop=stop, **extras)
    emulator_clock.clock = container.clock  # the sandbox clock, read by the Google emulator too
    directory.container = container  # from now on every person Tandem knows can sign in to the emulators
    if settings.app.demo:
        demo.seed_demo(container, emulators)
    app = create_app(container=container)
    if settings.app.demo:  # /demo's "skip ahead" does the due work here, with the emulators and the demo inbox
        from workers.drain import catch_up

        app.extensions["tandem.catch_up"] = catch_up
    if emulators is not None:
        app.extensions["tandem.sandbox_calendars"] = emulators.calendar_servers()
    server = make_server(args.host or settings.app.host, args.port or settings.app.port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="tandem-web", daemon=True).start()
    print(f"Tandem is running on http://{server.host}:{server.port}  (Ctrl-C stops it)", flush=True)
    if emulators is not None:
        print(f"  sandbox: Google emulator {emulators.google.base_url}, Microsoft emulator "
              f"{emulators.microsoft.base_url}, CalDAV server {emulators.caldav.url}, calendar feeds "
              f"{emulators.ics.base_url}; open /demo to sign in as a sandbox person", flush=True)
    stop.wait()
    server.shutdown()
    if worker:
        worker.stop()
    if emulators is not None:
        emulators.stop()
    container.dispose()
    return 0


def cmd_web(args) -> int:
    """Serve the web app alone (development server; production uses gunicorn 'web.wsgi:create()')."""
    from web import create_app

    settings = _settings(args)
    _require_ok(settings)
    app = create_app(settings)
    app.run(host=args.host or settings.app.host, port=args.port or settings.app.port, threaded=True)
    return 0


def cmd_worker(args) -> int:
    settings = _settings(args)
    _require_ok(settings)
    stop = _wait_for_signal()
    container, worker = _start_services(settings, worker=True, tick=False, stop=stop)
    print(f"worker running with {settings.broker.worker_threads} threads on {settings.broker.url}", flush=True)
    stop.wait()
    worker.stop()
    container.dispose()
    return 0


def cmd_tick(args) -> int:
    settings = _settings(args)
    _require_ok(settings)
    stop = _wait_for_signal()
    if args.once:
        from config.bootstrap import bootstrap
        from workers.broker import configure_broker
        from workers.tick import tick_once

        container = bootstrap(settings)
        broker = configure_broker(settings)
        for step in _tick_steps():
            step(container)
        print(f"handed over {tick_once(container, broker)} outbox row(s)")
        return 0
    _start_services(settings, worker=False, tick=True, stop=stop)
    print(f"tick running every {settings.tick.interval_seconds:g}s", flush=True)
    stop.wait()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tandem", description="Keeps mentorship pairs meeting.")
    parser.add_argument("--config", help="settings file (TOML); default: $TANDEM_CONFIG")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, fn, help_ in (("run", cmd_run, "web + worker + tick in one process (embedded default)"),
                            ("web", cmd_web, "the web app alone")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--host", help="address to listen on (default: app.host, TANDEM_APP__HOST)")
        p.add_argument("--port", type=int, help="port to listen on (default: app.port, TANDEM_APP__PORT, 5000); "
                                                "links in emails use app.base_url (TANDEM_APP__BASE_URL)")
        p.set_defaults(func=fn)
    sub.add_parser("worker", help="Dramatiq worker").set_defaults(func=cmd_worker)
    p = sub.add_parser("tick", help="claims due outbox rows and sends them to the broker")
    p.add_argument("--once", action="store_true", help="one tick, then exit")
    p.set_defaults(func=cmd_tick)
    sub.add_parser("doctor", help="check settings, database, broker").set_defaults(func=cmd_doctor)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    cfg = sub.add_parser("config", help="settings").add_subparsers(dest="config_command", required=True)
    cfg.add_parser("show", help="effective settings and their sources").set_defaults(func=cmd_config_show)
    p = cfg.add_parser("init", help="write a settings file with new secret keys")
    p.add_argument("--out", required=True)
    p.add_argument("--env", default="development", choices=["development", "production"])
    p.add_argument("--demo", action="store_true", help="turn on the sandbox program")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_config_init)

    for module in ("tandem.plan_cmd", "tandem.tokens_cmd", "tandem.emulators_cmd", "tandem.sandbox_cmd",
                   "tandem.api_token_cmd"):
        try:
            importlib.import_module(module).add_parser(sub)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("TANDEM_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TandemError as exc:
        print(f"tandem: {exc}", file=sys.stderr)
        return 2
