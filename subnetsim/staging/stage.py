"""Build a world's kill switch from its scenario: council, gate keys, monitor, attackers.

``stage_governance(world, governance, attacks, seed)`` sets up the council (two DKG group
keys), registers its keys and the network id (the chain's state hash when staged: the genesis
hash at block 0) with the chain's governance gate, and starts, in this order, the council's
members and process, the monitor, the attacks, the stakeholders' brake and an exit probe.
Every actor draws from its own keyed stream, so a governed run is still a pure function of
(scenario, seed). The composition root (``subnetsim.world.build_world``) calls it at genesis;
a dashboard drill calls it on a running world (the attack's blocks count from that block).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from subnetsim.governance.council import Council
from subnetsim.governance.monitor import Monitor
from subnetsim.staging.attacks import (
    CabalAttack,
    ExitProbe,
    ForgedHalt,
    StakeholderBrake,
    SybilFlood,
)
from subnetsim.staging.evidence import EvidenceWatcher
from subnetsim.subnet.chain import BLOCK_SECONDS
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.gossip import GossipNetwork, Propagation
from subnetsim.subnet.governance_config import AttackConfig, GovernanceConfig
from subnetsim.subnet.governance_gate import GovernanceGate, genesis_hash
from subnetsim.subnet.provenance import hotkey_public_key
from subnetsim.subnet.rng import stream_seed
from subnetsim.subnet.serving import ServingNetwork, build_serving_network

__all__ = ["Governance", "check_attacks", "stage_governance"]


@dataclasses.dataclass(eq=False, slots=True, kw_only=True)
class Governance:
    """A world's staged kill switch and the actors around it."""

    config: GovernanceConfig
    attacks: tuple[AttackConfig, ...]
    council: Council
    monitor: Monitor
    actors: dict[str, Any]
    network_id: bytes
    seed: int
    staged_at: int  # the block the council took office (0: genesis)
    serving: ServingNetwork  # every node's own HALT verifier, fed by gossip

    def propagation(self, halt_block: int) -> Propagation:
        """How the HALT that took effect in ``halt_block`` spreads over the gossip graph (the
        delays the nodes' views received it with)."""
        return Propagation(finalised_at=halt_block * BLOCK_SECONDS,
                           delays=self.serving.delays())


def stage_governance(world: Any, governance: GovernanceConfig,
                     attacks: tuple[AttackConfig, ...], seed: int) -> Governance:
    """Stage the council and the attacks on ``world`` (a started world) now."""
    check_attacks(world, attacks)  # before anything changes in the world
    chain, env = world.chain, world.env
    netuid = world.scenario.netuid
    network_id = genesis_hash(chain.ledger, netuid)
    council = Council(env, chain, governance.council, governance.response, network_id, seed)
    halt_key = council.keys["halt"].public.group_public_key
    resume_key = council.keys["resume"].public.group_public_key
    chain.governance = GovernanceGate(
        network_id=network_id, halt_key=halt_key, resume_key=resume_key, rules=governance.gate,
        evidence=governance.evidence,
        public_key_of=lambda hotkey: hotkey_public_key(seed, hotkey))
    serving = build_serving_network(
        GossipNetwork(governance.gossip, seed), chain.ledger.capacity, network_id=network_id,
        halt_key=halt_key, resume_key=resume_key, max_halt_blocks=governance.gate.max_halt_blocks)
    _connect_nodes(world, serving)
    monitor = Monitor(chain, governance.monitor, sink=council.alarms.put)
    actors = _actors(world, governance, attacks, council, seed, serving)
    council.start(env)
    env.process(monitor.watch(env))
    for actor in actors.values():
        env.process(actor.run(env))
    return Governance(config=governance, attacks=attacks, council=council, monitor=monitor,
                      actors=actors, network_id=network_id, seed=seed, staged_at=chain.block,
                      serving=serving)


def _connect_nodes(world: Any, serving: ServingNetwork) -> None:
    """Every node checks HALTs itself: the chain gossips each block's governance calls to
    them, and miners and validators ask their own view before serving or querying."""
    world.chain.observers.append(serving)
    if world.miners is not None:
        world.miners.serving = serving
    for validator in world.validators:
        validator.serving = serving


def _actors(world: Any, governance: GovernanceConfig, attacks: tuple[AttackConfig, ...],
            council: Council, seed: int, serving: ServingNetwork) -> dict[str, Any]:
    """The actors by role, in start order: the attacks (``attack``, ``attack2``, ...), the
    stakeholders' brake, an exit probe, and the evidence watcher."""
    actors: dict[str, Any] = {}
    for index, attack in enumerate(attacks):
        actor = _attack(world, attack, index, council, seed, serving)
        if actor is not None:
            actors["attack" if index == 0 else f"attack{index + 1}"] = actor
    coldkeys = [neuron.coldkey for neuron in world.neurons]
    actors["brake"] = StakeholderBrake(governance.stakeholders, world.chain, council, coldkeys)
    attackers = {uid for attack in attacks for uid in attack.validators}
    probe = _exit_probe(world, attackers)
    if probe is not None:
        actors["probe"] = probe
    actors["watcher"] = EvidenceWatcher(world.chain, serving, governance.evidence)
    return actors


def check_attacks(world: Any, attacks: tuple[AttackConfig, ...]) -> None:
    """ConfigError naming the attack if ``world`` cannot stage it (e.g. a cabal of uids that
    are not scripted ``fixed`` validators)."""
    for index, attack in enumerate(attacks):
        if attack.kind != "cabal":
            continue
        cabal = [v for v in world.validators if v.uid in attack.validators]
        if len(cabal) != len(attack.validators) or any(v.behaviour != "fixed" for v in cabal):
            raise ConfigError(f"attacks[{index}].validators", list(attack.validators),
                              "cabal members must be validators with the fixed behaviour")


def _attack(world: Any, attack: AttackConfig, index: int, council: Council, seed: int,
            serving: ServingNetwork) -> Any:
    chain = world.chain
    if attack.kind == "cabal":
        return CabalAttack(attack, chain, [v for v in world.validators
                                           if v.uid in attack.validators])
    if attack.kind == "sybil":
        return SybilFlood(attack, chain, world.neurons[attack.funding_uid].coldkey)
    if attack.kind == "forged_halt":
        netuid = world.scenario.netuid
        testnet_id = genesis_hash(chain.ledger, netuid + 1)
        testnet = Council(world.env, chain, council.config, council.plan, testnet_id,
                          stream_seed(seed, "drill.testnet") % 2**63, keys=council.keys)
        testnet.start(world.env)
        return ForgedHalt(attack, chain, council, testnet, seed, serving)
    return None  # none, agents: the scenario's own behaviours carry it


def _exit_probe(world: Any, attackers: set[int]) -> ExitProbe | None:
    """The honest validator with the most own stake withdraws one TAO once halted."""
    ledger = world.chain.ledger
    honest = [n for n in world.neurons if n.role == "validator" and n.uid not in attackers
              and ledger.stake_by_owner.get((n.coldkey, n.uid), 0.0) >= 1.0]
    if not honest:
        return None
    chosen = max(honest, key=lambda n: (ledger.stake_by_owner[(n.coldkey, n.uid)], -n.uid))
    return ExitProbe(world.chain, chosen.hotkey, chosen.coldkey, 1.0)
