"""A real Radicale CalDAV server for tests, run as a subprocess on a free loopback port.

Authentication is a plain-text htpasswd file so that users can be added while the server runs
(Radicale reads the file on each login when its htpasswd cache is off) and a password can be
changed to simulate revoked access. Rights are ``owner_only``: each user sees their own
collections only.

:func:`shared_radicale` starts one server per test process on first use and stops it when the
process exits; :func:`start_radicale` gives a private one (a context manager).
"""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

STARTUP_TIMEOUT = 15.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RadicaleServer:
    """A running Radicale: ``url`` is its root; users live in the ``htpasswd`` file."""

    url: str
    folder: Path
    htpasswd: Path
    process: subprocess.Popen
    _users: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set_user(self, username: str, password: str) -> None:
        """Create the user or change their password (takes effect at the next request)."""
        with self._lock:
            self._users[username] = password
            staging = self.htpasswd.with_suffix(".tmp")
            staging.write_text("".join(f"{user}:{pw}\n" for user, pw in self._users.items()))
            os.replace(staging, self.htpasswd)

    def storage_of(self, username: str) -> Path:
        """The folder holding ``username``'s collections (for back-door test checks)."""
        return self.folder / "collections" / "collection-root" / username

    def log_text(self) -> str:
        return (self.folder / "radicale.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _wait_until_listening(server: RadicaleServer, port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"Radicale exited with {server.process.returncode}:\n{server.log_text()[-2000:]}")
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"Radicale did not listen on 127.0.0.1:{port} within {STARTUP_TIMEOUT} s")


def launch_radicale(folder: Path) -> RadicaleServer:
    """Start Radicale with its storage, htpasswd and log in ``folder``; returns when it listens."""
    folder.mkdir(parents=True, exist_ok=True)
    htpasswd = folder / "htpasswd"
    htpasswd.write_text("")
    port = _free_port()
    command = [
        sys.executable, "-m", "radicale", "--config", "",
        "--server-hosts", f"127.0.0.1:{port}",
        "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(htpasswd),
        "--auth-htpasswd-encryption", "plain", "--auth-delay", "0", "--no-auth-cache-logins",
        "--rights-type", "owner_only",
        "--storage-filesystem-folder", str(folder / "collections"),
        "--logging-level", "warning",
    ]
    log = open(folder / "radicale.log", "wb")  # noqa: SIM115 - the child keeps writing to it
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    server = RadicaleServer(url=f"http://127.0.0.1:{port}/", folder=folder, htpasswd=htpasswd, process=process)
    _wait_until_listening(server, port)
    return server


@contextlib.contextmanager
def start_radicale() -> Iterator[RadicaleServer]:
    """A private Radicale for the duration of the block, in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="tandem-radicale-"))
    server = launch_radicale(folder)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


_shared: RadicaleServer | None = None
_shared_lock = threading.Lock()


def shared_radicale() -> RadicaleServer:
    """One Radicale for the whole test process, started on first use, stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.process.poll() is not None:
            folder = Path(tempfile.mkdtemp(prefix="tandem-radicale-"))
            _shared = launch_radicale(folder)
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            atexit.register(_shared.stop)
        return _shared
