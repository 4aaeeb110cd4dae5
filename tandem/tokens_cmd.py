"""``tandem tokens rotate``: re-encrypt every stored calendar token with the newest key."""
from __future__ import annotations


def rotate_all(container) -> int:
    """Re-encrypt every token blob not yet under the first key; returns how many changed.
    ``container.cipher`` must be an ``adapters.tokens.TokenCipher`` (it can rotate)."""
    changed = 0
    cipher = container.cipher
    with container.uow() as uow:
        for conn in uow.connections.with_tokens():
            if not cipher.is_current(conn.token_blob):
                conn.token_blob = cipher.rotate(conn.token_blob)
                changed += 1
        uow.commit()
    return changed


def cmd_rotate(args) -> int:
    from adapters.tokens import TokenCipher
    from config.bootstrap import bootstrap
    from config.settings import load_settings

    settings = load_settings(args.config)
    container = bootstrap(settings)
    container.cipher = TokenCipher(settings.security.token_keys)  # the lazy default cannot rotate
    n = rotate_all(container)
    print(f"re-encrypted {n} calendar token(s) with the newest key; older keys can now be removed")
    container.dispose()
    return 0


def add_parser(sub) -> None:
    tokens = sub.add_parser("tokens", help="encrypted calendar tokens").add_subparsers(dest="tokens_command", required=True)
    tokens.add_parser("rotate", help="re-encrypt all tokens with the first key of security.token_keys").set_defaults(func=cmd_rotate)
