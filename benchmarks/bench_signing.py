"""What signed replies cost: the default scenario with and without signing and verifying.

Run: `make bench` or `.venv/bin/python benchmarks/bench_signing.py [--blocks N] [--repeats N]`
(on a shared machine: `setsid /tmp/prio.sh .venv/bin/python benchmarks/bench_signing.py`).
Every miner signs each answer (Ed25519 over query id, block and a BLAKE2b digest of its output)
and every validator verifies each scorable reply before scoring it (``subnet.provenance``);
the libsodium calls run in the signing worker (``subnet.signing_worker``, a second process),
beside the simulation (``--worker thread`` or ``inline`` to compare). This runs
``scenarios/default.toml`` in one process, in pairs of one run with signing off (miners sign
nothing, validators check nothing) and one with it on (as shipped), the order alternating from
pair to pair, after a short warm-up of each. It prints every run's wall and CPU seconds (CPU:
all of it, the signing worker's included, and the simulation's main thread alone), each
pair's signed/unsigned ratios and their medians; ``here``: rounds the simulation signed
itself because the worker was behind (``signing_worker.submit(spill=True)``). The target
(issue 17) is on run time: the median wall ratio at most 1.25. All runs must end on the same
digest: Ed25519 signatures are deterministic and honest replies verify, so signing changes no
trajectory.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from subnetsim.subnet import signing_worker  # noqa: E402
from subnetsim.subnet.scenario import load_scenario  # noqa: E402
from subnetsim.world import World  # noqa: E402

TARGET_WALL_RATIO = 1.25
WARM_UP_BLOCKS = 100  # loads numba's cached kernels and torch's first-call paths


def timed_run(blocks: int, signed: bool) -> dict[str, float | int | str]:
    """Run default.toml for ``blocks``: wall s, CPU s (all, main thread), the digest, replies
    signed and signatures checked."""
    scenario = load_scenario(ROOT / "scenarios" / "default.toml")
    world = World(scenario, scenario.seed)
    world.miners.sign_replies = signed
    for validator in world.validators:
        validator.require_signatures = signed
    world.start()
    here = signing_worker.stats["here"]
    wall, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
    world.run_to_block(blocks)
    for validator in world.validators:  # every round scored: its signatures checked
        validator.state()
    wall, cpu, main = (time.perf_counter() - wall, time.process_time() - cpu,
                       time.thread_time() - main)
    here = signing_worker.stats["here"] - here
    stats = [validator.stats for validator in world.validators]
    # checked = the replies scorable before the check: ok - invalid (after) + unsigned
    checked = sum(s["ok"] - s["invalid"] + s["unsigned"] for s in stats) if signed else 0
    signed_count = int(world.miners.stats[:, 1].sum()) if signed else 0  # "answered"
    return {"wall": wall, "cpu": cpu, "main": main, "digest": world.chain.head_hash,
            "signed": signed_count, "checked": checked, "here": here}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=3600, help="blocks of default.toml")
    parser.add_argument("--repeats", type=int, default=3, help="pairs of runs (off, on)")
    parser.add_argument("--worker", choices=signing_worker.MODES, default="thread",
                        help="where the signing runs (default: its thread)")
    args, _ = parser.parse_known_args()  # make bench passes every script the same options
    signing_worker.use(args.worker)
    for signed in (False, True):
        timed_run(min(WARM_UP_BLOCKS, args.blocks), signed)
    print(f"{'default.toml':<14}{'blocks':>7}{'pair':>5}{'signed':>8}{'wall s':>8}"
          f"{'cpu s':>8}{'main s':>8}{'signed':>9}{'checked':>9}{'here':>6}")
    runs: list[tuple[dict[str, float | int | str], dict[str, float | int | str]]] = []
    for pair in range(args.repeats):
        order = (False, True) if pair % 2 == 0 else (True, False)
        done = {}
        for signed in order:
            done[signed] = result = timed_run(args.blocks, signed)
            print(f"{'':<14}{args.blocks:>7}{pair + 1:>5}{'yes' if signed else 'no':>8}"
                  f"{result['wall']:>8.2f}{result['cpu']:>8.2f}{result['main']:>8.2f}"
                  f"{result['signed']:>9,}{result['checked']:>9,}{result['here']:>6}",
                  flush=True)
        runs.append((done[False], done[True]))
    ratios = {name: [float(on[name]) / float(off[name]) for off, on in runs]
              for name in ("wall", "cpu", "main")}
    for name, label in (("wall", "wall (run time)"), ("cpu", "CPU, all"),
                        ("main", "CPU, main thread")):
        print(f"signed/unsigned {label:<17} per pair "
              f"{' '.join(f'{ratio:.3f}' for ratio in ratios[name])}; "
              f"median {statistics.median(ratios[name]):.3f}")
    wall = statistics.median(ratios["wall"])
    digests = {str(result["digest"]) for pair in runs for result in pair}
    print(f"signing worker: {args.worker}; replies signed {runs[0][1]['signed']:,}, "
          f"signatures checked {runs[0][1]['checked']:,} per signed run; "
          f"target: median wall ratio <= {TARGET_WALL_RATIO} -> "
          f"{'met' if wall <= TARGET_WALL_RATIO else 'MISSED'}; "
          f"same digest in all {2 * len(runs)} runs: {len(digests) == 1}")


if __name__ == "__main__":
    main()
