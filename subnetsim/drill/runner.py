"""Drills: an attack on a simulated subnet, the council's response, and what it achieved.

``run_drill(config, seed)`` builds the scenario's world with ``subnetsim.world.build_world``, sets
up a council (two DKG group keys), registers its keys and the network id (the genesis hash)
with the chain's governance gate, and starts, in this order, the council's members and
process, the monitor, the attack, the stakeholders' brake and an exit probe. It runs the block
budget, spreads the halt over the gossip network and returns a ``DrillReport``. A drill is a
pure function of (drill file, seed): every actor draws from its own keyed stream.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subnetsim.drill.attacks import (
    CabalAttack,
    ExitProbe,
    ForgedHalt,
    StakeholderBrake,
    SybilFlood,
)
from subnetsim.drill.config import DrillConfig, load_drill
from subnetsim.drill.log import DrillLog
from subnetsim.drill.report import DrillReport, DrillRun, build_report
from subnetsim.governance.council import Council
from subnetsim.governance.monitor import Monitor
from subnetsim.subnet.chain import BLOCK_SECONDS
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.gossip import GossipNetwork
from subnetsim.subnet.governance_gate import GovernanceGate, genesis_hash
from subnetsim.subnet.rng import stream_seed
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
    chain, env = world.chain, world.env
    log.start(chain)
    network_id = genesis_hash(chain.ledger, config.scenario.netuid)
    council = Council(env, chain, config.council, config.response, network_id, seed)
    chain.governance = GovernanceGate(
        network_id=network_id, halt_key=council.keys["halt"].public.group_public_key,
        resume_key=council.keys["resume"].public.group_public_key, rules=config.gate)
    monitor = Monitor(chain, config.monitor, sink=council.alarms.put)
    actors = _actors(config, world, council, network_id, seed)
    council.start(env)
    env.process(monitor.watch(env))
    for actor in actors.values():
        env.process(actor.run(env))
    world.run_to_block(config.scenario.blocks)
    halt_block = next((event.block for event in log.events if event.kind == "halt"), None)
    propagation = None
    if halt_block is not None:
        propagation = GossipNetwork(config.gossip, seed).propagate(halt_block * BLOCK_SECONDS)
    return DrillRun(config=config, seed=seed, world=world, council=council, monitor=monitor,
                    log=log, actors=actors, network_id=network_id, halt_block=halt_block,
                    propagation=propagation)


def _actors(config: DrillConfig, world: World, council: Council, network_id: bytes,
            seed: int) -> dict[str, Any]:
    """The drill's actors by role, in start order."""
    chain, attack = world.chain, config.attack
    actors: dict[str, Any] = {}
    if attack.kind == "cabal":
        cabal = [v for v in world.validators if v.uid in attack.validators]
        if len(cabal) != len(attack.validators) or any(v.behaviour != "fixed" for v in cabal):
            raise ConfigError("attack.validators", list(attack.validators),
                              "cabal members must be validators with the fixed behaviour")
        actors["attack"] = CabalAttack(attack, chain, cabal)
    elif attack.kind == "sybil":
        actors["attack"] = SybilFlood(attack, chain, world.neurons[attack.funding_uid].coldkey)
    elif attack.kind == "forged_halt":
        testnet_id = genesis_hash(chain.ledger, config.scenario.netuid + 1)
        testnet = Council(world.env, chain, config.council, config.response, testnet_id,
                          stream_seed(seed, "drill.testnet") % 2**63, keys=council.keys)
        testnet.start(world.env)
        actors["attack"] = ForgedHalt(attack, chain, council, testnet, seed)
    coldkeys = [neuron.coldkey for neuron in world.neurons]
    actors["brake"] = StakeholderBrake(config.stakeholders, chain, council, coldkeys)
    probe = _exit_probe(world, set(attack.validators))
    if probe is not None:
        actors["probe"] = probe
    return actors


def _exit_probe(world: World, attackers: set[int]) -> ExitProbe | None:
    """The honest validator with the most own stake withdraws one TAO once halted."""
    ledger = world.chain.ledger
    honest = [n for n in world.neurons if n.role == "validator" and n.uid not in attackers
              and ledger.stake_by_owner.get((n.coldkey, n.uid), 0.0) >= 1.0]
    if not honest:
        return None
    chosen = max(honest, key=lambda n: (ledger.stake_by_owner[(n.coldkey, n.uid)], -n.uid))
    return ExitProbe(world.chain, chosen.hotkey, chosen.coldkey, 1.0)
