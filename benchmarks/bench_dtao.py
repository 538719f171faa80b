"""dTAO network speed: 128 subnets x 256 uids for one simulated day (7,200 blocks).

Each subnet: 64 scripted ``fixed`` validators with lognormal alpha stake, 192 idle miners,
tempo 360, commit-reveal off; pools and EMA prices spread over two orders of magnitude; root
stake on every validator hotkey. Scripted stakers move TAO between subnets every block (the
agents of ``subnetsim/dtao_agents.py`` when a scenario lists them). No store. Then a cProfile
of a shorter run shows where the time goes. Target: one simulated day in <= 60 s on 2 cores.

Run: `.venv/bin/python -m benchmarks dtao` is not a thing; run
`.venv/bin/python benchmarks/bench_dtao.py [SUBNETS [BLOCKS]]`. Results go into
docs/performance.md by hand (timing never sits in a unit test).
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from pathlib import Path

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


def network_scenario(subnets: int, blocks: int) -> NetworkScenario:
    """``subnets`` subnets of 256 uids each (64 validators, 192 idle miners)."""
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
    })


def main() -> int:
    subnets = int(sys.argv[1]) if len(sys.argv) > 1 else 128
    blocks = int(sys.argv[2]) if len(sys.argv) > 2 else BLOCKS_PER_DAY
    scenario = network_scenario(subnets, blocks)
    started, cpu = time.perf_counter(), time.process_time()
    world = NetworkWorld(scenario, SEED)
    world.start()
    built, built_cpu = time.perf_counter(), time.process_time()
    advance(world, blocks)
    elapsed = time.perf_counter() - started
    run_cpu = time.process_time() - built_cpu
    print(f"{subnets} subnets x 256 uids, {blocks} blocks: {elapsed:.1f} s wall (build "
          f"{built - started:.1f} s, {built_cpu - cpu:.1f} s CPU; blocks {run_cpu:.1f} s CPU, "
          f"{run_cpu / (subnets * blocks) * 1e6:.0f} us CPU per subnet-block), digest "
          f"{world.network.head_hash[:16]}")
    if blocks == BLOCKS_PER_DAY and subnets == 128:
        verdict = "meets" if elapsed <= TARGET_SECONDS else "MISSES"
        print(f"target one day <= {TARGET_SECONDS:.0f} s: {verdict}")
    profile = cProfile.Profile()
    profile.enable()
    run(network_scenario(subnets, min(blocks, 400)), SEED, blocks=min(blocks, 400))
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(14)
    return 0


if __name__ == "__main__":
    sys.exit(main())
