"""Replay a dashboard session headless: (scenario, seed, command log) -> the same digest.

A command log is a list of plain JSON entries, in the order the driver applied them, each
stamped with the block after which it took effect::

    {"block": 412, "command": "set_hyperparameter", "name": "kappa", "value": 0.6}

The driver applies commands only between chunks, and a chunk always stops right after a block
(before anything of the next block happens), so advancing a fresh world to each entry's block
and applying it there reproduces the session exactly. ``apply_command`` is the one
implementation both the driver and the replay use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from subnetsim.network_world import NetworkWorld
from subnetsim.staging.inject import drill_entry, inject_drill
from subnetsim.subnet.config import Hyperparameters, replace_dotted
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.scenario import Scenario
from subnetsim.world import World, build_world

__all__ = [
    "FIXED_AT_GENESIS",
    "apply_command",
    "check_command_log",
    "drill_entry",
    "hyperparameter_entry",
    "load_session_file",
    "advance",
    "replay",
    "validated_hyperparameters",
]

# Hyperparameters a running world cannot take: they size the ledger's arrays at genesis.
FIXED_AT_GENESIS = ("max_allowed_uids",)
COMMAND_KINDS = ("set_hyperparameter", "start_drill")


def validated_hyperparameters(hyper: Hyperparameters, name: str, value: Any) -> Hyperparameters:
    """``hyper`` with ``name`` set to ``value``; ConfigError naming the field if it cannot be."""
    if name in FIXED_AT_GENESIS:
        raise ConfigError(f"hyperparameters.{name}", value,
                          "fixed at genesis (it sizes the ledger); set it in the scenario")
    return replace_dotted(hyper, name, value, path="hyperparameters")


def hyperparameter_entry(block: int, name: str, value: Any) -> dict[str, Any]:
    """The command-log entry of a hyperparameter change applied after ``block``."""
    return {"block": block, "command": "set_hyperparameter", "name": name, "value": value}


def apply_command(world: World, entry: Mapping[str, Any]) -> None:
    """Apply one command-log entry to ``world`` now (between blocks)."""
    kind = entry.get("command")
    if kind == "set_hyperparameter":
        ledger = world.chain.ledger
        # The chain reads ledger.hyper every block, so the change is in effect from the next one.
        ledger.hyper = validated_hyperparameters(ledger.hyper, entry["name"], entry["value"])
        # Logged in the next block, so the chain covers the command log (verify compares them).
        world.chain.log_event("command", entry=dict(entry))
        return
    if kind == "start_drill":
        inject_drill(world, entry)
        return
    raise ConfigError("command", kind, f"unknown command (known: {', '.join(COMMAND_KINDS)})")


def check_command_log(entries: Any) -> list[dict[str, Any]]:
    """Validate a command log read from a file: entries with non-decreasing integer blocks."""
    if not isinstance(entries, list):
        raise ConfigError("commands", entries, "expected a list of command entries")
    last = 0
    for index, entry in enumerate(entries):
        where = f"commands[{index}]"
        if not isinstance(entry, dict) or entry.get("command") not in COMMAND_KINDS:
            raise ConfigError(where, entry, f"expected a command ({', '.join(COMMAND_KINDS)})")
        block = entry.get("block")
        if isinstance(block, bool) or not isinstance(block, int) or block < last:
            raise ConfigError(f"{where}.block", block, f"expected an integer >= {last}")
        needs = ("value",) if entry["command"] == "set_hyperparameter" else ("governance",
                                                                              "attacks")
        if not isinstance(entry.get("name"), str) or any(key not in entry for key in needs):
            raise ConfigError(where, entry, f"a {entry['command']} entry needs name and "
                              f"{' and '.join(needs)}")
        last = block
    return [dict(entry) for entry in entries]


Progress = Callable[[int, int], None]  # (block reached, target block)
CHUNK_BLOCKS = 50  # blocks between progress calls (and chances to apply commands)


def advance(world: World | NetworkWorld, to_block: int,
            commands: Sequence[Mapping[str, Any]] = (), progress: Progress | None = None) -> None:
    """Advance ``world`` to ``to_block``, applying each command after its block.

    The one advance loop: headless runs, replays of a session, the Python API and the dashboard
    all move a world with it. Commands must not lie before the world's block or after
    ``to_block`` (ConfigError naming the entry).
    """
    pending = list(commands)
    while True:
        while pending and pending[0]["block"] <= world.chain.block:
            if pending[0]["block"] < world.chain.block:
                raise ConfigError("commands", pending[0], f"block before the world's "
                                  f"block {world.chain.block}")
            if not isinstance(world, World):
                raise ConfigError("commands", pending[0], "a network run takes no commands")
            apply_command(world, pending.pop(0))
        if world.chain.block >= to_block:
            break
        stop = min(world.chain.block + CHUNK_BLOCKS, to_block)
        if pending:
            stop = min(stop, pending[0]["block"])
        world.run_to_block(stop)
        if progress is not None:
            progress(world.chain.block, to_block)
    if pending:
        raise ConfigError("commands", pending[0], f"after the last block {to_block}")


def replay(scenario: Scenario, seed: int, commands: Sequence[Mapping[str, Any]],
           blocks: int) -> str:
    """The digest of ``scenario`` run with ``seed`` to ``blocks`` under ``commands``."""
    world = build_world(scenario, seed)
    advance(world, blocks, commands)
    return world.chain.head_hash


def load_session_file(path: str | Path) -> dict[str, Any]:
    """Read a saved session (``*.session.json``): seed, blocks, digest and the command log."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(str(path), None, f"cannot read file: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), None, f"not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), data, "expected a JSON object")
    for key in ("seed", "blocks"):
        if isinstance(data.get(key), bool) or not isinstance(data.get(key), int):
            raise ConfigError(f"{path}: {key}", data.get(key), "expected an integer")
    data["commands"] = check_command_log(data.get("commands", []))
    return data
