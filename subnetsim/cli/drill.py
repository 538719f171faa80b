"""``subnetsim drill DRILL.toml [--seed N] [--json]``: an attack, the council's response, a report.

The drill itself lives in the governance package, which the subnet layer must not import, so
``subnetsim.cli`` (the composition point of the CLI) hands this module a loader for the runner.
Exit codes: 0 when every check of the drill passes, 1 when one fails, 2 for a bad file or value.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from subnetsim.catalog import resolve, shipped
from subnetsim.subnet.errors import ConfigError

__all__ = ["DrillRunner", "register_drill"]



class _Report(Protocol):
    passed: bool

    def as_json(self) -> dict[str, Any]: ...

    def text(self) -> str: ...


DrillRunner = Callable[[Path, int | None], _Report]


def register_drill(commands: argparse._SubParsersAction,
                   load_runner: Callable[[], DrillRunner]) -> None:
    """Add ``drill``; ``load_runner()`` imports the runner only when a drill runs."""
    names = ", ".join(shipped("drills"))
    command = commands.add_parser(
        "drill", help="run a governance kill-switch drill and report on it",
        description="Run an attack scenario with the governance council responding: detection, "
        "FROST threshold signing of a HALT, the chain applying it, gossip to every node, an "
        f"optional RESUME. Shipped drills (by name or path): {names}. Exit status 1 if "
        "any of the drill's checks fails.",
    )
    command.add_argument("drill", help="drill TOML file, or a shipped drill's name (e.g. cabal)")
    command.add_argument("--seed", type=int, help="run seed (default: the drill file's seed)")
    command.add_argument("--json", action="store_true",
                         help="print the report as one JSON object (the halt's message, group key "
                         "and signature in hex, verifiable with any Ed25519 verifier)")
    command.set_defaults(handler=lambda args: _run(args, load_runner))


def _run(args: argparse.Namespace, load_runner: Callable[[], DrillRunner]) -> int:
    if args.seed is not None and args.seed < 0:
        raise ConfigError("--seed", args.seed, "must be >= 0")
    report = load_runner()(resolve(args.drill, "drills", "drill"), args.seed)
    if args.json:
        print(json.dumps(report.as_json(), allow_nan=False))
    else:
        print(report.text())
    return 0 if report.passed else 1
