"""``tandem tokens rotate``: re-encrypt every stored calendar token with the newest key."""
from __future__ import annotations


def cmd_rotate(args) -> int:
    from config.bootstrap import bootstrap
    from config.settings import load_settings
    from scheduler.services.tokens import rotate_tokens

    container = bootstrap(load_settings(args.config))
    n = rotate_tokens(container)
    print(f"re-encrypted {n} calendar token(s) with the newest key; older keys can now be removed")
    container.dispose()
    return 0


def add_parser(sub) -> None:
    tokens = sub.add_parser("tokens", help="encrypted calendar tokens").add_subparsers(dest="tokens_command", required=True)
    tokens.add_parser("rotate", help="re-encrypt all tokens with the first key of security.token_keys").set_defaults(func=cmd_rotate)
