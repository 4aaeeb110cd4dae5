"""A loopback SMTP server (aiosmtpd) in its own process, for the delivery benchmark and the chaos
run: ``python -m bench.smtp_sink OUT_FILE [--port N]``.

Prints its port on the first line of stdout, then writes one line per accepted message to
``OUT_FILE`` (``<Message-ID> <size>``) *before* answering 250, so every message the server
accepted is in the file. It stops when stdin closes (the parent went away) or on SIGTERM. Being
a separate process keeps its work off the measured process's interpreter lock.
"""
from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
from collections import Counter
from pathlib import Path

MESSAGE_ID = b"\nmessage-id:"


class _Handler:
    def __init__(self, out):
        self._out = out
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        content = envelope.original_content or b""
        lower = content[:8192].lower()
        start = lower.find(MESSAGE_ID)
        message_id = content[start + len(MESSAGE_ID):content.find(b"\n", start + 1)].strip().decode() \
            if start >= 0 else "-"
        with self._lock:
            self._out.write(f"{message_id} {len(content)}\n")
            self._out.flush()
        return "250 OK"


def read_message_ids(path: Path) -> Counter:
    """How many times each Message-ID arrived (the file ``OUT_FILE`` of a sink)."""
    if not path.exists():
        return Counter()
    return Counter(line.split(" ", 1)[0] for line in path.read_text().splitlines() if line.strip())


def main(argv: list[str] | None = None) -> int:
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser(prog="python -m bench.smtp_sink")
    parser.add_argument("out", type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    port = args.port
    if not port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    with open(args.out, "a", encoding="utf-8") as out:
        controller = Controller(_Handler(out), hostname="127.0.0.1", port=port)
        controller.start()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        print(port, flush=True)
        stop.wait()
        controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
