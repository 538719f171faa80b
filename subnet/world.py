"""Composition root: build the world of a scenario and run it.

``build_world(scenario, seed)`` registers the scenario's neurons at genesis (in listed order, so
uids are stable), builds the chain and the agents, and starts their SimPy processes in uid order.
``run`` drives a world for a block budget, recording into a run store when one is given, and
can resume a killed run from its last checkpoint with the same final digest.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

from subnet.chain import BLOCK_SECONDS, Chain, Recorder
from subnet.consensus import top_k_nonzero
from subnet.ledger import Ledger
from subnet.rng import numpy_stream
from subnet.scenario import NeuronGroup, Scenario
from validators.scripted import ScriptedValidator

__all__ = ["RunResult", "World", "build_world"]

VALIDATOR_BEHAVIOURS = ("fixed", "random")
MINER_BEHAVIOURS = ("idle",)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Neuron:
    """Who sits on a uid at genesis."""

    uid: int
    role: str
    behaviour: str
    hotkey: str
    coldkey: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RunResult:
    """Summary of a finished run (what ``subnetsim run --json`` prints, and more)."""

    digest: str
    blocks: int
    epochs: int
    seed: int
    neurons: tuple[Neuron, ...]
    stake: np.ndarray
    incentive: np.ndarray
    dividends: np.ndarray
    consensus: np.ndarray
    validator_trust: np.ndarray
    emission: np.ndarray  # TAO paid at the last epoch
    validator_permit: np.ndarray


class World:
    """Everything one simulation holds: the clock, the chain and the agents."""

    def __init__(self, scenario: Scenario, seed: int, recorder: Recorder | None = None,
                 start_block: int = 0) -> None:
        self.scenario = scenario
        self.seed = seed
        self.env = simpy.Environment(initial_time=start_block * BLOCK_SECONDS)
        ledger = Ledger(hyper=scenario.hyperparameters, rules=scenario.registration)
        self.chain = Chain(self.env, ledger, scenario.emission, recorder=recorder,
                           netuid=scenario.netuid)
        self.chain.block = start_block
        self.neurons = _genesis(ledger, scenario, seed)
        self.validators = _build_validators(self.neurons, ledger, seed)

    def start(self) -> None:
        """Start the processes: the chain first, then agents in uid order."""
        self.env.process(self.chain.produce_blocks(self.env))
        for validator in self.validators:
            self.env.process(validator.validate(self.env, self.chain))

    def run_for(self, seconds: float) -> None:
        """Advance the simulation by ``seconds`` (chunks give the same trajectory as one run)."""
        self.env.run(until=self.env.now + seconds)

    def run_to_block(self, block: int) -> None:
        """Advance until ``block`` has been produced (and nothing after it has happened)."""
        if block > self.chain.block:
            self.env.run(until=block * BLOCK_SECONDS + 1e-6)

    # --- checkpoints -------------------------------------------------------------------------

    def state(self) -> bytes:
        """The full mutable state at a block boundary, pickled (taken by the recorder)."""
        chain = self.chain
        data = {
            "block": chain.block, "head_hash": chain.head_hash, "pending": chain.pending,
            "minted": chain.minted, "halt_until": chain.halt_until,
            "last_epoch_block": chain.last_epoch_block, "last_epoch": chain.last_epoch,
            "ledger": chain.ledger, "validators": [v.state() for v in self.validators],
        }
        return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_state(cls, scenario: Scenario, seed: int, state: bytes,
                   recorder: Recorder | None = None) -> World:
        """Rebuild a world from a checkpoint taken by ``state``."""
        data = pickle.loads(state)  # noqa: S301 - our own checkpoint, in our own run store
        world = cls(scenario, seed, recorder=recorder, start_block=data["block"])
        chain = world.chain
        chain.ledger = data["ledger"]
        for name in ("head_hash", "pending", "minted", "halt_until", "last_epoch_block",
                     "last_epoch"):
            setattr(chain, name, data[name])
        for validator, validator_state in zip(world.validators, data["validators"], strict=True):
            validator.restore(validator_state)
        return world

    # --- results -----------------------------------------------------------------------------

    def result(self) -> RunResult:
        """The run's summary at the current block."""
        ledger, last = self.chain.ledger, self.chain.last_epoch
        n = ledger.capacity
        outputs = last.outputs if last else None

        def field(name: str) -> np.ndarray:
            return getattr(outputs, name).copy() if outputs is not None else np.zeros(n)

        return RunResult(
            digest=self.chain.head_hash, blocks=self.chain.block, epochs=ledger.epoch_index,
            seed=self.seed, neurons=tuple(self.neurons), stake=ledger.stake.copy(),
            incentive=field("incentive"), dividends=field("dividends"),
            consensus=field("consensus"), validator_trust=field("validator_trust"),
            emission=ledger.last_emission.copy(), validator_permit=ledger.validator_permit.copy(),
        )


def build_world(scenario: Scenario, seed: int, recorder: Recorder | None = None) -> World:
    """A started world at genesis."""
    world = World(scenario, seed, recorder=recorder)
    world.start()
    return world


def _genesis(ledger: Ledger, scenario: Scenario, seed: int) -> list[Neuron]:
    """Register every neuron of the scenario directly (genesis state, no burn)."""
    neurons: list[Neuron] = []
    for group in scenario.neurons:
        behaviour = group.behaviour or ("fixed" if group.role == "validator" else "idle")
        _check_behaviour(group, behaviour)
        for _ in range(group.count):
            uid = len(neurons)
            neuron = Neuron(uid=uid, role=group.role, behaviour=behaviour,
                            hotkey=f"{group.role}-{uid}", coldkey=f"coldkey-{uid}")
            _register_at_genesis(ledger, neuron, group, seed)
            neurons.append(neuron)
    stake = ledger.stake[None, :]
    k = np.array([scenario.hyperparameters.max_allowed_validators])
    ledger.validator_permit[:] = top_k_nonzero(stake, k)[0]
    return neurons


def _check_behaviour(group: NeuronGroup, behaviour: str) -> None:
    from subnet.errors import ConfigError

    allowed = VALIDATOR_BEHAVIOURS if group.role == "validator" else MINER_BEHAVIOURS
    if behaviour not in allowed:
        raise ConfigError("neurons.behaviour", behaviour,
                          f"unknown {group.role} behaviour (known: {', '.join(allowed)})")


def _register_at_genesis(ledger: Ledger, neuron: Neuron, group: NeuronGroup, seed: int) -> None:
    uid = neuron.uid
    ledger.hotkeys[uid], ledger.coldkeys[uid] = neuron.hotkey, neuron.coldkey
    ledger.registered[uid] = True
    ledger.balances[neuron.coldkey] = group.balance
    stake = group.stake
    if group.stake_spread > 0 and stake > 0:
        draw = numpy_stream(seed, "genesis.stake", uid).lognormal(0.0, group.stake_spread)
        stake *= float(draw)
    if stake > 0:
        ledger.credit_stake(neuron.coldkey, uid, stake)


def _build_validators(neurons: list[Neuron], ledger: Ledger, seed: int) -> list[Any]:
    miners = tuple(n.uid for n in neurons if n.role == "miner")
    quality = numpy_stream(seed, "world.quality").random(ledger.capacity)
    validators = []
    for neuron in neurons:
        if neuron.role != "validator":
            continue
        rng = numpy_stream(seed, "validator", neuron.uid)
        noise = numpy_stream(seed, "validator.belief", neuron.uid).normal(0, 0.05, ledger.capacity)
        validators.append(ScriptedValidator(
            uid=neuron.uid, hotkey=neuron.hotkey, coldkey=neuron.coldkey,
            behaviour=neuron.behaviour, rng=rng, belief=np.clip(quality + noise, 0.0, None),
            miner_uids=miners, next_block=1 + neuron.uid % 10,
        ))
    return validators


ProgressCallback = Callable[[int, int], None]


CODE_VERSION = "subnetsim 0.1.0"
FLUSH_EVERY = 60  # blocks between store commits (a checkpoint also commits)


def run(scenario: Scenario, seed: int, blocks: int | None = None, store: Any = None,
        resume: bool = False, progress: ProgressCallback | None = None) -> RunResult:
    """Run ``scenario`` with ``seed`` for ``blocks`` (default: the scenario's budget).

    With a ``RunStore``, every block, extrinsic, event and epoch is recorded and the world is
    checkpointed every ``recording.checkpoint_every`` blocks. ``resume=True`` continues the
    store's latest run from its last checkpoint (its saved scenario and seed win), giving the
    same final digest as an uninterrupted run.
    """
    target = scenario.blocks if blocks is None else blocks
    if store is None:
        world = build_world(scenario, seed)
        _advance(world, target, progress)
        return world.result()
    world, run_id = _open_recorded_world(scenario, seed, store, resume)
    _advance(world, target, progress)
    store.save_checkpoint(run_id, world.chain.block, world.state())
    store.set_status(run_id, "finished")
    return world.result()


def _advance(world: World, target: int, progress: ProgressCallback | None) -> None:
    chunk = 50
    while world.chain.block < target:
        world.run_to_block(min(world.chain.block + chunk, target))
        if progress is not None:
            progress(world.chain.block, target)


def _open_recorded_world(scenario: Scenario, seed: int, store: Any,
                         resume: bool) -> tuple[World, int]:
    from subnet.config import to_dict
    from subnet.records import canonical_json
    from subnet.scenario import scenario_from_dict

    holder: dict[str, World] = {}
    if resume:
        run_id = store.latest_run_id()
        info = store.run(run_id)
        scenario, seed = scenario_from_dict(_loads(info.config_json)), info.seed
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


def _loads(text: str) -> Any:
    import json

    return json.loads(text)
