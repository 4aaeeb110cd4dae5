"""``python -m emulators.google --port N``: run the Google emulator until interrupted."""
from __future__ import annotations

import argparse

from emulators.google.server import GoogleEmulator
from emulators.serving import serve_until_stopped, stop_on_signals


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Google Calendar v3 + OAuth emulator (loopback only)")
    parser.add_argument("--port", type=int, default=8085, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--auto-approve", metavar="EMAIL", default=None,
                        help="approve every consent as this user without showing the page")
    parser.add_argument("--user", action="append", default=[], metavar="EMAIL", help="create a user at start")
    parser.add_argument("--redirect-uri", action="append", default=[], metavar="URL",
                        help="allowed OAuth redirect URI (default: any loopback URL)")
    args = parser.parse_args(argv)
    stop = stop_on_signals()  # before anything is printed: see stop_on_signals
    emu = GoogleEmulator(port=args.port, auto_approve=args.auto_approve or False,
                         redirect_uris=tuple(args.redirect_uri)).start()
    for email in args.user:
        emu.add_user(email)
    print(f"Google emulator on {emu.base_url} (client_id={emu.client_id} client_secret={emu.client_secret})", flush=True)
    serve_until_stopped(emu, stop=stop)


if __name__ == "__main__":
    main()
