"""Error pages that say what went wrong and what to do next."""
from __future__ import annotations

import logging

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

TITLES = {400: "That request could not be used", 403: "You do not have access to this page",
          404: "Page not found", 405: "That action is not available here",
          413: "That file is too big", 500: "Something went wrong on our side"}
DEFAULT_HELP = {404: "Check the address, or start again from your home page.",
                405: "Go back and use the buttons on the page.",
                413: "Files up to 2 MB can be uploaded; split the file and try again.",
                500: "Please try again in a minute. If it keeps happening, tell your program coordinator."}


def _page(code: int, message: str | None):
    text = message or DEFAULT_HELP.get(code, "Go back and try again.")
    return render_template("error.html", code=code, title=TITLES.get(code, "Error"), message=text), code


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code in (400, 403) or exc.code not in DEFAULT_HELP:
            message = exc.description if exc.code in (400, 403) else None
        else:
            message = None
        return _page(exc.code or 500, message)

    if not app.testing:  # tests see the real traceback
        @app.errorhandler(Exception)
        def unexpected(exc: Exception):
            log.exception("unhandled error")
            return _page(500, None)
