"""After sign-in Tandem follows only same-site paths (no open redirect)."""
from __future__ import annotations

import pytest
from flask import Flask

from web.auth.views import safe_next


@pytest.fixture
def app():
    app = Flask(__name__)
    app.add_url_rule("/", "home.index", lambda: "home")
    return app


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "", None,
                                    "javascript:alert(1)",
                                    # browsers drop tabs and newlines and read "\\" as "/", so most of these become //x
                                    "//x", "/\\x", "https://x", "/\t/x", "/\n/x", "/\r/x", "\t//x",
                                    "\\\\x", " //x", "/ /x", "/\x00/x", "/\x7f/x", "http:/x", "x/y"])
def test_foreign_targets_go_home(app, target):
    with app.test_request_context():
        assert safe_next(target) == "/"


def test_own_paths_are_kept(app):
    with app.test_request_context():
        assert safe_next("/pairs/abc?x=1") == "/pairs/abc?x=1"
