"""Run the Graph emulator standalone: ``python -m emulators.microsoft --port 8443``.

Prints the authority, the Graph base URL, the CA file clients must trust, and the default
client id/secret; serves until interrupted.
"""
from __future__ import annotations

import argparse

from emulators.serving import serve_until_stopped, stop_on_signals

from .emulator import GraphEmulator


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, start the emulator, print where it is, serve until stopped."""
    parser = argparse.ArgumentParser(prog="python -m emulators.microsoft", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--tenant", default="organizations", help="tenant segment of the authority")
    parser.add_argument("--user", action="append", default=[], help="create this mailbox (repeatable)")
    parser.add_argument("--personal-user", action="append", default=[], help="create an outlook.com-style mailbox")
    parser.add_argument("--auto-approve", action="store_true", help="skip the consent page when login_hint is known")
    parser.add_argument("--allow-http-webhooks", action="store_true", help="accept http:// notification URLs")
    parser.add_argument("--deliver-invitations", action="store_true",
                        help="copy meetings into attendees' mailboxes (tentative until answered)")
    args = parser.parse_args(argv)
    stop = stop_on_signals()  # before anything is printed: see stop_on_signals
    emu = GraphEmulator(port=args.port, tenant=args.tenant, allow_http_webhooks=args.allow_http_webhooks,
                        deliver_invitations=args.deliver_invitations).start()
    for email in args.user:
        emu.add_user(email)
    for email in args.personal_user:
        emu.add_user(email, personal=True)
    emu.set_auto_approve(args.auto_approve)
    print(f"authority:     {emu.authority}", flush=True)
    print(f"graph base:    {emu.graph_url}", flush=True)
    print(f"CA file:       {emu.ca_file}", flush=True)
    print(f"client id:     {emu.client_id}", flush=True)
    print(f"client secret: {emu.client_secret}", flush=True)
    print(f"control API:   {emu.origin}/_emulator/...", flush=True)
    serve_until_stopped(emu, stop=stop)


if __name__ == "__main__":
    main()
