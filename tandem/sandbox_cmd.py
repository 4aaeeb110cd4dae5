"""``tandem sandbox advance DURATION`` and ``tandem sandbox seed --pairs N [--weeks W] [--seed S]``
(docs/contracts.md §2). Both refuse to run unless ``app.demo`` is on: one line on stderr, exit 2."""
from __future__ import annotations

import sys

from scheduler.core.durations import parse_duration

REFUSED = ("tandem: the sandbox commands run only with app.demo on (set TANDEM_APP__DEMO=true or "
           "[app] demo = true in the settings file); this installation is not a sandbox")


def _container(args):
    """The container, or None (the refusal printed) when ``app.demo`` is off."""
    from config.bootstrap import bootstrap
    from config.settings import load_settings

    settings = load_settings(getattr(args, "config", None))
    if not settings.app.demo:
        print(REFUSED, file=sys.stderr)
        return None
    return bootstrap(settings)


def cmd_advance(args) -> int:
    from scheduler.services import sandbox

    try:
        duration = parse_duration(args.duration)
    except ValueError as problem:
        print(f"tandem: {problem}", file=sys.stderr)
        return 2
    container = _container(args)
    if container is None:
        return 2
    catch_up = None
    if args.here:
        from workers.drain import catch_up
    try:
        done = sandbox.advance(container, duration, catch_up)
    finally:
        container.dispose()
    print(f"sandbox clock: {done.before:%Y-%m-%d %H:%M} UTC -> {done.after:%Y-%m-%d %H:%M} UTC "
          f"({done.steps} step(s))")
    if args.here:
        print(f"ran {done.processed} due task(s) here")
    else:
        print("the running 'tandem run' (its tick and worker) now does what became due; "
              "without one, pass --here to do it in this process")
    return 0


def cmd_seed(args) -> int:
    from scheduler.services import sandbox

    container = _container(args)
    if container is None:
        return 2
    try:
        program_id = sandbox.seed_history(container, args.pairs, args.weeks, args.seed)
    finally:
        container.dispose()
    print(f"seeded {args.pairs} pair(s) with {args.weeks} week(s) of history (seed {args.seed}); program id:")
    print(program_id)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("sandbox", help="the sandbox's clock and seeded programs (app.demo only)")
    cmds = p.add_subparsers(dest="sandbox_command", required=True)
    a = cmds.add_parser("advance", help="move the sandbox clock forward and run what would have happened")
    a.add_argument("duration", help="e.g. 90m, 36h, 1d, 2w (at most 52w)")
    a.add_argument("--here", action="store_true",
                   help="run the due tasks in this process (with this process's calendars and mailer) instead "
                        "of leaving them to the running 'tandem run'")
    a.set_defaults(func=cmd_advance)
    s = cmds.add_parser("seed", help="a program of synthetic pairs with weeks of history; prints its id last")
    s.add_argument("--pairs", type=int, required=True)
    s.add_argument("--weeks", type=int, default=8)
    s.add_argument("--seed", type=int, default=1)
    s.set_defaults(func=cmd_seed)
