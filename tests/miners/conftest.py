"""A tiny subnet for miner tests: a SimPy clock, a chain, a miner pool and a network.

Uids 0-3 are staked validators ("caller", "caller-1".."caller-3"), uid 4 an unstaked registered
hotkey ("pauper"); miners follow in the order given, miner ``key`` on uid ``5 + key``.
``ask(world, keys)`` sends one query to miners ``keys`` from a caller during a tiny SimPy
process and returns the responses and the ground truth.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import simpy

from subnetsim.miners.miner import MinerPool, MinerSpec
from subnetsim.miners.tasks import make_task
from subnetsim.subnet.chain import Chain
from subnetsim.subnet.config import Hyperparameters
from subnetsim.subnet.emission import EmissionRules
from subnetsim.subnet.ledger import Ledger, RegistrationRules
from subnetsim.subnet.scenario import MinerOptions, NetworkConfig, QueryPolicy, TaskConfig
from subnetsim.subnet.transport.sim import Query, SimNetwork

FIRST_MINER = 5  # uid of miner key 0
TASK = TaskConfig(hidden=8, depth=1, batch=8, pretrain_steps=64, learning_rate=0.05)


@dataclasses.dataclass(slots=True)
class PoolWorld:
    env: simpy.Environment
    chain: Chain
    pool: MinerPool
    network: SimNetwork


def make_pool_world(miners: list[tuple[str, dict[str, Any]]], *,
                    stake: dict[int, float] | None = None,
                    policy: QueryPolicy | None = None, network: NetworkConfig | None = None,
                    task: TaskConfig = TASK, seed: int = 0) -> PoolWorld:
    env = simpy.Environment()
    ledger = Ledger(hyper=Hyperparameters(max_allowed_uids=16), rules=RegistrationRules())
    callers = ["caller", "caller-1", "caller-2", "caller-3"]
    names = [*callers, "pauper"] + [f"miner-{i}" for i in range(len(miners))]
    for uid, name in enumerate(names):
        ledger.hotkeys[uid], ledger.coldkeys[uid] = name, f"cold-{name}"
        ledger.registered[uid] = True
        ledger.balances[f"cold-{name}"] = 100.0
    staked = {uid: 1000.0 for uid in range(len(callers))}
    staked |= {FIRST_MINER + key: amount for key, amount in (stake or {}).items()}
    for uid, amount in staked.items():
        ledger.credit_stake(ledger.coldkeys[uid], uid, amount)
    chain = Chain(env, ledger, EmissionRules())
    specs = [MinerSpec.planned(key=key, hotkey=f"miner-{key}", coldkey=f"cold-miner-{key}",
                               behaviour=behaviour, options=MinerOptions(**options), group=key,
                               member=0, count=1)
             for key, (behaviour, options) in enumerate(miners)]
    pool = MinerPool(specs=specs, task=make_task(task, seed), task_config=task,
                     policy=policy or QueryPolicy(min_stake=10.0, rate_limit=0), chain=chain,
                     seed=seed)
    net = SimNetwork(env, seed, network or NetworkConfig(latency=0.1, jitter=0.0))
    net.attach(pool)
    return PoolWorld(env=env, chain=chain, pool=pool, network=net)


def ask(world: PoolWorld, keys: list[int], caller: str = "caller", deadline: float = 4.0,
        block: int = 1, uids: list[int] | None = None) -> Any:
    """Send one query from ``caller`` to miners ``keys`` (or to raw ``uids``) inside a SimPy
    process; return ``(responses, truth)``."""
    uids = [FIRST_MINER + key for key in keys] if uids is None else uids
    inputs, truth = world.pool.task.sample(np.random.default_rng(7), TASK.batch, "query")
    box: list[Any] = []

    def process(env: simpy.Environment):
        query = Query(caller_hotkey=caller, targets=np.array(uids), payload=inputs,
                      deadline=deadline, block=block)
        box.append((yield world.network.request(query, world.chain.uid_of(caller) or 0)))

    world.env.process(process(world.env))
    world.env.run(until=world.env.now + deadline + 1.0)
    return box[0], truth


