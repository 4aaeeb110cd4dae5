"""``tandem emulators``: run the Google and Microsoft emulators together for manual trials, and
print the settings that point a Tandem at them."""
from __future__ import annotations


def cmd_emulators(args) -> int:
    from emulators.google import GoogleEmulator
    from emulators.microsoft import GraphEmulator
    from emulators.serving import serve_until_stopped, stop_on_signals
    from tandem.demo import DemoEmulators

    stop = stop_on_signals()  # before anything is printed

    emulators = DemoEmulators(GoogleEmulator(port=args.google_port).start(),
                              GraphEmulator(port=args.microsoft_port).start())
    emulators.microsoft.set_auto_approve(args.auto_approve)
    print(f"Google Calendar emulator: {emulators.google.base_url}")
    print(f"Microsoft Graph emulator: {emulators.microsoft.base_url} (CA: {emulators.microsoft.ca_file})")
    print("\n# Settings that point Tandem at them (TOML):")
    sections: dict[str, list[str]] = {}
    for dotted, value in emulators.settings_overrides().items():
        section, key = dotted.split(".")
        sections.setdefault(section, []).append(f'{key} = "{value}"')
    for section, lines in sections.items():
        print(f"[{section}]\n" + "\n".join(lines))
    print("\n(Ctrl-C stops them)", flush=True)
    serve_until_stopped(emulators, stop=stop)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("emulators", help="run the Google and Microsoft emulators on loopback")
    p.add_argument("--google-port", type=int, default=0, help="0: any free port")
    p.add_argument("--microsoft-port", type=int, default=0, help="0: any free port")
    p.add_argument("--auto-approve", action="store_true", help="Microsoft consent without the page")
    p.set_defaults(func=cmd_emulators)
