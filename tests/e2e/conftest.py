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
