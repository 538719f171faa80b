"""Yuma epoch speed: median time of one epoch at several sizes, and batched throughput.

Run: `make bench` or `.venv/bin/python benchmarks/bench_yuma.py`. Results go into
docs/performance.md by hand (with the machine and the date): timing never sits in a unit test.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from subnetsim.subnet.yuma import EpochInputs, YumaParams, epoch, epoch_batch  # noqa: E402

SIZES = [(64, 256), (256, 1024), (256, 4096)]
BATCH = 256


def make_inputs(validators: int, uids: int, seed: int = 0) -> EpochInputs:
    """A subnet where every validator weights a random half of the uids."""
    rng = np.random.default_rng(seed)
    chosen = rng.random((validators, uids)) < 0.5
    weights = rng.integers(0, 65536, size=(validators, uids)) * chosen
    stake = np.zeros(uids)
    stake[:validators] = rng.pareto(1.5, validators) * 1000 + 1
    return EpochInputs(
        stake=stake,
        weights=weights / 65535,
        bonds=rng.random((validators, uids)),
        validator_uids=np.arange(validators),
        validator_permit=stake > 0,
        last_update=np.full(uids, 1000),
        block_at_registration=np.zeros(uids, dtype=np.int64),
        current_block=1000,
        recent_registration_block=640,
    )


def median_seconds(function, repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"{'case':<34}{'median':>12}{'target':>12}")
    targets = {(64, 256): 0.3e-3, (256, 4096): 25e-3}
    for yuma3 in (False, True):
        params = YumaParams(yuma3_enabled=yuma3, liquid_alpha_enabled=yuma3)
        label = "yuma3+liquid" if yuma3 else "classic"
        for validators, uids in SIZES:
            inputs = make_inputs(validators, uids)
            seconds = median_seconds(lambda: epoch(inputs, params), repeats=30)  # noqa: B023
            target = targets.get((validators, uids))
            goal = f"<= {target * 1e3:.1f} ms" if target else ""
            print(f"epoch {label:<13}{validators:>4}x{uids:<6}{seconds * 1e3:>9.3f} ms{goal:>12}")
    inputs = make_inputs(64, 256)
    kappas = np.linspace(0.3, 0.7, BATCH)
    settings = [YumaParams(kappa=float(k), bonds_moving_avg=0.9 + 0.05 * (i % 2))
                for i, k in enumerate(kappas)]
    seconds = median_seconds(lambda: epoch_batch(inputs, settings), repeats=10)
    print(f"batched K={BATCH} settings 64x256      {BATCH / seconds:>9,.0f} epochs/s  (>= 20,000)")
    histories = [make_inputs(64, 256, seed) for seed in range(32)]
    seconds = median_seconds(lambda: epoch_batch(histories, YumaParams()), repeats=10)
    print(f"batched K=32 weight matrices 64x256 {32 / seconds:>9,.0f} epochs/s")


if __name__ == "__main__":
    main()
