"""Agents at scale: one simulated day of large.toml (256 uids, real batched torch inference).

Run: `make bench` or `.venv/bin/python benchmarks/bench_agents.py [--blocks N] [--profile N]
[--floor]` (on a shared machine: `setsid /tmp/prio.sh .venv/bin/python benchmarks/...`).
Prints build time (pre-training every miner), the day's wall and CPU time against the 6 s
target, queries per second (one query = one miner asked by one validator) and the top costs of a
cProfile run. CPU: the whole process's (the signing thread's included: ``subnet.signing_worker``
signs and verifies replies beside the simulation) and the simulation's main thread alone.

``--floor``: the day's floor set by its cryptography. Every answered query is signed by its
miner and every rewarded reply verified by its validator (Ed25519, libsodium); this times one
libsodium sign and one verify of a reply message (median of blocks of calls) before and after
the days (libsodium's speed on these machines drifts by up to half within minutes: the floor
uses the mean of the two), runs the day with signing off (miners sign nothing, validators check
nothing: the same trajectory, since signatures change no outcome) and on, counts the signatures
made and checked, and prints crypto CPU = signed x sign + checked x verify, and the floor =
crypto CPU / cores (were the crypto spread perfectly over every core and the rest of the
simulation free), and with the unsigned simulation's CPU spread too. Results go into
docs/performance.md by hand: timing never sits in a unit test.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nacl.bindings import crypto_sign, crypto_sign_open  # noqa: E402

from subnetsim.subnet import provenance, signing_worker  # noqa: E402
from subnetsim.subnet.scenario import load_scenario  # noqa: E402
from subnetsim.world import World  # noqa: E402

TARGET_SECONDS = 6.0  # issue 12: a large.toml day in at most 6 s (an earlier issue asked 20 s)
CALLS_PER_BLOCK = 2000  # libsodium calls per timed block
TIMED_BLOCKS = 7
WARM_UP_BLOCKS = 400  # past the first epoch: numba's cached kernels and torch's first calls


def _world(name: str, signed: bool) -> World:
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    world = World(scenario, scenario.seed)
    if not signed:  # as benchmarks/bench_signing.py: sign nothing, check nothing
        world.miners.sign_replies = False
        for validator in world.validators:
            validator.require_signatures = False
    return world


def warm_up() -> None:
    """An untimed short run, signing on (starts the signing thread) and past an epoch."""
    world = _world("large", signed=True)
    world.start()
    world.run_to_block(WARM_UP_BLOCKS)
    for validator in world.validators:
        validator.state()


def signing_counts() -> dict[str, int]:
    """The signing worker's counters so far (take differences around a run): signatures made,
    replies checked, jobs the simulation ran itself."""
    return {"signed": signing_worker.rows["sign_replies"],
            "checked": signing_worker.rows["open_replies"], "here": signing_worker.stats["here"]}


def timed_day(name: str, blocks: int, signed: bool = True) -> dict[str, float]:
    """Build and run ``name`` for ``blocks`` blocks (every round scored, so every signature
    checked); wall and CPU seconds (the process: the signing thread's included; and the
    simulation's main thread alone), query counts,
    replies signed and signatures checked (none with signing off)."""
    before = signing_counts()
    wall, cpu = time.perf_counter(), time.process_time()
    world = _world(name, signed)
    world.start()
    built_wall, built_cpu = time.perf_counter(), time.process_time()
    main = time.thread_time()
    world.run_to_block(blocks)
    stats = [v.stats for v in world.validators if hasattr(v, "stats")]  # scores every round
    end_wall, end_cpu, main = time.perf_counter(), time.process_time(), time.thread_time() - main
    queries = sum(s["ok"] + s["refused"] + s["timeout"] + s["unreachable"] for s in stats)
    return {"build": built_wall - wall, "build_cpu": built_cpu - cpu,
            "run": end_wall - built_wall, "run_cpu": end_cpu - built_cpu, "main_cpu": main,
            "total": end_wall - wall, "total_cpu": end_cpu - cpu,
            "rounds": sum(s["rounds"] for s in stats), "queries": queries,
            "signed": signing_counts()["signed"] - before["signed"],
            "checked": signing_counts()["checked"] - before["checked"],
            "digest": world.chain.head_hash}


def profile(name: str, blocks: int, top: int = 12, signed: bool = True) -> str:
    """cProfile of a shorter run: the functions with the most own time."""
    world = _world(name, signed)
    profiler = cProfile.Profile()
    profiler.enable()
    world.start()
    world.run_to_block(blocks)
    for validator in world.validators:
        validator.state()  # every round scored
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    return text.getvalue()


def crypto_seconds() -> tuple[float, float]:
    """Median seconds of one libsodium Ed25519 sign and one verify of a reply message (the
    bytes a miner signs: ``provenance.reply_message``), each over blocks of calls."""
    secret = provenance.hotkey_secret_key(0, "bench-hotkey")
    public = provenance.hotkey_public_key(0, "bench-hotkey")
    message = provenance.reply_message(bytes(provenance.QUERY_ID_BYTES), 7199,
                                       bytes(provenance.DIGEST_BYTES))
    signed = crypto_sign(message, secret)
    sign, verify = [], []
    for _ in range(TIMED_BLOCKS):
        start = time.process_time()
        for _ in range(CALLS_PER_BLOCK):
            crypto_sign(message, secret)
        sign.append((time.process_time() - start) / CALLS_PER_BLOCK)
        start = time.process_time()
        for _ in range(CALLS_PER_BLOCK):
            crypto_sign_open(signed, public)
        verify.append((time.process_time() - start) / CALLS_PER_BLOCK)
    return statistics.median(sign), statistics.median(verify)


def _day_line(name: str, blocks: int, day: dict[str, float], label: str) -> str:
    return (f"{name + '.toml':<16}{blocks:>7}{label:>8}{day['build']:>9.2f}{day['run']:>8.2f}"
            f"{day['run_cpu']:>7.2f}{day['main_cpu']:>8.2f}{day['total']:>9.2f}"
            f"{day['rounds'] / day['run']:>10,.0f}{day['queries'] / day['run']:>11,.0f}")


def floor(blocks: int) -> None:
    """Print the crypto floor of a large.toml day and the measured day, signing off and on."""
    before = crypto_seconds()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"libsodium Ed25519 per call (median of {TIMED_BLOCKS} x {CALLS_PER_BLOCK:,}), before: "
          f"sign {before[0] * 1e6:.1f} us, verify {before[1] * 1e6:.1f} us; cores {cores}")
    print(f"{'scenario':<16}{'blocks':>7}{'signed':>8}{'build s':>9}{'run s':>8}{'(cpu)':>7}"
          f"{'main':>8}{'total s':>9}{'rounds/s':>10}{'queries/s':>11}")
    days = {}
    for signed in (False, True):
        days[signed] = day = timed_day("large", blocks, signed)
        print(_day_line("large", blocks, day, "yes" if signed else "no"), flush=True)
    after = crypto_seconds()
    sign, verify = ((first + last) / 2 for first, last in zip(before, after, strict=True))
    print(f"libsodium after: sign {after[0] * 1e6:.1f} us, verify {after[1] * 1e6:.1f} us; "
          f"mean: {sign * 1e6:.1f} / {verify * 1e6:.1f} us")
    off, on = days[False], days[True]
    crypto = on["signed"] * sign + on["checked"] * verify
    assert cores
    spread = max(off["run_cpu"], (crypto + off["run_cpu"]) / cores)
    print(f"signatures: {on['signed']:,} made, {on['checked']:,} checked; crypto CPU "
          f"{crypto:.2f} s -> floor {crypto / cores:.2f} s on {cores} cores (crypto alone); "
          f"with the unsigned simulation's {off['run_cpu']:.2f} s CPU: {spread:.2f} s "
          f"(the signed day: {on['run'] / spread:.3f}x that floor); target "
          f"{TARGET_SECONDS:.0f} s; same digest signed and unsigned: "
          f"{on['digest'] == off['digest']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=7200,
                        help="blocks of large.toml (0: no timed day, the profile only)")
    parser.add_argument("--profile", type=int, default=1800, help="blocks to profile (0: skip)")
    parser.add_argument("--floor", action="store_true",
                        help="time libsodium, run the day signing off and on, print the floor")
    parser.add_argument("--unsigned", action="store_true",
                        help="the profile with signing off (what the simulation itself costs)")
    args, _ = parser.parse_known_args()  # make bench passes every script the same options
    warm_up()
    if not args.blocks:
        pass  # the profile only
    elif args.floor:
        floor(args.blocks)
    else:
        print(f"{'scenario':<16}{'blocks':>7}{'signed':>8}{'build s':>9}{'run s':>8}{'(cpu)':>7}"
              f"{'main':>8}{'total s':>9}{'rounds/s':>10}{'queries/s':>11}{'target':>10}")
        for name, blocks, target in (("large", args.blocks, TARGET_SECONDS),
                                     ("default", 3600, None)):
            day = timed_day(name, blocks)
            goal = f"<= {target:.0f} s" if target else ""
            print(f"{_day_line(name, blocks, day, 'yes')}{goal:>10}")
    if args.profile:
        print(f"\ncProfile, large.toml, {args.profile} blocks, signing "
              f"{'off' if args.unsigned else 'on'} (own time):")
        print(profile("large", args.profile, signed=not args.unsigned))


if __name__ == "__main__":
    main()
