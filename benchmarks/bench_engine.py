"""Chain engine speed: simulated blocks per wall second for one simulated day.

A 256-uid subnet (64 scripted ``fixed`` validators, 192 idle miners, subtensor's default tempo
360) runs 7,200 blocks (one day at 12 s blocks) with commit-reveal on and off, without a store
and recording into a RunStore (SQLite) in a temporary directory, after an untimed warm-up
of one epoch (it loads the compiled Yuma kernel from numba's cache). Then a cProfile of the
no-store runs shows where the time goes. Target (issue 12): one simulated day in <= 1 s with
commit-reveal on (mainnet's setting, the case the issue measured) and no store; the other three
rows are for comparison (commit-reveal off sets 4,608 weight rows a day instead of sealed
commits; a store writes every block to SQLite).

Run: `make bench` or `.venv/bin/python benchmarks/bench_engine.py`. Results go into
docs/performance.md by hand (with the machine and the date): timing never sits in a unit test.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from subnetsim.run import run  # noqa: E402
from subnetsim.subnet.scenario import Scenario, scenario_from_dict  # noqa: E402
from subnetsim.subnet.store import RunStore  # noqa: E402

BLOCKS_PER_DAY = 7200
SEED = 1
TARGET_SECONDS = 1.0
PROFILE_TOP = 12
WARM_UP_BLOCKS = 400  # one epoch: loads the compiled Yuma kernel from numba's cache, untimed
# Frames that only drive the run (the SimPy kernel, the run loop, the chain's process, this
# script): left out so the profile's top shows the engine's own costs.
DRIVER_FILES = ("simpy/", "subnetsim/world.py", "subnetsim/run.py", "subnetsim/commands.py",
                "bench_engine.py", "<string>")
DRIVER_FUNCTIONS = ("produce_blocks", "produce_block")


def day_scenario(commit_reveal: bool) -> Scenario:
    """256 uids: 64 validators with lognormal stake, 192 idle miners, default hyperparameters."""
    return scenario_from_dict({
        "name": f"bench-engine-cr-{'on' if commit_reveal else 'off'}",
        "blocks": BLOCKS_PER_DAY,
        "hyperparameters": {"max_allowed_uids": 256, "tempo": 360,
                            "commit_reveal_weights_enabled": commit_reveal},
        "neurons": [
            {"role": "validator", "count": 64, "behaviour": "fixed", "stake": 1000.0,
             "stake_spread": 0.8, "balance": 100.0},
            {"role": "miner", "count": 192, "behaviour": "idle", "balance": 10.0},
        ],
    })


def seconds_for_a_day(scenario: Scenario, with_store: bool) -> tuple[float, float, str]:
    """Wall and CPU seconds of one simulated day, and the run digest (to show both modes
    agree). On a shared machine CPU seconds are the steadier figure."""
    if not with_store:
        start, cpu = time.perf_counter(), time.process_time()
        result = run(scenario, SEED, blocks=BLOCKS_PER_DAY)
        return time.perf_counter() - start, time.process_time() - cpu, result.digest
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore.open(Path(folder) / "bench.sqlite")
        try:
            start, cpu = time.perf_counter(), time.process_time()
            result = run(scenario, SEED, blocks=BLOCKS_PER_DAY, store=store)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        finally:
            store.close()
    return seconds, cpu, result.digest


def print_profile(scenario: Scenario) -> None:
    """Top functions by cumulative time of one no-store day, driver frames left out."""
    profiler = cProfile.Profile()
    profiler.enable()
    run(scenario, SEED, blocks=BLOCKS_PER_DAY)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # {(file, line, name): (cc, nc, tottime, cumtime, _)}
    total = max(entry[3] for entry in stats.values())
    rows = sorted(stats.items(), key=lambda item: item[1][3], reverse=True)
    engine = [(key, entry) for key, entry in rows
              if not any(part in key[0] for part in DRIVER_FILES) and key[0] != "~"
              and key[2] not in DRIVER_FUNCTIONS]
    print(f"\nprofile {scenario.name}, no store: top {PROFILE_TOP} by cumulative time "
          f"(of {total:.2f} s profiled; SimPy kernel, run loop and block process omitted)")
    print(f"{'cumulative':>11}{'share':>7}{'own':>9}{'calls':>9}  function")
    for (file, line, name), (_, calls, own, cumulative, _) in engine[:PROFILE_TOP]:
        where = f"{_short(file)}:{line}"
        print(f"{cumulative:>10.2f}s{cumulative / total:>7.0%}{own:>8.2f}s{calls:>9,}  "
              f"{name} ({where})")


def _short(file: str) -> str:
    parts = Path(file).parts
    for anchor in ("subnet", "validators", "numpy", "simpy"):
        if anchor in parts:
            return "/".join(parts[len(parts) - 1 - parts[::-1].index(anchor):])
    return Path(file).name


def main() -> None:
    print(f"one simulated day = {BLOCKS_PER_DAY:,} blocks; 64 validators + 192 miners, tempo 360")
    start = time.perf_counter()
    run(day_scenario(True), SEED, blocks=WARM_UP_BLOCKS)
    print(f"warm-up ({WARM_UP_BLOCKS} blocks, loads the compiled Yuma kernel, untimed): "
          f"{time.perf_counter() - start:.2f} s")
    print(f"{'case':<36}{'s / sim day':>12}{'(cpu)':>7}{'blocks/s':>11}{'target':>10}")
    digests: dict[bool, set[str]] = {}
    for commit_reveal in (True, False):
        scenario = day_scenario(commit_reveal)
        for with_store in (False, True):
            seconds, cpu, digest = seconds_for_a_day(scenario, with_store)
            digests.setdefault(commit_reveal, set()).add(digest)
            label = (f"commit-reveal {'on' if commit_reveal else 'off':<3} "
                     f"{'RunStore (SQLite)' if with_store else 'no store'}")
            target = ""
            if commit_reveal and not with_store:  # the case
                verdict = "ok" if seconds <= TARGET_SECONDS else "MISSED"
                target = f"{f'<= {TARGET_SECONDS:g} s':>8} {verdict}"
            print(f"{label:<36}{seconds:>12.2f}{cpu:>7.2f}{BLOCKS_PER_DAY / seconds:>11,.0f}"
                  f"{target}")
    same = all(len(found) == 1 for found in digests.values())
    print(f"store and no-store runs reach the same digest: {'yes' if same else 'NO'}")
    for commit_reveal in (True, False):
        print_profile(day_scenario(commit_reveal))


if __name__ == "__main__":
    main()
