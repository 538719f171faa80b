"""dTAO network speed: 128 subnets x 256 uids for one simulated day (7,200 blocks).

Each subnet: 64 scripted ``fixed`` validators with lognormal alpha stake setting weights once a
tempo, 192 idle miners, tempo 360, commit-reveal off; pools and EMA prices spread over two
orders of magnitude; root stake on every validator hotkey. Scripted stakers
(``subnetsim/stakers.py``) trade across the subnets through the pools: 16 yield chasers, 16
momentum traders and 32 holders. Invariants are checked every block; one checkpoint is taken
at the last block; no store. Target: one simulated day in <= 60 s on 2 cores.

Run: `.venv/bin/python benchmarks/bench_dtao.py [SUBNETS [BLOCKS]] [--profile]`
(`python -m benchmarks dtao` runs it with the defaults). ``--profile`` adds a cProfile of 400
more blocks. Results go into docs/performance.md by hand (timing never sits in a unit test).
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from subnetsim.commands import advance  # noqa: E402
from subnetsim.network_world import NetworkWorld  # noqa: E402
from subnetsim.run import run  # noqa: E402
from subnetsim.subnet.dtao.scenario import (  # noqa: E402
    NetworkScenario,
    network_scenario_from_dict,
)

BLOCKS_PER_DAY = 7200
TARGET_SECONDS = 60.0
SEED = 1
STAKERS = (  # kind, count, mean blocks between decisions
    ("yield_chaser", 16, 50), ("momentum", 16, 20), ("holder", 32, 100))


def network_scenario(subnets: int, blocks: int) -> NetworkScenario:
    """``subnets`` subnets of 256 uids each (64 validators, 192 idle miners) and the stakers."""
    entries = []
    for index in range(subnets):
        price = 0.01 * 100 ** (index / max(subnets - 1, 1))  # 0.01 .. 1 TAO per alpha
        entries.append({
            "name": f"sn{index + 1}", "pool_tao": 1000.0 * price, "pool_alpha": 1000.0,
            "moving_price": min(price, 1.0),
            # Validators set weights once a tempo, as live validators roughly do.
            "hyperparameters": {"max_allowed_uids": 256, "tempo": 360,
                                "weights_rate_limit": 359,
                                "commit_reveal_weights_enabled": False},
            "neurons": [
                {"role": "validator", "count": 64, "behaviour": "fixed", "stake": 1000.0,
                 "stake_spread": 0.8, "balance": 100.0},
                {"role": "miner", "count": 192, "behaviour": "idle", "balance": 0.0},
            ],
        })
    return network_scenario_from_dict({
        "name": f"bench-dtao-{subnets}", "blocks": blocks,
        "network": {"root_stake_per_validator": 100.0, "check_invariants_every": 1},
        "recording": {"checkpoint_every": blocks},
        "subnets": entries,
        "stakers": [{"kind": kind, "count": count, "interval": interval, "balance": 500.0,
                     "trade_fraction": 0.3} for kind, count, interval in STAKERS],
    })


def main() -> int:
    args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    subnets = int(args[0]) if args else 128
    blocks = int(args[1]) if len(args) > 1 else BLOCKS_PER_DAY
    scenario = network_scenario(subnets, blocks)
    calls: Counter[str] = Counter()

    def count_calls(block: Any, extrinsics: list[Any], events: Any, epoch: Any) -> None:
        calls.update(f"{e.kind}{'' if e.accepted else ' (refused)'}" for e in extrinsics)

    started, cpu = time.perf_counter(), time.process_time()
    world = NetworkWorld(scenario, SEED, recorder=count_calls)
    world.start()
    built, built_cpu = time.perf_counter(), time.process_time()
    advance(world, blocks)
    elapsed, total_cpu = time.perf_counter() - started, time.process_time() - cpu
    run_cpu = time.process_time() - built_cpu
    print(f"{subnets} subnets x 256 uids, {blocks} blocks: {elapsed:.1f} s wall, {total_cpu:.1f} s "
          f"CPU (build {built - started:.1f} s wall, {built_cpu - cpu:.1f} s CPU; blocks "
          f"{run_cpu:.1f} s CPU, {run_cpu / (subnets * blocks) * 1e6:.0f} us CPU per "
          f"subnet-block), digest {world.network.head_hash[:16]}")
    print("stakers' calls: " + ", ".join(f"{kind} {n}" for kind, n in sorted(calls.items())))
    if blocks == BLOCKS_PER_DAY and subnets == 128:
        verdict = "meets" if elapsed <= TARGET_SECONDS else "MISSES"
        print(f"target one day <= {TARGET_SECONDS:.0f} s wall: {verdict}")
    if "--profile" in sys.argv:
        profile = cProfile.Profile()
        profile.enable()
        run(network_scenario(subnets, min(blocks, 400)), SEED, blocks=min(blocks, 400))
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(14)
    return 0


if __name__ == "__main__":
    sys.exit(main())
