"""``subnetsim serve``: the dashboard in a browser (textual-serve), on 127.0.0.1 only.

Every browser tab that connects gets its own ``subnetsim tui`` process, run by textual-serve
with Textual's web driver (``subnetsim tui`` sees no TTY there and knows it is served). Only
the loopback interface is bound: the dashboard can edit and save runs, so it is not offered to
the network.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from subnetsim.catalog import DEFAULT_SCENARIO, resolve
from subnetsim.cli.tui_command import SPEED_CHOICES
from subnetsim.subnet.errors import ConfigError

__all__ = ["register", "tui_command_line"]

HOST = "127.0.0.1"


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``subnetsim serve`` to the CLI."""
    command = commands.add_parser(
        "serve", help="serve the dashboard to a browser on 127.0.0.1",
        description="Serve the Textual dashboard with textual-serve: open the printed address "
        "in a browser; each tab runs its own session. Binds 127.0.0.1 only.")
    command.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO,
                         help=f"scenario TOML file or shipped name (default: {DEFAULT_SCENARIO})")
    command.add_argument("--seed", type=int, help="run seed (default: the scenario's seed)")
    command.add_argument("--blocks", type=int, help="block budget (default: the scenario's)")
    command.add_argument("--speed", choices=SPEED_CHOICES, default="100",
                         help="starting speed in blocks/s (default 100)")
    command.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                         help="change a scenario value before genesis (repeatable)")
    command.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    command.set_defaults(handler=_serve)


def tui_command_line(args: argparse.Namespace) -> str:
    """The ``subnetsim tui`` command each browser session runs."""
    words = [sys.executable, "-m", "subnetsim", "tui", str(args.scenario), "--speed", args.speed]
    if args.seed is not None:
        words += ["--seed", str(args.seed)]
    if args.blocks is not None:
        words += ["--blocks", str(args.blocks)]
    for assignment in args.set:
        words += ["--set", assignment]
    return shlex.join(words)


def _serve(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise ConfigError("--port", args.port, "must be in [1, 65535]")
    # Check the scenario and --set here: a mistake is one line now, not a dead browser tab.
    from subnetsim.subnet.scenario import apply_overrides, load_scenario

    apply_overrides(load_scenario(resolve(args.scenario)), args.set)
    if args.seed is not None and args.seed < 0:
        raise ConfigError("--seed", args.seed, "must be >= 0")
    from textual_serve.server import Server

    command = tui_command_line(args)
    print(f"subnetsim serve: http://{HOST}:{args.port}/ (Ctrl+C stops)", file=sys.stderr)
    Server(command, host=HOST, port=args.port, title="subnetsim").serve()
    return 0
