"""Headless runs: a world driven for a block budget, recorded into a run store or not.

``run`` is what ``subnetsim run`` and the dashboard's headless twin call. With a ``RunStore``,
every block, extrinsic, event and epoch is recorded and the world is checkpointed every
``recording.checkpoint_every`` blocks; ``resume=True`` continues the store's latest run from its
last checkpoint and ends on the same digest as an uninterrupted run.
"""

from __future__ import annotations

import json
from typing import Any

from subnetsim.commands import Progress, advance
from subnetsim.subnet.chain import Recorder
from subnetsim.subnet.config import to_dict
from subnetsim.subnet.records import canonical_json
from subnetsim.subnet.scenario import Scenario, scenario_from_dict
from subnetsim.version import __version__
from subnetsim.world import RunResult, World, build_world

__all__ = ["CODE_VERSION", "open_recorded_world", "run"]

CODE_VERSION = f"subnetsim {__version__}"
FLUSH_EVERY = 60  # blocks between store commits (a checkpoint also commits)


def run(scenario: Scenario, seed: int, blocks: int | None = None, store: Any = None,
        resume: bool = False, progress: Progress | None = None) -> RunResult:
    """Run ``scenario`` with ``seed`` for ``blocks`` (default: the scenario's budget).

    With a ``RunStore``, the run is recorded; ``resume=True`` continues the store's latest run
    from its last checkpoint (its saved scenario and seed win).
    """
    target = scenario.blocks if blocks is None else blocks
    if store is None:
        world = build_world(scenario, seed)
        advance(world, target, progress=progress)
        return world.result()
    world, run_id = open_recorded_world(scenario, seed, store, resume)
    advance(world, target, progress=progress)
    store.save_checkpoint(run_id, world.chain.block, world.state())
    store.set_status(run_id, "finished")
    return world.result()


def open_recorded_world(scenario: Scenario, seed: int, store: Any,
                        resume: bool) -> tuple[World, int]:
    """A started world recording into ``store``: a new run, or (``resume``) the store's latest
    run rebuilt from its last checkpoint with the blocks after it discarded."""
    holder: dict[str, World] = {}
    if resume:
        run_id = store.latest_run_id()
        info = store.run(run_id)
        scenario, seed = scenario_from_dict(json.loads(info.config_json)), info.seed
        checkpoint = store.latest_checkpoint(run_id)
        recorder = _store_recorder(store, run_id, scenario, holder)
        if checkpoint is None:
            store.truncate_after(run_id, 0)
            world = build_world(scenario, seed, recorder=recorder)
        else:
            store.truncate_after(run_id, checkpoint[0])
            world = World.from_state(scenario, seed, checkpoint[1], recorder=recorder)
            world.start()
    else:
        run_id = store.create_run(scenario_name=scenario.name,
                                  config_json=canonical_json(to_dict(scenario)), seed=seed,
                                  code_version=CODE_VERSION)
        world = build_world(scenario, seed, recorder=_store_recorder(store, run_id, scenario,
                                                                     holder))
    holder["world"] = world
    return world, run_id


def _store_recorder(store: Any, run_id: int, scenario: Scenario,
                    holder: dict[str, World]) -> Recorder:
    every = scenario.recording.checkpoint_every
    keep_epochs = scenario.recording.record_epochs

    def record(block, extrinsics, events, epoch_record) -> None:  # noqa: ANN001
        store.append_block(run_id, block, extrinsics, events, epoch_record if keep_epochs else None)
        if block.number % every == 0:
            store.save_checkpoint(run_id, block.number, holder["world"].state())
        elif block.number % FLUSH_EVERY == 0:
            store.flush()

    return record
