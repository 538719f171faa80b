"""``subnetsim tui``: the dashboard, and its headless twin (``--headless``).

``subnetsim.cli`` registers this command through ``register``; the dashboard itself
(``subnetsim.tui.launch``, Textual) is imported only when it opens.
``--headless`` runs the same scenario and seed
without a UI, with ``subnetsim run``'s progress line and final table, so its digest can be
compared with a dashboard session's; with ``--replay`` it replays a saved session's command log.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from subnetsim.catalog import DEFAULT_SCENARIO
from subnetsim.cli.runs import RUNS_FOLDER
from subnetsim.subnet.errors import ConfigError

__all__ = ["register"]

SPEED_CHOICES = ("1", "2", "5", "10", "20", "50", "100", "200", "500", "1000", "max")


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``subnetsim tui`` to the CLI."""
    command = commands.add_parser(
        "tui", help="open the dashboard (or run its headless twin)",
        description="Open the Textual dashboard on a scenario: the world runs in a process "
        "of its own; pause, step, change speed, edit hyperparameters, save, run drills. Keys: "
        "space n e + - r s q ? (see ? in the app). --headless runs the same scenario and seed "
        "without the UI and prints the final metagraph and digest.",
    )
    command.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO,
                         help="scenario TOML file, or a shipped scenario's name (default: "
                         f"{DEFAULT_SCENARIO})")
    command.add_argument("--seed", type=int, help="run seed (default: the scenario's seed)")
    command.add_argument("--blocks", type=int,
                         help="block budget (default: the scenario's); the dashboard pauses "
                         "there once, the headless run stops there")
    command.add_argument("--speed", choices=SPEED_CHOICES, default="100",
                         help="starting speed in blocks/s (default 100; max: as fast as it "
                         "goes)")
    command.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                         help="change a scenario value before genesis, e.g. kappa=0.6 or "
                         "validation.top_k=8 (repeatable; the Parameters panel shows the diff)")
    command.add_argument("--paused", action="store_true", help="start paused at genesis")
    command.add_argument("--save-dir", type=Path, default=RUNS_FOLDER,
                         help="where s saves run stores and session logs (default: runs/)")
    command.add_argument("--headless", action="store_true",
                         help="no UI: run to the budget with a progress line, print the "
                         "metagraph and digest")
    command.add_argument("--replay", type=Path, metavar="SESSION.json",
                         help="with --headless: replay a saved session (its scenario, seed, "
                         "blocks and command log) and check its digest")
    command.set_defaults(handler=_tui)


def _tui(args: argparse.Namespace) -> int:
    if args.replay is not None:
        if not args.headless:
            raise ConfigError("--replay", str(args.replay), "needs --headless")
        return _replay(args)
    from subnetsim.cli.runs import cli_scenario, with_overrides

    # Either kind: one subnet, or a dTAO network (a file with [[subnets]]).
    scenario = cli_scenario(args.scenario, [])
    file_hyper = getattr(scenario, "hyperparameters", None)  # the Parameters panel's diff base
    scenario = with_overrides(scenario, args.set)
    seed = _checked_seed(scenario.seed if args.seed is None else args.seed)
    blocks = _checked_blocks(scenario.blocks if args.blocks is None else args.blocks)
    if args.headless:
        return _headless(scenario, seed, blocks)
    if not (sys.stdin.isatty() and sys.stdout.isatty()) and not _served():
        # No terminal to draw on (CI, a pipe, a cron job): run the headless twin instead of
        # painting escape codes into a file and waiting for keys that never come.
        print("subnetsim tui: no terminal; running the headless twin (--headless)",
              file=sys.stderr)
        return _headless(scenario, seed, blocks)
    return _dashboard(scenario, seed, blocks, args, file_hyper)


def _served() -> bool:
    """Whether ``subnetsim serve`` started us: the browser is the terminal (textual-serve
    runs the dashboard with Textual's web driver, and no TTY)."""
    return os.environ.get("TEXTUAL_DRIVER", "").startswith("textual.drivers.web_driver")


def _checked_seed(seed: int) -> int:
    if seed < 0:
        raise ConfigError("--seed", seed, "must be >= 0")
    return seed


def _checked_blocks(blocks: int) -> int:
    if blocks < 1:
        raise ConfigError("--blocks", blocks, "must be >= 1")
    return blocks


def _headless(scenario: Any, seed: int, blocks: int) -> int:
    from subnetsim.cli.runs import print_run_result
    from subnetsim.progress import block_progress
    from subnetsim.run import run

    with block_progress() as progress:
        result = run(scenario, seed, blocks=blocks, progress=progress)
    print_run_result(result, None, False)
    return 0


def _replay(args: argparse.Namespace) -> int:
    from subnetsim.cli.runs import print_run_result
    from subnetsim.commands import advance, load_session_file
    from subnetsim.progress import block_progress
    from subnetsim.sessions import session_scenario
    from subnetsim.world import build_world

    session = load_session_file(args.replay)
    scenario = session_scenario(session)
    seed = _checked_seed(session["seed"] if args.seed is None else args.seed)
    blocks = _checked_blocks(session["blocks"] if args.blocks is None else args.blocks)
    world = build_world(scenario, seed)
    with block_progress() as progress:
        advance(world, blocks, session["commands"], progress)
    digest = world.chain.head_hash
    print_run_result(world.result(), None, False)
    print(f"commands replayed {len(session['commands'])}")
    if (seed, blocks) != (session["seed"], session["blocks"]):
        return 0
    same = digest == session.get("digest")
    print("digest matches the saved session" if same else
          f"digest DIFFERS from the saved session ({session.get('digest')})")
    return 0 if same else 1


def _dashboard(scenario: Any, seed: int, blocks: int, args: argparse.Namespace,
               file_hyper: Any) -> int:
    # Until Textual takes the screen (importing it takes a few seconds) the terminal says why
    # it waits; the app's own status line then counts the world's build.
    print("subnetsim tui: starting the dashboard ...", file=sys.stderr, flush=True)
    # The one place the application reaches up into the dashboard (an ignored import in the
    # layer contract): only when the user asked for it, so nothing else loads Textual.
    from subnetsim.tui.launch import open_dashboard

    return open_dashboard(scenario, seed, blocks, speed=args.speed, paused=args.paused,
                          save_dir=args.save_dir, scenario_reference=str(args.scenario),
                          overrides=tuple(args.set), file_hyper=file_hyper)
