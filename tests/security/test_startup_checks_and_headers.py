"""Issue 15, Medium 4: the gunicorn entry point skipped the settings checks (it started with a
5-character secret key and a non-Secure cookie), demo mode ran in production, and no HSTS."""
from __future__ import annotations

import pytest

from adapters.tokens import TokenCipher
from config.bootstrap import bootstrap
from config.settings import load_settings
from scheduler.errors import ConfigError
from web import create_app

FIT_FOR_PRODUCTION = {
    "app.env": "production", "app.base_url": "https://tandem.example.org",
    "database.url": "postgresql+psycopg://tandem@db.invalid/tandem", "broker.url": "redis://redis.invalid:6379/0",
    "security.secret_key": "s" * 48, "security.session_cookie_secure": True,
}


def production(**changes) -> dict:
    return {**FIT_FOR_PRODUCTION, "security.token_keys": [TokenCipher.generate_key()], **changes}


def test_the_gunicorn_entry_point_refuses_a_short_secret_key_and_a_plain_cookie(monkeypatch):
    from web import wsgi

    for key, value in {"TANDEM_APP__ENV": "production", "TANDEM_SECURITY__SECRET_KEY": "short",
                       "TANDEM_SECURITY__TOKEN_KEYS": TokenCipher.generate_key()}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TANDEM_CONFIG", raising=False)

    with pytest.raises(ConfigError) as refused:
        wsgi.create()

    message = str(refused.value)
    assert "shorter than 32 characters" in message and "session_cookie_secure" in message
    assert "https://" in message  # app.base_url must be the HTTPS address


def test_demo_mode_refuses_to_start_in_production():
    settings = load_settings(environ={}, overrides=production(**{"app.demo": True}))

    with pytest.raises(ConfigError, match="app.demo is on in production") as refused:
        create_app(settings)
    assert "TANDEM_APP__DEMO=false" in str(refused.value)


def test_a_container_built_elsewhere_is_checked_too(settings):
    container = bootstrap(settings.with_overrides({"security.secret_key": ""}))
    try:
        with pytest.raises(ConfigError, match="security.secret_key is missing"):
            create_app(container=container)
    finally:
        container.dispose()


def test_production_settings_without_problems_pass_the_same_check_as_the_cli():
    from config.settings import problems, require_ok
    from tandem import cli

    settings = load_settings(environ={}, overrides=production())
    assert problems(settings) == []
    require_ok(settings)
    assert cli.require_ok is require_ok  # one check for every entry point


def test_hsts_when_the_cookie_is_secure(settings):
    container = bootstrap(settings.with_overrides({"security.session_cookie_secure": True}))
    try:
        reply = create_app(container=container).test_client().get("/signin")
    finally:
        container.dispose()
    assert reply.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


def test_hsts_when_the_base_url_is_https(settings):
    container = bootstrap(settings.with_overrides({"app.base_url": "https://tandem.example.org"}))
    try:
        reply = create_app(container=container).test_client().get("/signin")
    finally:
        container.dispose()
    assert "Strict-Transport-Security" in reply.headers


def test_no_hsts_over_plain_http_and_the_other_headers_are_complete(client):
    headers = client.get("/signin").headers

    assert "Strict-Transport-Security" not in headers  # a browser would pin HTTPS on a dev box
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["X-Permitted-Cross-Domain-Policies"] == "none"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer" and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
