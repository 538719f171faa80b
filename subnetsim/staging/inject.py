"""A drill started in a running world: its council and attacks staged at the current block.

The dashboard's drill picker records a ``start_drill`` command-log entry that carries the drill
file's ``[governance]`` and ``[[attacks]]`` as plain data, so a replay stages exactly the same
kill switch at the same block (``subnetsim.commands.apply_command``). The drill's own blocks
(attack start, replays, scheduled alarms) count from that block; the world keeps its own
neurons and its current hyperparameters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from subnetsim.staging.stage import check_attacks, stage_governance
from subnetsim.subnet.config import from_dict, to_dict
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.governance_config import AttackConfig, GovernanceConfig, check_uids
from subnetsim.subnet.scenario import Scenario

__all__ = ["drill_entry", "inject_drill"]


def drill_entry(block: int, name: str, drill: Scenario) -> dict[str, Any]:
    """The command-log entry that starts ``drill`` (a scenario with a council) after ``block``."""
    if drill.governance is None:
        raise ConfigError("governance", name, "this file has no [governance] table")
    return {"block": block, "command": "start_drill", "name": name,
            "governance": to_dict(drill.governance),
            "attacks": [to_dict(attack) for attack in drill.attacks]}


def inject_drill(world: Any, entry: Mapping[str, Any]) -> None:
    """Stage the entry's council and attacks on ``world`` now (ConfigError if it cannot be)."""
    if world.governance is not None:
        raise ConfigError("start_drill", entry.get("name"),
                          "a council already governs this world (one drill per session)")
    offset = world.chain.block
    governance = from_dict(GovernanceConfig, entry["governance"], "governance")
    monitor = governance.monitor
    governance = dataclasses.replace(governance, monitor=dataclasses.replace(
        monitor, scheduled_alarms=tuple(b + offset for b in monitor.scheduled_alarms)))
    attacks = tuple(_shifted(from_dict(AttackConfig, data, f"attacks[{index}]"), offset)
                    for index, data in enumerate(entry["attacks"]))
    check_uids(governance, attacks, int(world.chain.ledger.registered.sum()))
    check_attacks(world, attacks)
    world.governance = stage_governance(world, governance, attacks, world.seed)


def _shifted(attack: AttackConfig, offset: int) -> AttackConfig:
    return dataclasses.replace(attack, start_block=attack.start_block + offset,
                               replay_blocks=tuple(b + offset for b in attack.replay_blocks))
