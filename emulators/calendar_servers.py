"""A loopback CalDAV server (Radicale, served in this process) and a loopback ICS feed host, so
the CalDAV and ICS connectors can be tried without an account anywhere.

Both know their accounts through a ``directory``, like the Google and Microsoft emulators: when
an unknown account is first used, ``directory(email)`` is asked (outside any lock of ours); it may
fill the account (``add_busy``) and answers whether it exists. Unknown accounts are refused as a
real server refuses them (401 for CalDAV, 404 for a feed).

- :class:`CalDavServer`: one password for every account (a loopback sandbox, not a vault); an
  account's calendar ("Calendar", at ``/<email>/calendar/``) is created on first use with the busy
  blocks given by ``add_busy``. Radicale itself serves CalDAV: this module checks the Basic
  credentials and hands Radicale the user name (its ``http_x_remote_user`` authentication, as
  behind a reverse proxy that authenticates).
- :class:`IcsFeedServer`: ``GET /calendar/ical/<email>/public/basic.ics`` (the shape of Google's
  public iCal address) answers the account's busy blocks as an iCalendar feed.

Both import nothing of Tandem's.
"""
from __future__ import annotations

import base64
import logging
import os
import shutil
import tempfile
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import quote, unquote

from emulators.serving import BackgroundServer

Directory = Callable[[str], bool]
BUSY_SUMMARY = "Private meeting"


def _stamp(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _vevent(uid: str, start: datetime, end: datetime, now: datetime) -> str:
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{_stamp(now)}\r\nDTSTART:{_stamp(start)}\r\n"
            f"DTEND:{_stamp(end)}\r\nSUMMARY:{BUSY_SUMMARY}\r\nTRANSP:OPAQUE\r\nEND:VEVENT\r\n")


def _vcalendar(body: str) -> str:
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tandem emulators//calendar servers//EN\r\n{body}END:VCALENDAR\r\n"


class _Accounts:
    """Accounts known so far (lower-cased emails), and the directory asked for the others."""

    def __init__(self, directory: Directory | None):
        self.directory = directory
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def knows(self, email: str) -> bool:
        key = email.strip().lower()
        with self._lock:
            if key in self._known:
                return True
        if not key or self.directory is None or not self.directory(key):
            return False
        self.add(key)
        return True

    def add(self, key: str) -> bool:
        """True when ``key`` is new."""
        with self._lock:
            new = key not in self._known
            self._known.add(key)
            return new


class CalDavServer:
    """Radicale on ``127.0.0.1`` (see the module docstring). ``url`` is its root, to give the
    CalDAV connector with the account's email as user name and :attr:`password`."""

    def __init__(self, *, password: str = "sandbox", directory: Directory | None = None, port: int = 0):
        self.password = password
        self._accounts = _Accounts(directory)
        self._folder = Path(tempfile.mkdtemp(prefix="tandem-caldav-"))
        self._collections = self._folder / "collections" / "collection-root"
        self._collections.mkdir(parents=True)
        self._lock = threading.Lock()
        self._http = BackgroundServer(self._wsgi, name="caldav-server", port=port)
        self._radicale = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}/"

    def start(self) -> "CalDavServer":
        import radicale
        from radicale import config

        logging.getLogger("radicale").setLevel(logging.WARNING)  # Radicale logs every request at INFO
        configuration = config.load()
        configuration.update({
            "auth": {"type": "http_x_remote_user"},
            "rights": {"type": "owner_only"},
            "storage": {"filesystem_folder": str(self._folder / "collections")},
            "web": {"type": "none"},
        }, "tandem calendar servers", privileged=True)
        self._radicale = radicale.Application(configuration)
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()
        shutil.rmtree(self._folder, ignore_errors=True)

    def add_account(self, email: str) -> None:
        """Create the account and its empty calendar (an existing one is left as it is)."""
        key = email.strip().lower()
        with self._lock:
            calendar = self._collections / key / "calendar"
            if not calendar.exists():
                staging = self._collections / key / f".new-{uuid.uuid4().hex}"
                staging.mkdir(parents=True)
                (staging / ".Radicale.props").write_text(
                    '{"tag": "VCALENDAR", "D:displayname": "Calendar", "C:supported-calendar-component-set": "VEVENT"}')
                os.replace(staging, calendar)  # Radicale sees the calendar whole or not at all
        self._accounts.add(key)

    def add_busy(self, email: str, start: datetime, end: datetime) -> str:
        """Put one busy block (an opaque event) in the account's calendar; returns its UID."""
        key = email.strip().lower()
        self.add_account(key)
        uid = f"{uuid.uuid4()}@calendar-servers"
        now = datetime.now(timezone.utc)
        target = self._collections / key / "calendar" / f"{uid}.ics"
        staging = target.with_name(f".{uid}.tmp")
        staging.write_text(_vcalendar(_vevent(uid, start, end, now)), newline="")
        os.replace(staging, target)
        return uid

    def _wsgi(self, environ, start_response):
        user = self._authenticated(environ.get("HTTP_AUTHORIZATION", ""))
        if user is None:
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="Tandem CalDAV emulator"'),
                                                ("Content-Type", "text/plain; charset=utf-8")])
            return [b"Wrong user name or password: the user name is your email address."]
        environ = {k: v for k, v in environ.items() if k != "HTTP_AUTHORIZATION"}
        environ["HTTP_X_REMOTE_USER"] = user
        return self._radicale(environ, start_response)

    def _authenticated(self, header: str) -> str | None:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        user = user.strip().lower()
        if password != self.password or not self._accounts.knows(user):
            return None
        return user


class IcsFeedServer:
    """Published iCalendar feeds on ``127.0.0.1`` (see the module docstring)."""

    def __init__(self, *, directory: Directory | None = None, port: int = 0):
        self._accounts = _Accounts(directory)
        self._busy: dict[str, list[tuple[str, datetime, datetime]]] = {}
        self._lock = threading.Lock()
        self._http = BackgroundServer(self._wsgi, name="ics-feed-server", port=port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}"

    def feed_url(self, email: str) -> str:
        return f"{self.base_url}/calendar/ical/{quote(email.strip().lower(), safe='@')}/public/basic.ics"

    def start(self) -> "IcsFeedServer":
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def add_account(self, email: str) -> None:
        key = email.strip().lower()
        with self._lock:
            self._busy.setdefault(key, [])
        self._accounts.add(key)

    def add_busy(self, email: str, start: datetime, end: datetime) -> str:
        key = email.strip().lower()
        self.add_account(key)
        uid = f"{uuid.uuid4()}@calendar-servers"
        with self._lock:
            self._busy[key].append((uid, start, end))
        return uid

    def _wsgi(self, environ, start_response):
        parts = unquote(environ.get("PATH_INFO", "")).strip("/").split("/")
        if (environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or len(parts) != 5
                or parts[:2] != ["calendar", "ical"] or parts[3:] != ["public", "basic.ics"]
                or not self._accounts.knows(parts[2])):
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"No such calendar feed."]
        now = datetime.now(timezone.utc)
        with self._lock:
            events = list(self._busy.get(parts[2].lower(), ()))
        body = _vcalendar("".join(_vevent(uid, start, end, now) for uid, start, end in events)).encode()
        start_response("200 OK", [("Content-Type", "text/calendar; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body] if environ["REQUEST_METHOD"] == "GET" else []
