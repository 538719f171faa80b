"""What signed replies cost: the default scenario with and without signing and verifying.

Run: `make bench` or `.venv/bin/python benchmarks/bench_signing.py [--blocks N] [--repeats N]`.
Every miner signs each answer (Ed25519 over query id, block and a BLAKE2b digest of its output)
and every validator verifies each scorable reply before scoring it (``subnet.provenance``).
This runs ``scenarios/default.toml`` in one process alternately with signing off (miners sign
nothing, validators check nothing) and on (as shipped), and prints the best time of each and
their ratio (target: at most 1.25). Both must end on the same digest: Ed25519 signatures are
deterministic and honest miners' replies verify, so signing changes no trajectory.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from subnetsim.subnet.scenario import load_scenario  # noqa: E402
from subnetsim.world import World  # noqa: E402

TARGET_RATIO = 1.25


def timed_run(blocks: int, signed: bool) -> tuple[float, float, str, int]:
    """Run default.toml for ``blocks``; (wall s, cpu s, digest, replies verified)."""
    scenario = load_scenario(ROOT / "scenarios" / "default.toml")
    world = World(scenario, scenario.seed)
    world.miners.sign_replies = signed
    for validator in world.validators:
        validator.require_signatures = signed
    world.start()
    wall, cpu = time.perf_counter(), time.process_time()
    world.run_to_block(blocks)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    answered = int(world.miners.stats[:, 1].sum())  # "answered": each one signed when on
    return wall, cpu, world.chain.head_hash, answered if signed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=3600, help="blocks of default.toml")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, alternating")
    args, _ = parser.parse_known_args()  # make bench passes every script the same options
    best: dict[bool, tuple[float, float]] = {}
    digests: dict[bool, str] = {}
    signatures = 0
    for _ in range(args.repeats):
        for signed in (False, True):
            wall, cpu, digest, answered = timed_run(args.blocks, signed)
            previous = best.get(signed, (float("inf"), float("inf")))
            best[signed] = (min(previous[0], wall), min(previous[1], cpu))
            digests[signed] = digest
            signatures = max(signatures, answered)
    print(f"{'default.toml':<14}{'blocks':>7}{'signed':>8}{'run s':>8}{'cpu s':>8}")
    for signed in (False, True):
        print(f"{'':<14}{args.blocks:>7}{'yes' if signed else 'no':>8}"
              f"{best[signed][0]:>8.2f}{best[signed][1]:>8.2f}")
    ratio = best[True][1] / best[False][1]
    print(f"signatures made and checked: {signatures:,}; cpu ratio signed/unsigned "
          f"{ratio:.3f} (target <= {TARGET_RATIO}); wall ratio "
          f"{best[True][0] / best[False][0]:.3f}; same digest: {digests[True] == digests[False]}")


if __name__ == "__main__":
    main()
