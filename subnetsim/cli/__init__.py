"""The ``subnetsim`` command line.

Every user mistake (bad file, bad value, unknown key) ends as one line on stderr and exit code
2; ``--help`` on each command explains it. Commands are small functions that parse, call the
library and print; the work happens in the library.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from subnetsim.catalog import DEFAULT_SNAPSHOT, shipped_path
from subnetsim.cli import report as _report
from subnetsim.cli import tune as _tune
from subnetsim.subnet.errors import SubnetSimError
from subnetsim.version import __version__

__all__ = ["main", "build_parser"]


EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (usage stays available through --help)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = _Parser(
        prog="subnetsim",
        description="Simulate a Bittensor-style subnet: Yuma Consensus, miners, validators, "
        "and a FROST-signed governance kill switch.",
    )
    parser.add_argument("--version", action="version", version=f"subnetsim {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for register in _COMMANDS:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``subnetsim`` script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or EXIT_OK)
    except SubnetSimError as error:
        return _usage_error(args.command, str(error))
    except BrokenPipeError:  # `subnetsim metagraph DB | head`: the reader has all it wanted
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        print(f"subnetsim {args.command}: interrupted", file=sys.stderr)
        return 130
    # The user's environment, not our bug: a full disk, an unwritable folder, a damaged file.
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        return _usage_error(args.command, f"{where}{error.strerror or error}")
    except sqlite3.DatabaseError as error:
        return _usage_error(args.command, f"run store unreadable ({error})")
    except MemoryError:
        return _usage_error(args.command, "out of memory (the input is too large)")


def _usage_error(command: str, message: str) -> int:
    """One line on stderr, exit 2 (a broken stderr is ignored)."""
    with contextlib.suppress(OSError):
        print(f"subnetsim {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


# --- subnetsim epoch -------------------------------------------------------------------------


def _register_epoch(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "epoch",
        help="run one Yuma Consensus epoch on a metagraph snapshot",
        description="Run one epoch of Yuma Consensus (subtensor's sparse epoch) on a metagraph "
        "snapshot and print a btcli-style table. Accepts the shipped real snapshot "
        f"({DEFAULT_SNAPSHOT}) and subnetsim's own snapshot format "
        "(docs/snapshot-format.md).",
    )
    command.add_argument("snapshot", type=Path, nargs="?",
                         help="snapshot JSON (default: the shipped SN15 snapshot)")
    _add_set_option(command)
    bonds = command.add_mutually_exclusive_group()
    bonds.add_argument("--yuma3", action="store_true", help="Yuma3 bonds (yuma3_enabled=true)")
    bonds.add_argument("--classic", action="store_true", help="classic EMA bonds (default)")
    command.add_argument("--json", action="store_true",
                         help="print uid-indexed lists as one JSON object instead of a table")
    command.add_argument("--exact", action="store_true",
                         help="subtensor's fixed-point arithmetic (arithmetic=exact): the values "
                         "the chain stores, bit for bit")
    command.add_argument("--all", action="store_true",
                         help="list every uid, not only those with a permit or a non-zero share")
    command.set_defaults(handler=_run_epoch)


def _add_set_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a hyperparameter in natural units, e.g. --set kappa=0.6 (repeatable)",
    )


def _run_epoch(args: argparse.Namespace) -> int:
    from subnetsim.subnet.config import Hyperparameters, parse_assignment, replace_dotted
    from subnetsim.subnet.snapshot import load_snapshot
    from subnetsim.subnet.yuma import YumaParams, epoch
    from subnetsim.subnet.yuma_exact import epoch_exact
    from subnetsim.tables import format_table, metagraph_columns

    snapshot = load_snapshot(args.snapshot or shipped_path(DEFAULT_SNAPSHOT))
    hyper = Hyperparameters()
    for text in args.overrides:
        key, value = parse_assignment(text)
        hyper = replace_dotted(hyper, key, value)
    if args.yuma3 or args.classic:
        hyper = replace_dotted(hyper, "yuma3_enabled", bool(args.yuma3))
    if args.exact:
        hyper = replace_dotted(hyper, "arithmetic", "exact")
    params = YumaParams.from_hyperparameters(hyper)
    if hyper.arithmetic == "exact":
        outputs = epoch_exact(snapshot.epoch_inputs(), params).outputs
    else:
        outputs = epoch(snapshot.epoch_inputs(), params)
    if args.json:
        fields = ["incentive", "dividends", "consensus", "validator_trust"]
        report = {name: getattr(outputs, name).tolist() for name in fields}
        report["emission_share"] = outputs.emission.tolist()
        report["stake"] = snapshot.stake.tolist()
        report["validator_permit"] = outputs.validator_permit.tolist()
        report["block"] = snapshot.block
        report["hyperparameters"] = {"kappa": hyper.kappa, "yuma3_enabled": hyper.yuma3_enabled,
                                     "arithmetic": hyper.arithmetic}
        print(json.dumps(report))
        return EXIT_OK
    headers, rows = metagraph_columns(
        snapshot.stake, outputs.consensus, outputs.incentive, outputs.dividends,
        outputs.emission, outputs.validator_trust, outputs.validator_permit,
        only_nonzero=not args.all, emission_is_share=True,
    )
    bonds = "Yuma3" if hyper.yuma3_enabled else "classic"
    scope = "" if args.all else " (uids with a permit or a share; --all for every uid)"
    print(f"{snapshot.source}\nblock {snapshot.block}, {snapshot.n} uids, "
          f"kappa {hyper.kappa:.4f}, {bonds} bonds{scope}")
    print(format_table(headers, rows))
    return EXIT_OK


def _register_run_commands(commands: argparse._SubParsersAction) -> None:
    from subnetsim.cli.runs import register_run_commands

    register_run_commands(commands)


def _register_tui(commands: argparse._SubParsersAction) -> None:
    from subnetsim.cli.tui_command import register

    register(commands)


def _register_sweep(commands: argparse._SubParsersAction) -> None:
    from subnetsim.cli.sweep import register

    register(commands)


def _register_serve(commands: argparse._SubParsersAction) -> None:
    from subnetsim.cli.serve_command import register

    register(commands)


def _register_replay(commands: argparse._SubParsersAction) -> None:
    from subnetsim.cli.replay import register

    register(commands)


def _register_drill(commands: argparse._SubParsersAction) -> None:
    from subnetsim.cli.drill import register_drill

    def load_runner():  # governance is imported only when a drill runs
        from subnetsim.drill.runner import run_drill_file

        return run_drill_file

    register_drill(commands, load_runner)


_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _register_epoch,
    _register_run_commands,
    # more commands register below this line (one line each)
    _register_replay,
    _register_drill,
    _register_sweep,
    _tune.register,
    _report.register,
    _register_tui,
    _register_serve,
]


if __name__ == "__main__":
    sys.exit(main())
