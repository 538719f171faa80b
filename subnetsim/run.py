"""Headless runs: a world driven for a block budget, recorded into a run store or not.

``run`` is what ``subnetsim run`` and the dashboard's headless twin call. With a ``RunStore``,
every block, extrinsic, event and epoch is recorded and the world is checkpointed every
``recording.checkpoint_every`` blocks (the block commits to the checkpoint's digest);
``resume=True`` continues the store's latest run from its last checkpoint and ends on the same
digest as an uninterrupted run. A resume first proves the checkpoint against the stored chain
(hash links from the run's commitment, the digest in its block, the ledger's state root) and
refuses anything that does not match.
"""

from __future__ import annotations

import json
from typing import Any

from subnetsim.audit import verify_checkpoint
from subnetsim.commands import Progress, advance
from subnetsim.network_world import NetworkResult, NetworkWorld
from subnetsim.subnet.chain import Recorder
from subnetsim.subnet.dtao.scenario import NetworkScenario, network_scenario_from_dict
from subnetsim.subnet.errors import ConfigError, StoreError
from subnetsim.subnet.scenario import Scenario, scenario_from_dict
from subnetsim.subnet.store.state_codec import CheckpointError
from subnetsim.version import CODE_VERSION
from subnetsim.world import RunResult, World, build_world, config_json

AnyScenario = Scenario | NetworkScenario
AnyWorld = World | NetworkWorld

__all__ = ["CODE_VERSION", "open_recorded_world", "run", "stored_scenario"]

FLUSH_EVERY = 60  # blocks between store commits (a checkpoint also commits)


def run(scenario: AnyScenario, seed: int, blocks: int | None = None, store: Any = None,
        resume: bool = False, progress: Progress | None = None) -> RunResult | NetworkResult:
    """Run ``scenario`` with ``seed`` for ``blocks`` (default: the scenario's budget).

    With a ``RunStore``, the run is recorded; ``resume=True`` continues the store's latest run
    from its last checkpoint (the caller checks that ``scenario`` and ``seed`` are the stored
    run's: ``stored_scenario``). A network scenario (``[[subnets]]``) runs a dTAO network.
    """
    target = scenario.blocks if blocks is None else blocks
    if store is None:
        world = build_any_world(scenario, seed)
        advance(world, target, progress=progress)
        return world.result()
    world, run_id = open_recorded_world(scenario, seed, store, resume)
    advance(world, target, progress=progress)
    store.finish_run(run_id)
    return world.result()


def build_any_world(scenario: AnyScenario, seed: int,
                    recorder: Recorder | None = None) -> AnyWorld:
    """A started world of either kind: one subnet, or a network of subnets."""
    if isinstance(scenario, NetworkScenario):
        network = NetworkWorld(scenario, seed, recorder=recorder)
        network.start()
        return network
    return build_world(scenario, seed, recorder=recorder)


def stored_scenario(info: Any) -> AnyScenario:
    """The scenario a stored run was started from; StoreError if its row is corrupt."""
    try:
        data = json.loads(info.config_json)
        if isinstance(data, dict) and "subnets" in data:
            return network_scenario_from_dict(data)
        return scenario_from_dict(data)
    except (ValueError, TypeError, ConfigError) as error:
        raise StoreError(f"run {info.run_id}: stored scenario is corrupt ({error})") from None


def open_recorded_world(scenario: AnyScenario, seed: int, store: Any,
                        resume: bool) -> tuple[AnyWorld, int]:
    """A started world recording into ``store`` (which becomes the run's only writer): a new
    run, or (``resume``) the store's latest run rebuilt from its last checkpoint, proven
    against the stored chain, with the blocks after it discarded."""
    holder: dict[str, AnyWorld] = {}
    if not resume:
        run_id = store.create_run(scenario_name=scenario.name, config_json=config_json(scenario),
                                  seed=seed, code_version=CODE_VERSION)
        world = build_any_world(scenario, seed, recorder=_store_recorder(store, run_id, holder))
        holder["world"] = world
        return world, run_id
    run_id = store.latest_run_id()
    store.claim_writer(run_id)
    info = store.run(run_id)
    scenario, seed = stored_scenario(info), info.seed
    recorder = _store_recorder(store, run_id, holder)
    checkpoint = store.latest_checkpoint(run_id)
    if checkpoint is None:
        store.truncate_after(run_id, 0)
        world = build_any_world(scenario, seed, recorder=recorder)
    else:
        world = _restored_world(store, run_id, scenario, seed, checkpoint, recorder)
    holder["world"] = world
    return world, run_id


def _restored_world(store: Any, run_id: int, scenario: AnyScenario, seed: int,
                    checkpoint: tuple[int, bytes], recorder: Recorder) -> AnyWorld:
    number, blob = checkpoint
    block = verify_checkpoint(store, run_id, number, blob)
    world: AnyWorld
    if isinstance(scenario, NetworkScenario):
        world = NetworkWorld.from_state(scenario, seed, blob, block.hash, recorder=recorder)
    else:
        world = World.from_state(scenario, seed, blob, block.hash, recorder=recorder)
    if world.chain.block != number or world.chain.state_root() != block.state_root:
        raise CheckpointError(f"run {run_id}: checkpoint at block {number} does not restore the"
                              " state root its block records; refusing to resume")
    store.truncate_after(run_id, number)
    world.start()
    return world


def _store_recorder(store: Any, run_id: int, holder: dict[str, AnyWorld]) -> Recorder:
    def record(block, extrinsics, events, epoch_record) -> None:  # noqa: ANN001
        world = holder["world"]
        keep_epochs = world.scenario.recording.record_epochs
        store.append_block(run_id, block, extrinsics, events, epoch_record if keep_epochs else None)
        checkpoint = world.checkpoint
        if checkpoint is not None and checkpoint[0] == block.number:
            store.save_checkpoint(run_id, block.number, checkpoint[1])
        elif block.number % FLUSH_EVERY == 0:
            store.flush()

    return record
