"""One typed settings schema, layered: defaults < TOML file < ``TANDEM_*`` environment < override.

Strict: an unknown section or key in the file, the environment or an override is an error that
names it. Immutable: :class:`Settings` and its sections are frozen dataclasses. Every value
remembers where it came from (``Settings.sources``), which ``tandem config show`` prints.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from scheduler.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_KEYS = {"secret_key", "token_keys", "client_secret", "smtp_password", "webhook_secret", "token"}


@dataclass(frozen=True)
class AppSection:
    env: str = "development"  # development | production | test
    base_url: str = "http://127.0.0.1:5000"
    host: str = "127.0.0.1"
    port: int = 5000
    var_dir: str = str(PROJECT_ROOT / "var")
    demo: bool = False  # seed the sandbox program and use the emulators when no real credentials
    proxy_hops: int = 0  # trusted proxies in front (X-Forwarded-For/-Proto): the client address sign-in limits use


@dataclass(frozen=True)
class DatabaseSection:
    url: str = ""  # empty: SQLite file under app.var_dir
    echo: bool = False


@dataclass(frozen=True)
class BrokerSection:
    url: str = "memory://"  # memory:// = in-process broker + worker threads; redis://... in production
    namespace: str = "tandem"
    worker_threads: int = 4


@dataclass(frozen=True)
class SecuritySection:
    secret_key: str = ""  # signs sessions, CSRF tokens and emailed links
    token_keys: tuple[str, ...] = ()  # Fernet keys; the first encrypts, all decrypt (rotation)
    webhook_secret: str = ""  # derives per-channel tokens for Google / clientState for Graph
    session_cookie_secure: bool = False
    link_max_age_days: int = 14


@dataclass(frozen=True)
class MailSection:
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_user: str = ""
    smtp_password: str = ""
    starttls: bool = False
    from_address: str = "Tandem <tandem@localhost>"
    # emails sent on one kept SMTP connection (per worker thread) before it is renewed; 1: a
    # connection per email
    max_messages_per_connection: int = 100


@dataclass(frozen=True)
class GoogleSection:
    client_id: str = ""
    client_secret: str = ""
    auth_uri: str = "https://accounts.google.com/o/oauth2/auth"
    token_uri: str = "https://oauth2.googleapis.com/token"
    revoke_uri: str = "https://oauth2.googleapis.com/revoke"
    api_base: str = "https://www.googleapis.com"


@dataclass(frozen=True)
class MicrosoftSection:
    client_id: str = ""
    client_secret: str = ""
    authority: str = "https://login.microsoftonline.com/common"
    graph_base: str = "https://graph.microsoft.com"
    ca_file: str = ""  # extra CA bundle (the emulator's); empty: system trust store


@dataclass(frozen=True)
class TickSection:
    interval_seconds: float = 30.0
    batch_size: int = 100  # rows claimed at once; a full batch is followed by another at once
    claim_timeout_seconds: int = 300  # a claimed row not done by then is re-driven
    # emails (deliver_notification rows) go to a worker this many to a message, which sends them
    # on one kept SMTP connection; 1 sends each in a message of its own
    delivery_batch_size: int = 50
    # a full batch is followed by another at once only while fewer rows than this wait in the
    # broker for a worker (so a backlog never sits in Redis long enough to be re-driven)
    max_waiting: int = 2000
    max_attempts: int = 8  # then the row is marked dead and shown to coordinators


@dataclass(frozen=True)
class PrivacySection:
    # Feedback free text (what people typed about a session) is deleted this many days after it
    # was written; the answer and the rating stay. 0 keeps it for as long as the pair exists.
    feedback_retention_days: int = 365


@dataclass(frozen=True)
class MetricsSection:
    # /metrics asks for "Authorization: Bearer <token>" when set; in production it is refused
    # (404) until a token is set. Development and tests serve it openly when empty.
    token: str = ""


@dataclass(frozen=True)
class ApiSection:
    # requests per minute allowed to one JSON API token (counted in the database, so every
    # process of the installation shares the count); over it the API answers 429 + Retry-After
    requests_per_minute: int = 120


@dataclass(frozen=True)
class WebhooksSection:
    # Outgoing webhooks may be sent to loopback, private, link-local (...) addresses. Off by
    # default: a coordinator's URL must not reach into the installation's own network. The
    # sandbox (app.demo) allows them; tests turn this on for their loopback receivers.
    allow_private_destinations: bool = False


@dataclass(frozen=True)
class Settings:
    app: AppSection = field(default_factory=AppSection)
    database: DatabaseSection = field(default_factory=DatabaseSection)
    broker: BrokerSection = field(default_factory=BrokerSection)
    security: SecuritySection = field(default_factory=SecuritySection)
    mail: MailSection = field(default_factory=MailSection)
    google: GoogleSection = field(default_factory=GoogleSection)
    microsoft: MicrosoftSection = field(default_factory=MicrosoftSection)
    tick: TickSection = field(default_factory=TickSection)
    metrics: MetricsSection = field(default_factory=MetricsSection)
    api: ApiSection = field(default_factory=ApiSection)
    webhooks: WebhooksSection = field(default_factory=WebhooksSection)
    privacy: PrivacySection = field(default_factory=PrivacySection)
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{Path(self.app.var_dir) / 'tandem.sqlite3'}"

    def with_overrides(self, overrides: Mapping[str, Any], source: str = "override") -> "Settings":
        """A new Settings with ``{"section.key": value}`` applied (tests use this)."""
        return _apply(self, overrides, source)


SECTIONS = {f.name: f.type for f in dataclasses.fields(Settings) if f.name != "sources"}


def _section_class(name: str):
    return {"app": AppSection, "database": DatabaseSection, "broker": BrokerSection,
            "security": SecuritySection, "mail": MailSection, "google": GoogleSection,
            "microsoft": MicrosoftSection, "tick": TickSection, "metrics": MetricsSection,
            "api": ApiSection, "webhooks": WebhooksSection,
            "privacy": PrivacySection}[name]


def _coerce(value: Any, typ: Any, where: str) -> Any:
    """Convert ``value`` (from TOML or an env string) to the field's type, or raise ConfigError."""
    origin = typing.get_origin(typ)
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
    elif typ is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
    elif typ is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif typ is str:
        if isinstance(value, str):
            return value
    elif origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
    raise ConfigError(f"{where}: expected {getattr(typ, '__name__', str(typ))}, got {value!r}")


def _field_types(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _apply(settings: Settings, flat: Mapping[str, Any], source: str) -> Settings:
    sections = {name: getattr(settings, name) for name in SECTIONS}
    sources = dict(settings.sources)
    changes: dict[str, dict[str, Any]] = {}
    for dotted, raw in flat.items():
        if "." not in dotted:
            raise ConfigError(f"{source}: '{dotted}' is not a setting; use 'section.key' "
                              f"(sections: {', '.join(SECTIONS)})")
        section, key = dotted.split(".", 1)
        if section not in SECTIONS:
            raise ConfigError(f"{source}: unknown section '{section}' (known: {', '.join(SECTIONS)})")
        types_ = _field_types(_section_class(section))
        if key not in types_:
            raise ConfigError(f"{source}: unknown setting '{section}.{key}' "
                              f"(known in [{section}]: {', '.join(types_)})")
        changes.setdefault(section, {})[key] = _coerce(raw, types_[key], f"{source}: {section}.{key}")
        sources[dotted] = source
    for section, values in changes.items():
        sections[section] = dataclasses.replace(sections[section], **values)
    return Settings(**sections, sources=types.MappingProxyType(sources))


def _flatten_toml(data: Mapping[str, Any], path: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, body in data.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: top-level key '{section}' must be a [section] table "
                              f"(sections: {', '.join(SECTIONS)})")
        for key, value in body.items():
            flat[f"{section}.{key}"] = value
    return flat


def _env_layer(environ: Mapping[str, str]) -> dict[str, str]:
    """``TANDEM_SECTION__KEY=value`` → ``{"section.key": value}``. ``TANDEM_CONFIG`` names the file."""
    flat = {}
    for name, value in environ.items():
        if not name.startswith("TANDEM_") or name == "TANDEM_CONFIG":
            continue
        rest = name[len("TANDEM_"):].lower()
        if "__" not in rest:
            raise ConfigError(f"environment: {name} is not a setting; use TANDEM_SECTION__KEY, "
                              f"e.g. TANDEM_DATABASE__URL")
        section, key = rest.split("__", 1)
        flat[f"{section}.{key}"] = value
    return flat


def load_settings(config_file: str | os.PathLike | None = None, *, environ: Mapping[str, str] | None = None,
                  overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build the effective settings: defaults < file < environment < overrides."""
    environ = os.environ if environ is None else environ
    settings = Settings(sources=types.MappingProxyType({}))
    path = config_file or environ.get("TANDEM_CONFIG")
    if path:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist; create it (tandem config init --out {path}) "
                              f"or unset TANDEM_CONFIG") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} cannot be read: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        settings = _apply(settings, _flatten_toml(data, str(path)), f"file {path}")
    settings = _apply(settings, _env_layer(environ), "environment")
    if overrides:
        settings = _apply(settings, overrides, "override")
    return settings


def problems(settings: Settings) -> list[str]:
    """Everything wrong with the settings for their ``app.env``, each with what to do."""
    found = []
    if settings.app.env not in ("development", "production", "test"):
        found.append(f"app.env is '{settings.app.env}'; use development, production or test")
    if not settings.security.secret_key:
        found.append("security.secret_key is missing: set TANDEM_SECURITY__SECRET_KEY or run "
                     "'tandem config init --out var/tandem.toml' and point TANDEM_CONFIG at it")
    elif settings.app.env == "production" and len(settings.security.secret_key) < 32:
        found.append("security.secret_key is shorter than 32 characters; generate a new one "
                     "(python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    if not settings.security.token_keys:
        found.append("security.token_keys is missing: calendar tokens cannot be encrypted; run "
                     "'tandem config init' or set TANDEM_SECURITY__TOKEN_KEYS to a Fernet key")
    if settings.app.env == "production":
        if settings.database_url.startswith("sqlite"):
            found.append("production uses SQLite; set database.url to a PostgreSQL URL")
        if settings.broker.url.startswith("memory"):
            found.append("production uses the in-process broker; set broker.url to redis://...")
        if not settings.security.session_cookie_secure:
            found.append("production needs security.session_cookie_secure = true (HTTPS)")
        if not settings.app.base_url.lower().startswith("https://"):
            found.append(f"app.base_url is {settings.app.base_url!r}; production serves over HTTPS: set "
                         "TANDEM_APP__BASE_URL to the https:// address people open")
        if settings.app.demo:
            found.append("app.demo is on in production: demo mode shows a working sign-in link for any "
                         "address; set TANDEM_APP__DEMO=false (the sandbox is for development only)")
    return found


def require_ok(settings: Settings) -> None:
    """Refuse to start (:class:`ConfigError` listing every :func:`problems` item) unless the
    settings are fit for their ``app.env``. Every entry point runs it: the CLI commands and the
    web app factory (so gunicorn's ``web.wsgi:create()`` cannot skip it)."""
    found = problems(settings)
    if found:
        raise ConfigError("cannot start:\n  - " + "\n  - ".join(found))


def redacted_items(settings: Settings):
    """Yield ``(dotted_key, display_value, source)`` for every setting, secrets redacted."""
    for section in SECTIONS:
        sec = getattr(settings, section)
        for f in dataclasses.fields(sec):
            dotted = f"{section}.{f.name}"
            value = getattr(sec, f.name)
            if f.name in SECRET_KEYS and value:
                shown = "<redacted>" if isinstance(value, str) else f"<{len(value)} redacted>"
            else:
                shown = value
            yield dotted, shown, settings.sources.get(dotted, "default")
