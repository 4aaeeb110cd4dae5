"""Medium 7 (part): signed-link tokens never reach a log line, in any mode, through any logger or
handler, the development server's access log included. Records are captured by plain handlers
(no Tandem filter on them), as a library's or the dev server's own handler would see them."""
from __future__ import annotations

import io
import logging
import threading
import urllib.error
import urllib.request

import pytest
from werkzeug.serving import make_server

from config.logs import configure_logging

TOKENS = {"invite": "eyJwIjoiaW52aXRlIn0.Zx1.secretInviteSig",
          "feedback": "eyJuIjoiZmVlZGJhY2sifQ.Zx2.secretFeedbackSig",
          "signin/link": "eyJwIjoic2lnbmluIn0.Zx3.secretSigninSig"}


class Capture(logging.Handler):
    """Keeps every record it is given, with no filter of its own."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # what this handler would write, as it sees the record (later handlers may change it)
        self.lines.append(logging.Formatter().format(record))

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def captured():
    """A plain handler on werkzeug's logger and on the root logger; all restored afterwards."""
    root, werkzeug = logging.getLogger(), logging.getLogger("werkzeug")
    saved = list(root.handlers), root.level, list(werkzeug.handlers), werkzeug.level, werkzeug.propagate
    capture = Capture()
    werkzeug.addHandler(capture)  # werkzeug's own handler sees its lines before any root handler
    werkzeug.setLevel(logging.INFO)
    werkzeug.propagate = False
    yield capture
    for logger in (root, werkzeug):
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    for handler in saved[2]:
        werkzeug.addHandler(handler)
    werkzeug.setLevel(saved[3])
    werkzeug.propagate = saved[4]


def _assert_no_token(text: str) -> None:
    for token in TOKENS.values():
        assert token not in text
        assert token.split(".")[-1] not in text


def test_the_development_servers_access_log_redacts_signed_link_tokens(app, captured):
    server = make_server("127.0.0.1", 0, app)  # werkzeug's own request handler, as 'tandem run' uses
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for prefix, token in TOKENS.items():
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/{prefix}/{token}?x=1",
                                       timeout=30).read()
            except urllib.error.HTTPError as exc:  # a 400 for a token that does not verify is fine
                exc.read()
    finally:
        server.shutdown()
        thread.join(timeout=30)
        server.server_close()
    text = captured.text()
    for prefix in TOKENS:
        assert f"/{prefix}/[redacted]" in text  # the access line is there, without its token
    _assert_no_token(text)


@pytest.mark.parametrize("env", ["development", "test", "production"])
def test_any_logger_and_any_handler_get_redacted_lines_in_every_mode(env, captured):
    configure_logging(env, stream=io.StringIO())
    other = Capture()
    library = logging.getLogger("some.library")
    library.addHandler(other)
    try:
        library.warning("fetched %s and %s", f"https://tandem.example/invite/{TOKENS['invite']}",
                        f"/feedback/{TOKENS['feedback']}?answer=yes")
        try:
            raise RuntimeError(f"GET /signin/link/{TOKENS['signin/link']} failed")
        except RuntimeError:
            library.exception("request failed")
    finally:
        library.removeHandler(other)
    text = other.text()
    assert "/invite/[redacted]" in text and "/feedback/[redacted]?answer=yes" in text
    assert "/signin/link/[redacted] failed" in text  # in the traceback too
    _assert_no_token(text)


def test_pytests_own_capture_sees_redacted_lines_once_the_app_is_built(app, caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("tandem.test").info("opened /invite/%s", TOKENS["invite"])
    assert caplog.records[-1].getMessage() == "opened /invite/[redacted]"
    _assert_no_token(caplog.text)
