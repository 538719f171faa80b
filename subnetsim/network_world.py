"""Composition root of a dTAO network: subnet worlds on one clock under the network's coinbase.

``NetworkWorld(scenario, seed)`` builds one ``World`` per ``[[subnets]]`` entry (its own chain,
ledger, Yuma epochs and agents, seeded by ``subnet_seed``) on a shared SimPy environment, moves
the genesis TAO balances to the network's economy, seeds each pool and the validators' root
stake, and drives every chain from one ``Network`` process. Its digest is the network's own hash
chain, whose state root covers the economy and each subnet chain's head.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from subnetsim.stakers import Staker, build_stakers
from subnetsim.subnet.chain import BLOCK_SECONDS, Recorder
from subnetsim.subnet.dtao.coinbase import AlphaSplit
from subnetsim.subnet.dtao.economy import BlockFlow, Economy, SubnetEconomy
from subnetsim.subnet.dtao.lifecycle import subnet_to_prune
from subnetsim.subnet.dtao.network import Network
from subnetsim.subnet.dtao.params import NetworkParams
from subnetsim.subnet.dtao.pool import Pool
from subnetsim.subnet.dtao.scenario import (
    NetworkScenario,
    SubnetSpec,
    subnet_scenario,
    subnet_seed,
)
from subnetsim.subnet.errors import ExtrinsicError
from subnetsim.subnet.records import digest, run_commitment
from subnetsim.subnet.store.state_codec import CheckpointError, decode_state, encode_state
from subnetsim.validators.scripted import ScriptedValidator
from subnetsim.version import CODE_VERSION
from subnetsim.world import World, config_json

__all__ = ["NETWORK_CHECKPOINT_TYPES", "NetworkResult", "NetworkWorld", "SubnetRow",
           "decode_network_state", "subnet_rows"]

NETWORK_CHECKPOINT_TYPES = (Economy, SubnetEconomy, Pool, NetworkParams, BlockFlow, AlphaSplit)
OUTSIDE = "outside"  # holder of the issuance the scenario puts outside the simulated accounts


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SubnetRow:
    """One subnet at the end of a run (``run --json``'s ``subnets`` and btcli's table)."""

    netuid: int
    name: str
    price: float
    moving_price: float
    tao_in: float
    alpha_in: float
    alpha_out: float
    emission_share: float
    tao_emission: float
    tao_in_emission: float
    root_proportion: float
    tempo: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NetworkResult:
    """Summary of a finished network run."""

    digest: str
    blocks: int
    seed: int
    issuance_tao: float
    root_tao: float
    subnets: tuple[SubnetRow, ...]
    blocks_since_epoch: dict[int, int] = dataclasses.field(default_factory=dict)


def subnet_rows(economy: Economy) -> tuple[SubnetRow, ...]:
    """Each subnet now, in netuid order (spot price, pools, the last block's flows)."""
    return tuple(SubnetRow(netuid=netuid, name=s.name, price=s.pool.price,
                           moving_price=s.moving_price, tao_in=float(s.pool.tao),
                           alpha_in=float(s.pool.alpha), alpha_out=float(s.alpha_out),
                           emission_share=s.flow.share, tao_emission=float(s.flow.tao_emission),
                           tao_in_emission=float(s.flow.tao_in),
                           root_proportion=s.flow.root_proportion, tempo=s.tempo)
                 for netuid, s in sorted(economy.subnets.items()))


class NetworkWorld:
    """The network, its subnet worlds and their agents on one clock."""

    def __init__(self, scenario: NetworkScenario, seed: int, recorder: Recorder | None = None,
                 start_block: int = 0) -> None:
        self.scenario = scenario
        self.seed = seed
        self.env = simpy.Environment(initial_time=start_block * BLOCK_SECONDS)
        # Which entry each live netuid was built from: ("subnets", i) at genesis or
        # ("registrations", i) when registered during the run.
        self.layout: dict[int, tuple[str, int]] = {}
        self.subnets: dict[int, World] = {}
        for netuid in range(1, len(scenario.subnets) + 1):
            world = self._build_subnet(netuid, ("subnets", netuid - 1), start_block)
            # Subnets that exist at genesis were registered long before it: init_new_network's
            # stagger LastEpochBlock = registration - netuid % tempo, unsaturated.
            world.chain.last_epoch_block = start_block - netuid % world.chain.hyper.tempo
        self.stakers: list[Staker] = build_stakers(scenario.stakers, seed)
        self.next_registration = 0
        self.next_halt = 0
        economy = _genesis_economy(scenario, self.subnets, self.stakers)
        self.network = Network(self.env, economy,
                               {n: w.chain for n, w in self.subnets.items()}, recorder=recorder,
                               head_hash=run_commitment(config_json(scenario), seed,
                                                        scenario.name, CODE_VERSION))
        self.network.block = start_block
        self.network.state_commitment = self._commit_state
        self.checkpoint: tuple[int, bytes] | None = None

    def spec(self, entry: tuple[str, int]) -> SubnetSpec:
        """The subnet spec of a layout entry."""
        kind, index = entry
        if kind == "registrations":
            return self.scenario.registrations[index].subnet
        return self.scenario.subnets[index]

    def _build_subnet(self, netuid: int, entry: tuple[str, int], start_block: int,
                      state: tuple[bytes, str] | None = None) -> World:
        """Subnet ``netuid``'s world from its entry (restored from ``state`` when given), with
        the owner's burn policy handed to its scripted validators."""
        spec = self.spec(entry)
        kind, index = entry
        where = f"{kind}[{index}]"
        sub_scenario = subnet_scenario(self.scenario, spec, netuid, where)
        seed = subnet_seed(self.seed, netuid if kind == "subnets" else 100_000 + index)
        if state is None:
            world = World(sub_scenario, seed, start_block=start_block, env=self.env)
        else:
            world = World.from_state(sub_scenario, seed, state[0], state[1], env=self.env)
        world.chain.state_commitment = None  # the network checkpoints the whole state
        for validator in world.validators:
            if isinstance(validator, ScriptedValidator) and spec.owner_burn > 0:
                validator.burn_uid, validator.burn_share = spec.owner_uid, spec.owner_burn
        self.layout[netuid] = entry
        self.subnets[netuid] = world
        return world

    # --- subnet registration and pruning -----------------------------------------------------

    def _registrar(self) -> Generator[simpy.Event, Any, None]:
        """SimPy process: each scheduled registration, mid-block after its block (an
        extrinsic of the next block)."""
        registrations = self.scenario.registrations
        while self.next_registration < len(registrations):
            due = registrations[self.next_registration].block
            yield self.env.timeout(max(BLOCK_SECONDS * (due + 0.5) - self.env.now, 0.0))
            self.register(self.next_registration)
            self.next_registration += 1

    def _kill_switch(self) -> Generator[simpy.Event, Any, None]:
        """SimPy process: each scheduled halt, mid-block after its block."""
        halts = self.scenario.halts
        while self.next_halt < len(halts):
            halt = halts[self.next_halt]
            yield self.env.timeout(max(BLOCK_SECONDS * (halt.block + 0.5) - self.env.now, 0.0))
            netuid = halt.netuid or None
            if netuid is None or netuid in self.network.chains:
                self.network.halt(netuid, halt.scopes, halt.until_block or None)
            self.next_halt += 1

    def register(self, index: int) -> int | None:
        """Register ``registrations[index]``: at the subnet limit the lowest-EMA mortal subnet
        is pruned first (its stakers paid out); the lock is paid, the pool opens at the median
        price, the owner's start_call follows ``start_delay`` blocks later. Returns the netuid,
        or None when refused (logged)."""
        registration = self.scenario.registrations[index]
        network, economy = self.network, self.network.economy
        now = network.block
        params = economy.params
        coldkey = registrant_coldkey(index)
        netuid = _free_netuid(economy.subnets, params.subnet_limit)
        try:
            cost = economy.registration_cost(now)
            if economy.balances.get(coldkey, 0.0) < cost:
                raise ExtrinsicError("NotEnoughBalanceToStake", f"lock cost {cost:.4f} TAO")
            if netuid is None:
                netuid = subnet_to_prune({n: (s.moving_price, s.registered_at)
                                          for n, s in economy.subnets.items()},
                                         now, params.network_immunity_period)
                if netuid is None:
                    raise ExtrinsicError("AllNetworksInImmunity")
                network.dissolve(netuid)
                self.subnets.pop(netuid)
                self.layout.pop(netuid)
            spec = registration.subnet
            start = now + max(registration.start_delay, params.start_call_delay)
            economy.open_subnet(netuid, spec.name or f"subnet{netuid}", coldkey, now,
                                spec.hyperparameters.tempo, max(start, now + 1),
                                registration.emission_enabled)
        except ExtrinsicError as error:
            network.log_event("rejected", kind="register_network", coldkey=coldkey,
                              error=error.code)
            return None
        world = self._build_subnet(netuid, ("registrations", index), now)
        world.chain.last_epoch_block = max(now - netuid % world.chain.hyper.tempo, 0)
        world.chain.ledger.balances.clear()  # its neurons bring no TAO into the network
        network.add_subnet(netuid, world.chain)
        world.start(chain=False)
        network.log_event("network_registered", netuid=netuid, coldkey=coldkey,
                          lock_tao=economy.subnets[netuid].locked)
        return netuid

    @property
    def chain(self) -> Network:
        """The block producer ``commands.advance`` reads the block number from."""
        return self.network

    @property
    def economy(self) -> Economy:
        return self.network.economy

    def start(self) -> None:
        """The network's process first, then each subnet's agents (in netuid order)."""
        self.env.process(self.network.produce_blocks(self.env))
        self.env.process(self._registrar())
        self.env.process(self._kill_switch())
        for world in self.subnets.values():
            world.start(chain=False)
        for staker in self.stakers:
            self.env.process(staker.run(self.env, self.network))

    def run_to_block(self, block: int) -> None:
        """Advance until ``block`` has been produced (and nothing after it has happened)."""
        if block > self.network.block:
            self.env.run(until=block * BLOCK_SECONDS + 1e-6)

    # --- checkpoints -------------------------------------------------------------------------

    def _commit_state(self, number: int) -> str | None:
        if number % self.scenario.recording.checkpoint_every:
            return None
        self.checkpoint = (number, self.state())
        return digest(self.checkpoint[1])

    def state(self) -> bytes:
        """The network's full state at a block boundary (data only, ``state_codec``)."""
        data = {"block": self.network.block, "economy": self.network.economy,
                "layout": [[n, *self.layout[n]] for n in sorted(self.subnets)],
                # Each subnet's state bytes as a uint8 array: it goes into the checkpoint's
                # binary body as it is (bytes would be written as hex text into its JSON head).
                "subnets": [np.frombuffer(self.subnets[n].state(), dtype=np.uint8)
                            for n in sorted(self.subnets)],
                "heads": [self.subnets[n].chain.head_hash for n in sorted(self.subnets)],
                "stakers": [staker.state() for staker in self.stakers],
                "next_registration": self.next_registration, "next_halt": self.next_halt}
        return encode_state(data, NETWORK_CHECKPOINT_TYPES)

    @classmethod
    def from_state(cls, scenario: NetworkScenario, seed: int, state: bytes, head_hash: str,
                   recorder: Recorder | None = None) -> NetworkWorld:
        """Rebuild a network from a checkpoint taken by ``state`` at the block whose hash is
        ``head_hash``; CheckpointError if the bytes are not a state of this scenario."""
        data = decode_network_state(state)
        try:
            world = cls(scenario, seed, recorder=recorder, start_block=data["block"])
            if not isinstance(data["economy"], Economy):
                raise TypeError("the economy is not an Economy")
            world.network.economy = data["economy"]
            world.subnets, world.layout = {}, {}
            for (netuid, kind, index), blob, head in zip(data["layout"], data["subnets"],
                                                         data["heads"], strict=True):
                world._build_subnet(netuid, (kind, index), data["block"], state=(blob, head))
            world.next_registration = data["next_registration"]
            world.next_halt = data["next_halt"]
            for staker, staker_state in zip(world.stakers, data["stakers"], strict=True):
                staker.restore(staker_state)
            world.network = Network(world.env, world.network.economy,
                                    {n: w.chain for n, w in world.subnets.items()},
                                    recorder=recorder, head_hash=head_hash)
            world.network.block = data["block"]
            world.network.state_commitment = world._commit_state
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            raise CheckpointError(f"checkpoint: not a state of this run ({error!r})") from None
        return world

    def blocks_since_epoch(self) -> dict[int, int]:
        """Blocks since each subnet's last epoch (btcli's TEMPO k/n)."""
        return {netuid: self.network.block - world.chain.last_epoch_block
                for netuid, world in self.subnets.items()}

    def result(self) -> NetworkResult:
        """The run's summary at the current block."""
        economy = self.network.economy
        return NetworkResult(digest=self.network.head_hash, blocks=self.network.block,
                             seed=self.seed, issuance_tao=float(economy.issuance),
                             root_tao=float(economy.root_tao), subnets=subnet_rows(economy),
                             blocks_since_epoch=self.blocks_since_epoch())


def decode_network_state(state: bytes) -> dict[str, Any]:
    """A network checkpoint's data (economy and each subnet world's state bytes)."""
    data = decode_state(state, NETWORK_CHECKPOINT_TYPES)
    if isinstance(data, dict) and isinstance(data.get("subnets"), list):
        data["subnets"] = [blob.tobytes() if isinstance(blob, np.ndarray) else blob
                           for blob in data["subnets"]]
    return data


def registrant_coldkey(index: int) -> str:
    """The coldkey that registers ``registrations[index]`` (funded at genesis)."""
    return f"registrant-{index}"


def _free_netuid(subnets: dict[int, Any], limit: int) -> int | None:
    """The lowest unused netuid under the limit, or None at the limit."""
    if len(subnets) >= limit:
        return None
    return next(n for n in range(1, limit + 1) if n not in subnets)


def _genesis_economy(scenario: NetworkScenario, worlds: dict[int, World],
                     stakers: list[Staker]) -> Economy:
    """Pools as the scenario seeds them; genesis stakes are alpha already out; every TAO
    balance moves to the network; each validator hotkey gets its root stake; stakers get
    their balances."""
    params = scenario.network
    economy = Economy(params=params)
    for staker in stakers:
        economy.balances[staker.coldkey] = staker.group.balance
    for index, registration in enumerate(scenario.registrations):
        economy.balances[registrant_coldkey(index)] = registration.balance
    for netuid, world in sorted(worlds.items()):
        spec = scenario.subnets[netuid - 1]
        ledger = world.chain.ledger
        staked = float(ledger.stake.sum())
        economy.subnets[netuid] = SubnetEconomy(
            netuid=netuid, name=world.scenario.name, owner_coldkey=world.chain.owner_coldkey(),
            pool=Pool(tao=spec.pool_tao, alpha=spec.pool_alpha, fee_rate=params.fee_rate,
                      kind=params.pool_kind),
            tempo=spec.hyperparameters.tempo, alpha_out=staked,
            registered_at=-params.network_immunity_period,
            alpha_minted=spec.pool_alpha + staked, moving_price=spec.moving_price,
            first_emission_block=1 if spec.start_block == 0 else None,
            start_call_block=spec.start_block, emission_enabled=spec.emission_enabled)
        for coldkey, amount in sorted(ledger.balances.items()):
            economy.balances[coldkey] = economy.balances.get(coldkey, 0.0) + amount
        ledger.balances.clear()
        if params.root_stake_per_validator > 0:
            for neuron in world.neurons:
                if neuron.role == "validator":
                    economy.root_stake[(neuron.coldkey, neuron.hotkey)] = \
                        params.root_stake_per_validator
    if params.initial_issuance > 0:
        economy.balances[OUTSIDE] = params.initial_issuance
    pools = sum(s.pool.tao for s in economy.subnets.values())
    economy.issuance = economy.genesis_issuance = (
        pools + economy.root_tao + sum(economy.balances.values()))
    return economy
