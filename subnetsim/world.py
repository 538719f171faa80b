"""Composition root: build the world of a scenario and run it.

``build_world(scenario, seed)`` registers the scenario's neurons at genesis (in listed order, so
uids are stable), builds the chain and the agents, and starts their SimPy processes in uid order.
``run`` drives a world for a block budget, recording into a run store when one is given, and
can resume a killed run from its last checkpoint with the same final digest.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import simpy

from subnetsim.behaviours import SCRIPTED_VALIDATORS, behaviour_of
from subnetsim.miners import SERVING_BEHAVIOURS
from subnetsim.staging import Governance, stage_governance
from subnetsim.subnet.chain import BLOCK_SECONDS, Chain, Recorder
from subnetsim.subnet.config import Hyperparameters, to_dict
from subnetsim.subnet.consensus import top_k_nonzero
from subnetsim.subnet.emission import PendingEmission
from subnetsim.subnet.ledger import Commit, Ledger, RegistrationRules
from subnetsim.subnet.records import EpochRecord, canonical_json, digest, run_commitment
from subnetsim.subnet.rng import numpy_stream
from subnetsim.subnet.scenario import NeuronGroup, Scenario
from subnetsim.subnet.store.state_codec import CheckpointError, decode_state, encode_state
from subnetsim.subnet.transport.sim import SimNetwork
from subnetsim.subnet.yuma import EpochInputs, YumaParams
from subnetsim.validators.scripted import ScriptedValidator
from subnetsim.validators.submission import PendingReveal
from subnetsim.version import CODE_VERSION

__all__ = ["CHECKPOINT_TYPES", "Neuron", "RunResult", "World", "build_world", "config_json",
           "plan_neurons"]

# The only classes a checkpoint can hold (state_codec refuses every other type on load).
CHECKPOINT_TYPES = (Ledger, Hyperparameters, RegistrationRules, Commit, PendingEmission,
                    EpochRecord, EpochInputs, YumaParams, PendingReveal)
_CHAIN_FIELDS = ("pending", "minted", "halt_until", "last_epoch_block", "last_epoch")


def config_json(scenario: Any) -> str:
    """The canonical JSON of a scenario (one subnet or a network): what a run store keeps and
    block 1 commits to."""
    return canonical_json(to_dict(scenario))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Neuron:
    """Who sits on a uid (at genesis, or at the end of a run); a late joiner's plan has uid -1."""

    uid: int
    role: str
    behaviour: str
    hotkey: str
    coldkey: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RunResult:
    """Summary of a finished run (what ``subnetsim run --json`` prints, and more).

    ``neurons`` are the uids' occupants at the end (the genesis neurons unless miners joined
    or were pruned); per-uid vectors have one entry per uid slot (``max_allowed_uids``).
    """

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
    behaviour: tuple[str, ...] = ()  # of each uid's occupant ("" for an empty slot)
    # Held-out loss of what each miner serves at the end (NaN: validators, empty slots, miners
    # serving nothing valid).
    model_loss: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


class World:
    """Everything one simulation holds: the clock, the chain and the agents."""

    def __init__(self, scenario: Scenario, seed: int, recorder: Recorder | None = None,
                 start_block: int = 0, env: simpy.Environment | None = None) -> None:
        self.scenario = scenario
        self.seed = seed
        # A dTAO network runs many subnet worlds on one clock (subnetsim/network_world.py).
        self.env = env or simpy.Environment(initial_time=start_block * BLOCK_SECONDS)
        ledger = Ledger(hyper=scenario.hyperparameters, rules=scenario.registration)
        self.chain = Chain(self.env, ledger, scenario.emission, recorder=recorder,
                           netuid=scenario.netuid, owner_uid=scenario.owner_uid)
        self.chain.block = start_block
        self.chain.head_hash = run_commitment(config_json(scenario), seed, scenario.name,
                                              CODE_VERSION)
        self.chain.state_commitment = self._commit_state
        self.checkpoint: tuple[int, bytes] | None = None  # the latest committed state
        self.governance_state: dict[str, Any] | None = None  # restored, for a gate set up later
        self.neurons, self.joiners = plan_neurons(scenario)
        _genesis(ledger, scenario, self.neurons, self.joiners, seed)
        self.network = SimNetwork(self.env, seed, scenario.network)
        self.task: Any = None
        self.miners: Any = None
        self.governance: Governance | None = None  # the scenario's council, once started
        self.validators = self._build_agents()

    def _build_agents(self) -> list[Any]:
        """The miner pool (if any miner serves) and the validators, in uid order."""
        scenario, seed, chain = self.scenario, self.seed, self.chain
        members = _members(scenario, self.neurons, self.joiners)
        specs = _miner_specs(members)
        real_validators = any(n.role == "validator" and n.behaviour not in SCRIPTED_VALIDATORS
                              for n in self.neurons)
        if specs or real_validators:
            import torch

            from subnetsim.miners.tasks import make_task

            torch.set_num_threads(1)  # one thread: identical float results in every process
            torch.use_deterministic_algorithms(True)
            self.task = make_task(scenario.task, seed)
        if specs:
            from subnetsim.miners.miner import MinerPool

            self.miners = MinerPool(specs=specs, task=self.task, task_config=scenario.task,
                                    policy=scenario.query_policy, chain=chain, seed=seed)
            self.network.attach(self.miners)
        return _build_validators(self, members)

    def start(self, chain: bool = True) -> None:
        """Start the processes: the chain first (unless a network produces its blocks), then
        agents in uid order (validators hold the genesis uids below the miners'), then the
        miners' shared process."""
        if chain:
            self.env.process(self.chain.produce_blocks(self.env))
        for validator in self.validators:
            self.env.process(validator.validate(self.env, self.chain))
        if self.miners is not None:
            self.env.process(self.miners.serve(self.env))

    def run_for(self, seconds: float) -> None:
        """Advance the simulation by ``seconds`` (chunks give the same trajectory as one run)."""
        self.env.run(until=self.env.now + seconds)

    def run_to_block(self, block: int) -> None:
        """Advance until ``block`` has been produced (and nothing after it has happened)."""
        if block > self.chain.block:
            self.env.run(until=block * BLOCK_SECONDS + 1e-6)

    # --- checkpoints -------------------------------------------------------------------------

    def _commit_state(self, number: int) -> str | None:
        """Every ``checkpoint_every`` blocks, the state's bytes (kept for the recorder) and
        their digest (which the chain logs in the block, so a checkpoint is covered by it)."""
        if number % self.scenario.recording.checkpoint_every:
            return None
        self.checkpoint = (number, self.state())
        return digest(self.checkpoint[1])

    def state(self) -> bytes:
        """The full mutable state at a block boundary as data-only bytes (``state_codec``).

        The head hash is not part of it: it is the hash of the block the state is committed
        in, which the store holds."""
        chain = self.chain
        data = {
            "block": chain.block, **{name: getattr(chain, name) for name in _CHAIN_FIELDS},
            "reset_bond_uids": list(chain._reset_bond_uids),  # noqa: SLF001 - the chain's state
            "ledger": chain.ledger, "validators": [v.state() for v in self.validators],
            "miners": self.miners.state() if self.miners is not None else None,
            "network": self.network.state(),
            "governance": chain.governance.state() if chain.governance is not None else None,
        }
        return encode_state(data, CHECKPOINT_TYPES)

    @classmethod
    def from_state(cls, scenario: Scenario, seed: int, state: bytes, head_hash: str,
                   recorder: Recorder | None = None,
                   env: simpy.Environment | None = None) -> World:
        """Rebuild a world from a checkpoint taken by ``state`` at the block whose hash is
        ``head_hash``; CheckpointError if the bytes are not a state of this scenario."""
        data = decode_state(state, CHECKPOINT_TYPES)
        try:
            world = cls(scenario, seed, recorder=recorder, start_block=data["block"], env=env)
            world._restore(data)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            raise CheckpointError(f"checkpoint: not a state of this run ({error!r})") from None
        world.chain.head_hash = head_hash
        return world

    def _restore(self, data: dict[str, Any]) -> None:
        chain = self.chain
        if not isinstance(data["ledger"], Ledger):
            raise TypeError("the ledger is not a Ledger")
        chain.ledger = data["ledger"]
        for name in _CHAIN_FIELDS:
            setattr(chain, name, data[name])
        chain._reset_bond_uids = list(data["reset_bond_uids"])  # noqa: SLF001
        for validator, validator_state in zip(self.validators, data["validators"], strict=True):
            validator.restore(validator_state)
        if self.miners is not None:
            self.miners.restore(data["miners"])
        self.network.restore(data["network"])
        # A gate is attached by whoever sets up a council, possibly after this; it takes the
        # saved state from here then (spent nonces and brake deposits).
        self.governance_state = data["governance"]
        if self.governance_state is not None and chain.governance is not None:
            chain.governance.restore(self.governance_state)

    def attach_governance(self, gate: Any) -> None:
        """Register a council's gate on the chain; a resumed world hands it the spent nonces
        and brake state its checkpoint held, so a replayed proposal stays refused."""
        self.chain.governance = gate
        if self.governance_state is not None:
            gate.restore(self.governance_state)

    # --- results -----------------------------------------------------------------------------

    def result(self) -> RunResult:
        """The run's summary at the current block."""
        ledger, last = self.chain.ledger, self.chain.last_epoch
        n = ledger.capacity

        def field(name: str) -> np.ndarray:
            return getattr(last, name).copy() if last is not None else np.zeros(n)

        occupants = self.occupants()
        behaviour = [""] * n
        for neuron in occupants:
            behaviour[neuron.uid] = neuron.behaviour
        return RunResult(
            digest=self.chain.head_hash, blocks=self.chain.block, epochs=ledger.epoch_index,
            seed=self.seed, neurons=tuple(occupants), stake=ledger.stake.copy(),
            incentive=field("incentive"), dividends=field("dividends"),
            consensus=field("consensus"), validator_trust=field("validator_trust"),
            emission=ledger.last_emission.copy(), validator_permit=ledger.validator_permit.copy(),
            behaviour=tuple(behaviour), model_loss=self.model_losses(),
        )

    def occupants(self) -> list[Neuron]:
        """The neuron on each registered uid now, in uid order."""
        planned = {neuron.hotkey: neuron for neuron in [*self.neurons, *self.joiners]}
        hotkeys = self.chain.ledger.hotkeys
        return [dataclasses.replace(planned[hotkey], uid=uid)
                for uid, hotkey in enumerate(hotkeys)
                if self.chain.ledger.registered[uid] and hotkey in planned]

    def model_losses(self) -> np.ndarray:
        """(n,) held-out loss of what each uid's miner serves now; NaN where none."""
        if self.miners is None:
            return np.full(self.chain.ledger.capacity, np.nan)
        return self.miners.model_losses()


def build_world(scenario: Scenario, seed: int, recorder: Recorder | None = None) -> World:
    """A started world at genesis, with its council and attackers if the scenario has them."""
    world = World(scenario, seed, recorder=recorder)
    world.start()
    if scenario.governance is not None:
        world.governance = stage_governance(world, scenario.governance, scenario.attacks, seed)
    return world


def plan_neurons(scenario: Scenario) -> tuple[list[Neuron], list[Neuron]]:
    """Who a scenario puts on the chain: the genesis neurons in uid order (groups in listed
    order) and the late joiners (uid -1 until they register), with their behaviours."""
    neurons: list[Neuron] = []
    joiners: list[Neuron] = []
    for group in scenario.neurons:
        behaviour = behaviour_of(group.role, group.behaviour)
        for _ in range(group.count):
            if _joins_late(group):
                index = len(joiners)
                joiners.append(Neuron(uid=-1, role="miner", behaviour=behaviour,
                                      hotkey=f"joiner-{index}", coldkey=f"joiner-coldkey-{index}"))
                continue
            uid = len(neurons)
            neurons.append(Neuron(uid=uid, role=group.role, behaviour=behaviour,
                                  hotkey=f"{group.role}-{uid}", coldkey=f"coldkey-{uid}"))
    return neurons, joiners


def _genesis(ledger: Ledger, scenario: Scenario, neurons: list[Neuron], joiners: list[Neuron],
             seed: int) -> None:
    """Register every genesis neuron directly (no burn) and fund the late joiners' coldkeys
    for the burn; permits go to the top stakes."""
    planned = iter(neurons)
    late = iter(joiners)
    for group in scenario.neurons:
        for _ in range(group.count):
            if _joins_late(group):
                ledger.balances[next(late).coldkey] = group.balance
            else:
                _register_at_genesis(ledger, next(planned), group, seed)
    stake = ledger.stake[None, :]
    k = np.array([scenario.hyperparameters.max_allowed_validators])
    ledger.validator_permit[:] = top_k_nonzero(stake, k)[0]


def _joins_late(group: NeuronGroup) -> bool:
    return group.role == "miner" and group.miner_options().join_block > 0


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


Member = tuple[NeuronGroup, int, int, Neuron]  # group, group index, index in group, neuron


def _members(scenario: Scenario, neurons: list[Neuron], joiners: list[Neuron]) -> list[Member]:
    """Every planned neuron with its group, in plan order (genesis and late joiners)."""
    genesis, late = iter(neurons), iter(joiners)
    members: list[Member] = []
    for index, group in enumerate(scenario.neurons):
        source = late if _joins_late(group) else genesis
        members.extend((group, index, member, next(source)) for member in range(group.count))
    return members


def _miner_specs(members: list[Member]) -> list[Any]:
    """One spec per serving miner (idle miners serve nothing), keyed in plan order."""
    serving = [m for m in members
               if m[0].role == "miner" and m[3].behaviour in SERVING_BEHAVIOURS]
    if not serving:
        return []
    from subnetsim.miners.miner import MinerSpec

    return [MinerSpec.planned(key=key, hotkey=neuron.hotkey, coldkey=neuron.coldkey,
                              behaviour=neuron.behaviour, options=group.miner_options(),
                              group=index, member=member, count=group.count)
            for key, (group, index, member, neuron) in enumerate(serving)]


def _build_validators(world: World, members: list[Member]) -> list[Any]:
    """Validators in uid order: scripted ones (``fixed``/``random``) or real agents."""
    owned: dict[str, list[str]] = {}  # operator -> hotkeys of its miners
    for group, _, _, neuron in members:
        if group.role == "miner" and group.options.get("operator"):
            owned.setdefault(group.options["operator"], []).append(neuron.hotkey)
    validators: list[Any] = []
    miner_uids = tuple(n.uid for n in world.neurons if n.role == "miner")
    for group, _, _, neuron in members:
        if group.role != "validator":
            continue
        if neuron.behaviour in SCRIPTED_VALIDATORS:
            validators.append(ScriptedValidator.for_uid(
                uid=neuron.uid, hotkey=neuron.hotkey, coldkey=neuron.coldkey,
                behaviour=neuron.behaviour, seed=world.seed, capacity=world.chain.ledger.capacity,
                miner_uids=miner_uids))
            continue
        from subnetsim.validators.validator import Validator

        options = group.validator_options()
        validators.append(Validator(
            uid=neuron.uid, hotkey=neuron.hotkey, behaviour=neuron.behaviour, options=options,
            validation=world.scenario.validation, batch=world.scenario.task.batch,
            task=world.task, network=world.network,
            own_hotkeys=tuple(owned.get(options.operator, ())) if options.operator else (),
            capacity=world.chain.ledger.capacity, seed=world.seed,
        ))
    return validators
