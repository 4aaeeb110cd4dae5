import dataclasses

import pytest

from config.settings import load_settings, problems, redacted_items
from scheduler.errors import ConfigError


def test_defaults_are_the_embedded_setup(tmp_path):
    s = load_settings(environ={}, overrides={"app.var_dir": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path}/tandem.sqlite3"
    assert s.broker.url == "memory://"
    assert s.sources["app.var_dir"] == "override"
    assert "database.url" not in s.sources  # default


def test_layers_file_then_environment_then_override(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text('[app]\nport = 6000\nhost = "0.0.0.0"\n[tick]\nbatch_size = 7\n')
    s = load_settings(cfg, environ={"TANDEM_APP__PORT": "7000", "TANDEM_TICK__BATCH_SIZE": "9"},
                      overrides={"tick.batch_size": 11})
    assert (s.app.port, s.app.host, s.tick.batch_size) == (7000, "0.0.0.0", 11)
    assert s.sources["app.port"] == "environment"
    assert s.sources["app.host"] == f"file {cfg}"
    assert s.sources["tick.batch_size"] == "override"


def test_config_file_named_by_environment(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text('[broker]\nurl = "redis://127.0.0.1:6379/3"\n')
    assert load_settings(environ={"TANDEM_CONFIG": str(cfg)}).broker.url == "redis://127.0.0.1:6379/3"


@pytest.mark.parametrize("text, message", [
    ('[app]\nprot = 1\n', "unknown setting 'app.prot'"),
    ('[datbase]\nurl = "x"\n', "unknown section 'datbase'"),
    ('port = 1\n', "must be a [section] table"),
    ('[app]\nport = "many"\n', "app.port: expected int"),
    ('[app\n', "not valid TOML"),
])
def test_bad_file_is_named_with_the_problem(tmp_path, text, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")) as info:
        load_settings(cfg, environ={})
    assert str(cfg) in str(info.value)


def test_missing_and_unreadable_files_say_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="does not exist; create it"):
        load_settings(tmp_path / "nope.toml", environ={})
    bad = tmp_path / "binary.toml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(bad, environ={})


def test_unknown_environment_key_is_refused():
    with pytest.raises(ConfigError, match="unknown setting 'broker.ulr'"):
        load_settings(environ={"TANDEM_BROKER__ULR": "x"})
    with pytest.raises(ConfigError, match="use TANDEM_SECTION__KEY"):
        load_settings(environ={"TANDEM_PORT": "1"})


def test_types_are_coerced_from_environment():
    s = load_settings(environ={"TANDEM_APP__DEMO": "yes", "TANDEM_TICK__INTERVAL_SECONDS": "2.5",
                               "TANDEM_SECURITY__TOKEN_KEYS": "a, b"})
    assert s.app.demo is True and s.tick.interval_seconds == 2.5 and s.security.token_keys == ("a", "b")
    with pytest.raises(ConfigError, match="app.demo: expected bool"):
        load_settings(environ={"TANDEM_APP__DEMO": "perhaps"})


def test_settings_are_immutable():
    s = load_settings(environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.app.port = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.sources["app.port"] = "me"  # type: ignore[index]


def test_secrets_are_redacted_in_listing():
    s = load_settings(environ={}, overrides={"security.secret_key": "hunter2hunter2",
                                             "google.client_secret": "g-secret",
                                             "security.token_keys": ["k1", "k2"]})
    shown = {k: v for k, v, _ in redacted_items(s)}
    assert shown["security.secret_key"] == "<redacted>"
    assert shown["google.client_secret"] == "<redacted>"
    assert shown["security.token_keys"] == "<2 redacted>"
    assert "hunter2" not in repr(shown)


def test_problems_name_missing_secrets_and_production_gaps():
    dev = problems(load_settings(environ={}))
    assert any("security.secret_key is missing" in p for p in dev)
    assert any("security.token_keys is missing" in p for p in dev)
    prod = problems(load_settings(environ={}, overrides={"app.env": "production", "security.secret_key": "short"}))
    assert any("shorter than 32" in p for p in prod)
    assert any("production uses SQLite" in p for p in prod)
    assert any("in-process broker" in p for p in prod)
