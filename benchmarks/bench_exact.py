"""Exact (fixed-point) epochs against float ones: time of one epoch in each, and their ratio.

For each configuration (classic, Yuma3, Yuma3 with liquid alpha) at 64 validators x 256 uids:
the median time of one float epoch (the compiled numba kernel, ``backend="compiled"``, the
default), of the same epoch with the numpy reference (``backend="numpy"``), and of the exact
epoch (``subnet/yuma_exact.py``), and exact / float (compiled). The three are timed in turn in
every round. Target: exact at most 20x the float (compiled) epoch, measured in the same run.

Run: `.venv/bin/python benchmarks/bench_exact.py`. Results go into docs/performance.md by hand.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from subnetsim.subnet.yuma import EpochInputs, YumaParams, epoch  # noqa: E402
from subnetsim.subnet.yuma_exact import epoch_exact  # noqa: E402

SIZE = (64, 256)
TARGET_RATIO = 20.0
ROUNDS = 60
CONFIGS = {
    "classic": YumaParams(),
    "yuma3": YumaParams(yuma3_enabled=True),
    "yuma3+liquid": YumaParams(yuma3_enabled=True, liquid_alpha_enabled=True,
                               alpha_low=0.1, alpha_high=0.3),
}


def make_inputs(validators: int, uids: int, seed: int = 0) -> EpochInputs:
    """Stored state as the chain holds it: u16 weights and bonds, stake in TAO."""
    rng = np.random.default_rng(seed)
    chosen = rng.random((validators, uids)) < 0.5
    weights = rng.integers(0, 65536, size=(validators, uids)) * chosen
    stake = np.zeros(uids)
    stake[:validators] = rng.pareto(1.5, validators) * 1000 + 1
    return EpochInputs(
        stake=stake, weights=weights / 65535,
        bonds=rng.integers(0, 65536, size=(validators, uids)) / 65535,
        validator_uids=np.arange(validators), validator_permit=stake > 0,
        last_update=np.full(uids, 1000), block_at_registration=np.zeros(uids, dtype=np.int64),
        current_block=1000, recent_registration_block=640)


def interleaved_medians(functions: dict[str, object], rounds: int) -> dict[str, float]:
    """Median seconds of each function, timed in turn within every round (as bench_yuma.py
    does): a busy moment of the shared machine slows all of them alike, so their ratios hold."""
    for function in functions.values():
        function()  # warm-up (and numba compilation)
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    inputs = make_inputs(*SIZE)
    print(f"one epoch at {SIZE[0]} x {SIZE[1]}, median of {ROUNDS} rounds, timed in turn")
    print(f"{'config':<14}{'float (compiled)':>18}{'float (numpy)':>16}{'exact':>12}"
          f"{'exact/float':>13}")
    worst = 0.0
    for name, params in CONFIGS.items():
        medians = interleaved_medians({
            "compiled": lambda p=params: epoch(inputs, p),
            "numpy": lambda p=params: epoch(inputs, p, backend="numpy"),
            "exact": lambda p=params: epoch_exact(inputs, p)}, ROUNDS)
        compiled, numpy, exact = medians["compiled"], medians["numpy"], medians["exact"]
        ratio = exact / compiled
        worst = max(worst, ratio)
        print(f"{name:<14}{compiled * 1e3:>15.2f} ms{numpy * 1e3:>13.2f} ms"
              f"{exact * 1e3:>9.2f} ms{ratio:>12.1f}x")
    verdict = "meets" if worst <= TARGET_RATIO else "misses"
    print(f"worst exact/float ratio {worst:.1f}x: {verdict} the {TARGET_RATIO:.0f}x target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
