"""Yuma epoch speed: both kernels side by side, and yuma-simulation's torch Yumas if given.

For each size: the time of one epoch with the numpy reference (``backend="numpy"``) and the
compiled kernel (the default), and their ratio; then batched throughput. With ``--yuma-sim
PATH`` (a checkout of yuma-simulation; only its ``src/yuma_simulation/_internal/yumas.py`` is
loaded, which needs torch) its Yuma 2 (``Yuma``) and Yuma 3 run on the same weights and stakes.
The first line reports the compiled kernel's first-call time (compilation, or loading numba's
on-disk cache when it is warm).

Method (the standard microbenchmark one, as ``timeit`` does): each kernel is timed in blocks
of consecutive calls (steady state: its own working set in cache), the time per call is the
block's time over its calls, and the number shown is the median over several blocks. The two
kernels alternate block by block in the same run, so a busy moment on a shared machine slows
both alike and the ratio holds. Both get the same blocks. The last column, "per call", is the
ratio when every single call alternates between the kernels instead: each kernel then starts
with the other's data in the caches (numpy's ~40 temporaries evict the compiled kernel's
working set at 64 x 256), which is the harder and less usual number. CPU seconds (user and
system) and minor page faults of each kernel's blocks are printed at the end. Batches are
timed per call, alternating (one call is 256 or 32 epochs), with the median CPU seconds of a
call (all threads) beside the wall time.

The allocator is pinned first (``pin_allocator``): glibc's malloc otherwise hands numpy's
large temporaries back to the kernel and faults them in again on the next call, as much or as
little as its dynamic thresholds happen to stand after whatever ran before in the process.
Measured at 64 x 256 in one tree: numpy 1.71 ms with nothing returned (53 page faults in all
its blocks), 4.17 ms with everything returned (1.9 million faults), and anywhere between with
glibc's defaults; the compiled kernel allocates little and barely moves. Pinned, the
reference runs at its fastest and the ratio stops depending on the process's history.

Run: `make bench` or `.venv/bin/python benchmarks/bench_yuma.py [--yuma-sim PATH]`. Results go
into docs/performance.md by hand (with the machine and the date): timing never sits in a unit
test.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numba  # noqa: E402

from benchmarks.inputs import random_epoch_inputs  # noqa: E402
from subnetsim.subnet import yuma_kernel  # noqa: E402
from subnetsim.subnet.yuma import (  # noqa: E402
    EpochInputs,
    EpochOutputs,
    YumaParams,
    _packed_params,
    epoch,
    epoch_batch,
)

SIZES = [(64, 256), (256, 1024), (256, 4096)]
BATCH = 256
# Acceptance: compiled / numpy speed-up per size, and batched throughput.
SPEEDUP_TARGETS = {(64, 256): 10.0, (256, 4096): 8.0}
BATCH_TARGET = 20_000


def median_seconds(function, repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# Blocks per size (rounds, calls per block): a numpy block takes ~30-500 ms.
BLOCKS = {256: (11, 20), 1024: (7, 3), 4096: (7, 3)}


def block_medians(functions: dict[str, Callable[[], object]], rounds: int, calls: int,
                  cpu: dict[str, list[float]]) -> dict[str, float]:
    """Median seconds per call of each function, timed in blocks of ``calls`` consecutive
    calls, the functions taking turns block by block; adds each one's user and system CPU
    seconds and minor page faults to ``cpu``."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for function in functions.values():
        function()  # warm-up
    for _ in range(rounds):
        for name, function in functions.items():
            before = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            for _ in range(calls):
                function()
            times[name].append((time.perf_counter() - start) / calls)
            after = resource.getrusage(resource.RUSAGE_SELF)
            spent = cpu.setdefault(name, [0.0, 0.0, 0])
            spent[0] += after.ru_utime - before.ru_utime
            spent[1] += after.ru_stime - before.ru_stime
            spent[2] += after.ru_minflt - before.ru_minflt
    return {name: statistics.median(values) for name, values in times.items()}


def interleaved_medians(functions: dict[str, Callable[[], object]], repeats: int,
                        cpu: dict[str, float] | None = None) -> dict[str, float]:
    """Median seconds of each function, calling them in turn: on a shared machine a busy
    moment then slows every contender alike, so their ratio holds. With ``cpu``: each
    one's median process CPU seconds per call (all threads) go there."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    spent: dict[str, list[float]] = {name: [] for name in functions}
    for function in functions.values():
        function()  # warm-up
    for _ in range(repeats):
        for name, function in functions.items():
            before = time.process_time()
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
            spent[name].append(time.process_time() - before)
    if cpu is not None:
        cpu.update({name: statistics.median(values) for name, values in spent.items()})
    return {name: statistics.median(values) for name, values in times.items()}


def load_yuma_simulation(checkout: Path):
    """yuma-simulation's ``yumas.py`` as a module (it imports only torch and the stdlib)."""
    path = checkout / "src" / "yuma_simulation" / "_internal" / "yumas.py"
    spec = importlib.util.spec_from_file_location("yuma_simulation_yumas", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def yuma_sim_cases(module, inputs: EpochInputs, yuma3: bool):
    """A no-argument call of yuma-simulation's Yuma 2 or Yuma 3 on the same weights/stake."""
    import torch

    rows = inputs.validator_uids
    weights = torch.tensor(inputs.weights, dtype=torch.float32)
    stake = torch.tensor(inputs.stake[rows], dtype=torch.float32)
    bonds = torch.tensor(inputs.bonds, dtype=torch.float32)
    config = module.YumaConfig(
        simulation=module.SimulationHyperparameters(bond_penalty=1.0),
        yuma_params=module.YumaParams(liquid_alpha=yuma3),
    )
    function = module.Yuma3 if yuma3 else module.Yuma
    size = {"num_servers": inputs.n, "num_validators": len(rows)}
    return lambda: function(weights, stake, **size, use_full_matrices=True, B_old=bonds,
                            config=config)


def pin_allocator() -> None:
    """Keep freed memory in the process (glibc: ``M_TRIM_THRESHOLD`` and ``M_MMAP_THRESHOLD``
    raised to 256 MiB and 64 MiB); elsewhere, nothing to do."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD
    mallopt(-3, 64 << 20)  # M_MMAP_THRESHOLD


def main() -> None:
    pin_allocator()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yuma-sim", type=Path, help="checkout of yuma-simulation")
    args, _ = parser.parse_known_args()
    yuma_sim = load_yuma_simulation(args.yuma_sim) if args.yuma_sim else None
    if yuma_sim is not None:
        import torch

        torch.set_num_threads(1)  # like the kernels here: one epoch, one thread

    start = time.perf_counter()
    epoch(random_epoch_inputs(4, 8), YumaParams())
    epoch(random_epoch_inputs(4, 8), YumaParams(yuma3_enabled=True, liquid_alpha_enabled=True))
    first = time.perf_counter() - start
    print(f"compiled kernel first calls (compile, or load numba's cache): {first:.2f} s")
    threads = numba.get_num_threads()
    print(f"one epoch from {yuma_kernel.PARALLEL_EPOCH:,} weights on is split between "
          f"{threads} threads; '1 thread': the same epoch unsplit, in the same blocks")
    header = (f"{'case':<32}{'numpy':>11}{'compiled':>11}{'speed-up':>10}{'target':>9}"
              f"{'per call':>10}{'1 thread':>11}")
    print(header + ("   yuma-sim (torch, float32)" if yuma_sim else ""))
    cpu: dict[str, list[float]] = {}
    for yuma3 in (False, True):
        params = YumaParams(yuma3_enabled=yuma3, liquid_alpha_enabled=yuma3)
        label = "yuma3+liquid" if yuma3 else "classic"
        for validators, uids in SIZES:
            inputs = random_epoch_inputs(validators, uids)
            functions = {backend: lambda b=backend: epoch(inputs, params, backend=b)  # noqa: B023
                         for backend in ("numpy", "compiled")}
            split = validators * uids >= yuma_kernel.PARALLEL_EPOCH and threads > 1
            per_call = interleaved_medians(functions, 30 if uids <= 1024 else 10)
            if split:
                packed = _packed_params(params)
                functions["compiled, 1 thread"] = (
                    lambda: yuma_kernel.run_epoch(inputs, *packed, EpochOutputs, 1))  # noqa: B023
            seconds = block_medians(functions, *BLOCKS[uids], cpu)
            ratio = seconds["numpy"] / seconds["compiled"]
            target = SPEEDUP_TARGETS.get((validators, uids))
            goal = (f">= {target:g}x" if target else "").rjust(9)
            line = (f"epoch {label:<13}{validators:>4}x{uids:<8}{seconds['numpy'] * 1e3:>8.3f} ms"
                    f"{seconds['compiled'] * 1e3:>8.3f} ms{ratio:>9.1f}x{goal}"
                    f"{per_call['numpy'] / per_call['compiled']:>9.1f}x"
                    + (f"{seconds['compiled, 1 thread'] * 1e3:>8.3f} ms" if split else " " * 11))
            if yuma_sim is not None:
                other = median_seconds(yuma_sim_cases(yuma_sim, inputs, yuma3), 10)
                name = "Yuma 3" if yuma3 else "Yuma 2"
                line += (f"   {name} {other * 1e3:.3f} ms "
                         f"(compiled {other / seconds['compiled']:.1f}x faster)")
            print(line, flush=True)
    inputs = random_epoch_inputs(64, 256)
    kappas = np.linspace(0.3, 0.7, BATCH)
    settings = [YumaParams(kappa=float(k), bonds_moving_avg=0.9 + 0.05 * (i % 2))
                for i, k in enumerate(kappas)]
    histories = [random_epoch_inputs(64, 256, seed) for seed in range(32)]
    batch_cpu: dict[str, float] = {}
    history_cpu: dict[str, float] = {}
    seconds = interleaved_medians(
        {b: lambda b=b: epoch_batch(inputs, settings, backend=b) for b in ("numpy", "compiled")},
        10, batch_cpu,
    )
    history_seconds = interleaved_medians(
        {b: lambda b=b: epoch_batch(histories, YumaParams(), backend=b)
         for b in ("numpy", "compiled")},
        10, history_cpu,
    )
    for backend in ("numpy", "compiled"):
        print(f"batched K={BATCH} settings 64x256, {backend:<9}"
              f"{BATCH / seconds[backend]:>10,.0f} epochs/s  (>= {BATCH_TARGET:,}; a call: "
              f"{seconds[backend] * 1e3:.2f} ms wall, {batch_cpu[backend] * 1e3:.2f} ms CPU)")
    for backend in ("numpy", "compiled"):
        print(f"batched K=32 weight matrices 64x256, {backend:<9}"
              f"{32 / history_seconds[backend]:>10,.0f} epochs/s  (a call: "
              f"{history_seconds[backend] * 1e3:.2f} ms wall, "
              f"{history_cpu[backend] * 1e3:.2f} ms CPU)")
    for backend, (user, system, faults) in cpu.items():
        print(f"CPU in the single-epoch blocks, {backend:<18} user {user:6.2f} s, "
              f"system {system:5.2f} s, {faults:,} page faults")


if __name__ == "__main__":
    main()
