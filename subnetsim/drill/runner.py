"""Drills: an attack on a simulated subnet, the council's response, and what it achieved.

``run_drill(config, seed)`` builds the drill's world with ``subnetsim.world.build_world`` (the
composition root stages the council, the monitor and the attackers from the scenario's
``[governance]`` and ``[[attacks]]``, exactly as for ``subnetsim tui``), runs the block budget
and returns a ``DrillReport``. A drill is a pure function of (drill file, seed).
"""

from __future__ import annotations

from pathlib import Path

from subnetsim.drill.config import DrillConfig, load_drill
from subnetsim.drill.log import DrillLog
from subnetsim.drill.report import DrillReport, DrillRun, build_report
from subnetsim.subnet.errors import ConfigError
from subnetsim.world import World, build_world

__all__ = ["load_drill", "run_drill", "run_drill_file", "simulate_drill"]


def run_drill(config: DrillConfig, seed: int | None = None) -> DrillReport:
    """Run a drill (seed: the drill file's unless given) and report on it."""
    return build_report(simulate_drill(config, seed))


def run_drill_file(path: str | Path, seed: int | None = None) -> DrillReport:
    """Load a drill TOML file and run it."""
    return run_drill(load_drill(path), seed)


def simulate_drill(config: DrillConfig, seed: int | None = None) -> DrillRun:
    """Run a drill and keep everything it produced."""
    seed = config.scenario.seed if seed is None else seed
    if seed < 0:
        raise ConfigError("seed", seed, "must be >= 0")
    log = DrillLog()
    world = build_world(config.scenario, seed, recorder=log)
    log.start(world.chain)
    world.run_to_block(config.scenario.blocks)
    return drill_run(config, world, log)


def drill_run(config: DrillConfig, world: World, log: DrillLog) -> DrillRun:
    """What a governed world has produced so far, ready for ``build_report``."""
    governance = world.governance
    if governance is None:
        raise ConfigError("governance", None, "this world has no council")
    halt_block = next((event.block for event in log.events if event.kind == "halt"), None)
    propagation = governance.propagation(halt_block) if halt_block is not None else None
    return DrillRun(config=config, seed=governance.seed, world=world,
                    council=governance.council, monitor=governance.monitor, log=log,
                    actors=governance.actors, network_id=governance.network_id,
                    halt_block=halt_block, propagation=propagation)
