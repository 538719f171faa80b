"""Sweep throughput: runs/minute of the shipped example with 1 vs 2 workers, and the batched
fast path's speed-up over re-simulating a consensus-only sweep.

Run: `make bench` or `.venv/bin/python benchmarks/bench_sweep.py [--quick]` (--quick: one
seed per point). Results go into docs/performance.md ("Sweeps") by hand: timing never sits in
a unit test. Wall time covers the whole sweep as a user waits for it: worker start-up, runs,
writing, the summary and the plots.
"""

from __future__ import annotations

import dataclasses
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from subnetsim.sweep.config import Sweep, load_sweep, resolve_sweep  # noqa: E402
from subnetsim.sweep.runner import open_executor, run_sweep  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "sweeps" / "kappa_commit_reveal.toml"
# A consensus-only sweep over the example's base scenario (commit-reveal on, as shipped).
CONSENSUS_GRID = {"kappa": {"start": 0.2, "stop": 0.8, "step": 0.1},
                  "bonds_moving_avg": [0.5, 0.8, 0.95]}


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (pool workers, once joined)."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_sweep(sweep: Sweep, executor_kind: str,
                workers: int | None) -> tuple[float, float, list]:
    """Wall seconds and CPU seconds for the whole sweep, and its per-run metric rows."""
    with tempfile.TemporaryDirectory() as folder:
        start, start_cpu = time.perf_counter(), cpu_seconds()
        with open_executor(executor_kind, workers) as executor:
            outcome = run_sweep(sweep, folder, executor)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - start_cpu
    if outcome.failed:
        raise SystemExit(f"{outcome.failed} runs failed")
    return seconds, cpu, outcome.run_rows


def with_seeds(sweep: Sweep, seeds: int) -> Sweep:
    file = dataclasses.replace(sweep.file, seeds=seeds)
    return resolve_sweep(file, sweep.base, sweep.name)


def consensus_sweep(example: Sweep, seeds: int, fast_path: bool) -> Sweep:
    file = dataclasses.replace(example.file, seeds=seeds, parameters=CONSENSUS_GRID,
                               fast_path=fast_path, metrics=("copier_dividend_ratio",
                                                             "emission_gini"))
    return resolve_sweep(file, example.base, "consensus_grid")


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    example = load_sweep(EXAMPLE)
    if quick:
        example = with_seeds(example, 1)
    print(f"example sweep {EXAMPLE.name}: {example.runs} runs "
          f"({len(example.points)} points x {len(example.run_seeds)} seeds)")
    # "cores busy" = CPU seconds / wall seconds: below the worker count, the machine lent
    # fewer cores than asked for (shared machines) or the workers waited.
    print(f"{'executor':<22}{'wall s':>10}{'runs/min':>12}{'CPU s/run':>12}{'cores busy':>12}")
    for workers in (1, 2):
        seconds, cpu, _ = timed_sweep(example, "process", workers)
        print(f"{f'process, {workers} worker(s)':<22}{seconds:>10.1f}"
              f"{60 * example.runs / seconds:>12.1f}{cpu / example.runs:>12.2f}"
              f"{cpu / seconds:>12.2f}")

    seeds = 1 if quick else 2
    simulated_sweep = consensus_sweep(example, seeds, fast_path=False)
    print(f"\nconsensus-only sweep (kappa x bonds_moving_avg): {simulated_sweep.runs} runs, "
          "serial executor")
    simulate_s, _, simulated = timed_sweep(simulated_sweep, "serial", None)
    replay_s, _, replayed = timed_sweep(consensus_sweep(example, seeds, fast_path=True),
                                        "serial", None)
    print(f"{'method':<22}{'wall s':>10}{'runs/min':>12}")
    for label, seconds in (("re-simulate", simulate_s), ("fast path (replay)", replay_s)):
        print(f"{label:<22}{seconds:>10.1f}{60 * simulated_sweep.runs / seconds:>12.1f}")
    print(f"speed-up {simulate_s / replay_s:.1f}x")
    for metric in ("copier_dividend_ratio", "emission_gini"):
        gap = max(abs(a[metric] - b[metric]) for a, b in zip(simulated, replayed, strict=True))
        print(f"max |{metric} simulated - replayed| = {gap:.2e}")


if __name__ == "__main__":
    main()
