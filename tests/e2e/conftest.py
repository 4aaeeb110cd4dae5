"""Browser tests: Tandem served by werkzeug on a free loopback port, the Google and Microsoft
emulators in-process, and Debian's Chromium driven headless by Playwright."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler

from tests.conftest import IN_CI

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing; CI needs it ('make test' installs it via scripts/ensure-chromium.sh)")
        pytest.skip(f"{CHROMIUM} is missing: run 'bash scripts/ensure-chromium.sh' (make test does)")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_executable):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        pass


class _LateApp:
    """A WSGI app set after the server knows its port (the app's base_url needs the port)."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@dataclass
class Site:
    """The running Tandem, its container and the emulators behind it."""

    base_url: str
    container: object
    google: object
    microsoft: object
    shots: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def screenshot(self, page, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        self.shots.append(name)


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    from werkzeug.serving import make_server

    from adapters.tokens import TokenCipher
    from config.bootstrap import bootstrap
    from config.settings import load_settings
    from emulators.google import GoogleEmulator
    from emulators.microsoft import GraphEmulator
    from tandem.demo import DemoEmulators
    from tests.support.db import migrated_sqlite_template
    from web import create_app

    directory = tmp_path_factory.mktemp("e2e")
    database = migrated_sqlite_template(directory)
    emulators = DemoEmulators(GoogleEmulator().start(), GraphEmulator().start())
    late = _LateApp()
    server = make_server("127.0.0.1", 0, late, threaded=True, request_handler=_QuietHandler)
    base_url = f"http://127.0.0.1:{server.server_port}"
    settings = load_settings(environ={}, overrides={
        "app.env": "test", "app.base_url": base_url, "app.var_dir": str(directory / "var"),
        "database.url": f"sqlite:///{database}", "security.secret_key": "e2e-secret-key-" + "x" * 32,
        "security.token_keys": [TokenCipher.generate_key()], "security.webhook_secret": "e2e-webhook-secret",
        **emulators.settings_overrides()})
    container = bootstrap(settings)
    late.app = create_app(container=container)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Site(base_url, container, emulators.google, emulators.microsoft)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        emulators.stop()
        container.dispose()


@dataclass
class Sandbox:
    """A Tandem wired as ``tandem run`` wires the sandbox (tandem/cli.py): ``app.demo`` on, the
    sandbox clock, the demo inbox (in-memory mailer), the Google, Microsoft, CalDAV and feed
    emulators with their directory, the sandbox program seeded with its calendars connected, and
    /demo's "skip ahead" doing the due work (``workers.drain.catch_up``). Nothing is planned yet:
    :meth:`run_pipeline` does what the worker does, every due outbox row through the actors'
    wrapper (``run_outbox_row``), so a test says when the pipeline runs instead of waiting for it."""

    base_url: str
    container: object
    emulators: object

    def url(self, path: str) -> str:
        return self.base_url + path

    def screenshot(self, page, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def run_pipeline(self) -> int:
        from workers.drain import run_due

        return run_due(self.container)


@pytest.fixture
def sandbox_site(tmp_path):
    """A fresh sandbox per journey (its own database, clock and emulators): a skip ahead in one
    journey never moves another's time."""
    from werkzeug.serving import make_server

    from adapters.mail.memory import InMemoryMailer
    from adapters.tokens import TokenCipher
    from config.bootstrap import bootstrap
    from config.settings import load_settings
    from tandem import demo
    from tests.support.db import migrated_sqlite_template
    from web import create_app
    from workers.drain import catch_up

    database = migrated_sqlite_template(tmp_path)
    emulator_clock = demo.FollowClock()
    directory = demo.SandboxDirectory(emulator_clock)
    emulators = demo.start_emulators(emulator_clock, directory)
    late = _LateApp()
    server = make_server("127.0.0.1", 0, late, threaded=True, request_handler=_QuietHandler)
    base_url = f"http://127.0.0.1:{server.server_port}"
    settings = load_settings(environ={}, overrides={
        "app.env": "test", "app.demo": True, "app.base_url": base_url, "app.var_dir": str(tmp_path / "var"),
        "database.url": f"sqlite:///{database}", "security.secret_key": "e2e-sandbox-key-" + "x" * 32,
        "security.token_keys": [TokenCipher.generate_key()], "security.webhook_secret": "e2e-webhook-secret",
        **emulators.settings_overrides()})
    container = bootstrap(settings, mailer=InMemoryMailer(), providers=emulators.providers())
    emulator_clock.clock, directory.container = container.clock, container
    app = create_app(container=container)
    app.extensions["tandem.catch_up"] = catch_up
    app.extensions["tandem.sandbox_calendars"] = emulators.calendar_servers()
    late.app = app
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        demo.seed_demo(container, emulators)  # after the server is up: Graph checks its push URL
        yield Sandbox(base_url, container, emulators)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        emulators.stop()
        container.dispose()
