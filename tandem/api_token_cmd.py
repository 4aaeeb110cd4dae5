"""``tandem api-token create --program ID --name NAME`` / ``--all-programs --name NAME``: a bearer
token for the JSON API (docs/api.md). The token is printed alone on the last line of standard
output, notes go to standard error, so ``$(tandem api-token create ...)`` is the token. A program
that does not exist or a bad name: one line on stderr, exit 2.

``tandem api-token list --program ID | --all-programs`` lists tokens (never the tokens
themselves); ``tandem api-token revoke TOKEN_ID`` revokes one, whatever its scope (the
administrators' tokens have no program page to be revoked on)."""
from __future__ import annotations

import sys


def cmd_create(args) -> int:
    from config.bootstrap import bootstrap
    from config.settings import load_settings
    from scheduler.errors import InvalidInput
    from scheduler.services.api import create_api_token

    container = bootstrap(load_settings(args.config))
    try:
        made = create_api_token(container, name=args.name, program_id=None if args.all_programs else args.program)
    except InvalidInput as problem:
        print(f"tandem: {problem}", file=sys.stderr)
        return 2
    finally:
        container.dispose()
    scope = "every program (an administrator's token)" if args.all_programs else f"program {args.program}"
    print(f"API token “{made.line.name}” for {scope}; it is shown once — keep it secret. "
          f"Use it as “Authorization: Bearer TOKEN”; revoke it on the program page.", file=sys.stderr)
    print(made.token)
    return 0


def cmd_list(args) -> int:
    from config.bootstrap import bootstrap
    from config.settings import load_settings
    from scheduler.services.api import api_tokens_of_program

    container = bootstrap(load_settings(args.config))
    try:
        lines = api_tokens_of_program(container, None if args.all_programs else args.program)
    finally:
        container.dispose()
    if not lines:
        print("no tokens", file=sys.stderr)
    for line in lines:
        state = f"revoked {line.revoked_at:%Y-%m-%d %H:%M}Z" if line.revoked_at else "active"
        used = f"last used {line.last_used_at:%Y-%m-%d %H:%M}Z" if line.last_used_at else "never used"
        print(f"{line.id}\t{state}\t{used}\t{line.name}")
    return 0


def cmd_revoke(args) -> int:
    from config.bootstrap import bootstrap
    from config.settings import load_settings
    from scheduler.services.api import revoke_any_api_token

    container = bootstrap(load_settings(args.config))
    try:
        line = revoke_any_api_token(container, args.token_id)
    finally:
        container.dispose()
    if line is None:
        print(f"tandem: there is no API token with the id “{args.token_id[:40]}”; "
              "`tandem api-token list` shows the ids", file=sys.stderr)
        return 2
    print(f"API token “{line.name}” is revoked: its next request is refused with 401.", file=sys.stderr)
    return 0


def add_parser(sub) -> None:
    api_token = sub.add_parser("api-token", help="bearer tokens of the JSON API (docs/api.md)").add_subparsers(
        dest="api_token_command", required=True)
    p = api_token.add_parser("create", help="create a token and print it once (alone on the last line of stdout)")
    scope = p.add_mutually_exclusive_group(required=True)
    scope.add_argument("--program", metavar="PROGRAM_ID", help="the program the token may see")
    scope.add_argument("--all-programs", action="store_true", help="every program: an administrator's token")
    p.add_argument("--name", required=True, help="who uses it, e.g. \"HR export\" (at most 80 characters)")
    p.set_defaults(func=cmd_create)
    p = api_token.add_parser("list", help="list tokens (id, state, last use, name); never the tokens themselves")
    scope = p.add_mutually_exclusive_group(required=True)
    scope.add_argument("--program", metavar="PROGRAM_ID", help="the program's tokens")
    scope.add_argument("--all-programs", action="store_true", help="the administrators' tokens for every program")
    p.set_defaults(func=cmd_list)
    p = api_token.add_parser("revoke", help="revoke a token by its id (any scope)")
    p.add_argument("token_id", metavar="TOKEN_ID", help="the id `tandem api-token list` shows")
    p.set_defaults(func=cmd_revoke)
