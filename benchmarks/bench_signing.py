"""What signed replies cost: the default scenario with and without signing and verifying.

Run: `make bench` or `.venv/bin/python benchmarks/bench_signing.py [--blocks N] [--repeats N]`
(on a shared machine: `setsid /tmp/prio.sh .venv/bin/python benchmarks/bench_signing.py`).
Every miner signs each answer (Ed25519 over query id, block and a BLAKE2b digest of its output)
and every validator verifies each reply that earns a reward before scoring it
(``subnet.provenance``); the libsodium calls run in compiled batches on the signing worker's
thread (``subnet.signing_worker``), beside the simulation; ``--worker inline`` signs and
verifies in place instead (``--worker thread inline``: both, in the same groups). This runs
``scenarios/default.toml`` in one process, in groups of one run with signing off (miners sign
nothing, validators check nothing) and one per signing mode, after a short warm-up of each.
The runs of a group take turns, ``--chunk`` blocks at a time, the order rotating: this
machine's speed drifts by 20-40% over seconds (the same unsigned run measured 3.2 s and 4.5 s
a few seconds apart), so whole runs one after the other compare different machines, while
chunks a third of a second long see the same one. A signed chunk's time includes finishing
every signature and check it asked for (``signing_worker.drain``), so no work moves into the
next chunk: the pipeline empties 12 times a run, which costs signing a little, never helps
it (``--chunk 0``: whole runs, as before). It prints every run's wall and CPU seconds (CPU: all
threads, the signing thread's included, and the simulation's main thread alone), each
group's signed/unsigned ratios and their medians; ``here``: jobs the simulation ran itself
because the thread was behind. Last, the floor: the lowest ratio each group could have had,
its libsodium calls (timed here, per call) spread with the unsigned work over every core.
The target (issue 17) is on the default scenario's run time: the median wall ratio at most
1.25. Two kinds of runs are measured (``--runs``): *recorded*, the run as `subnetsim run
default` makes it (the world built, every block recorded in a SQLite run store: the command's
work but the interpreter's start and imports), and *bare*, the simulation alone (no store, the
world built untimed): the stricter of the two, since signing's cost is the same and the run
without it shorter. All runs must end on the same digest: Ed25519 signatures are deterministic
and honest replies verify, so signing changes no trajectory.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_agents import crypto_seconds, signing_counts  # noqa: E402
from subnetsim.commands import advance  # noqa: E402
from subnetsim.run import open_recorded_world  # noqa: E402
from subnetsim.subnet import signing_worker  # noqa: E402
from subnetsim.subnet.scenario import load_scenario  # noqa: E402
from subnetsim.subnet.store import RunStore  # noqa: E402
from subnetsim.world import World  # noqa: E402

TARGET_WALL_RATIO = 1.25
RUN_KINDS = {"recorded": "the default scenario as `subnetsim run default` runs it (building the "
                         "world, recording every block in a SQLite run store)",
             "bare": "the simulation alone (no run store; building the world not timed)"}
WARM_UP_BLOCKS = 100  # loads numba's cached kernels and torch's first-call paths


def start_world(kind: str, store: Any = None) -> World:
    """default.toml, unsigned (``kind`` "off") or signed with the worker in mode ``kind``;
    with a ``RunStore``, recorded in it as ``subnetsim run`` records a run (the world built
    and its genesis checkpoint written)."""
    signed = kind != "off"
    scenario = load_scenario(ROOT / "scenarios" / "default.toml")
    if store is not None:
        world, _ = open_recorded_world(scenario, scenario.seed, store, resume=False)
    else:
        world = World(scenario, scenario.seed)
    world.miners.sign_replies = signed  # read per query: set before the first block runs
    for validator in world.validators:
        validator.require_signatures = signed
    if store is None:
        world.start()
    return world


@contextlib.contextmanager
def timed(times: dict[str, float | int | str]) -> Iterator[None]:
    """Add the block's wall and CPU seconds (all threads, this thread) to ``times``."""
    wall, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
    yield
    times["wall"] = float(times["wall"]) + time.perf_counter() - wall
    times["cpu"] = float(times["cpu"]) + time.process_time() - cpu
    times["main"] = float(times["main"]) + time.thread_time() - main


def interleaved_runs(blocks: int, chunk: int, kinds: list[str],
                     stores: Path | None = None) -> dict[str, dict[str, float | int | str]]:
    """Run default.toml for ``blocks`` once per kind ("off": unsigned; else signed with the
    worker in that mode), the runs taking turns ``chunk`` blocks at a time (each chunk timed
    alone, the order rotating), so that they share whatever the machine does meanwhile; a
    signed chunk ends once every signature it asked for is made and checked (no work is
    carried into the next chunk). With ``stores`` (a folder), each run is built and recorded
    in its own run store there, as ``subnetsim run`` does, and its time includes building the
    world and finishing the store. Per kind: wall s, CPU s (all threads, main thread), the
    digest, replies signed, signatures checked, jobs run here."""
    done: dict[str, dict[str, float | int | str]] = {
        kind: {"wall": 0.0, "cpu": 0.0, "main": 0.0, "here": 0, "signed": 0, "checked": 0}
        for kind in kinds}
    with contextlib.ExitStack() as opened:
        store = {kind: None if stores is None else opened.enter_context(
            RunStore.open(stores / f"{kind}-{time.monotonic_ns()}.db")) for kind in kinds}
        worlds = {}
        for kind in kinds:
            with timed(done[kind]):
                worlds[kind] = start_world(kind, store[kind])
        ends = list(range(chunk, blocks, chunk)) + [blocks]
        for turn, end in enumerate(ends):
            for kind in kinds[turn % len(kinds):] + kinds[:turn % len(kinds)]:
                world, times = worlds[kind], done[kind]
                if kind != "off":
                    signing_worker.use(kind)
                before = signing_counts()
                with timed(times):
                    advance(world, end)
                    if end == blocks:
                        for validator in world.validators:  # every round scored
                            validator.state()
                        if store[kind] is not None:
                            store[kind].finish_run(store[kind].latest_run_id())
                    signing_worker.drain()
                after = signing_counts()
                for name in ("here", "signed", "checked"):
                    times[name] = int(times[name]) + int(after[name] - before[name])
    for kind, world in worlds.items():
        done[kind].update(digest=world.chain.head_hash)
    return done


def floor_line(groups: list[dict[str, dict[str, float | int | str]]], kind: str) -> str:
    """The lowest wall ratio each group could reach: the signed run does the unsigned run's
    work ``s`` plus the libsodium calls ``c`` (its signatures and checks at libsodium's own
    per-call time, timed here), so on ``cores`` cores its wall is at least
    ``max(s, (s + c) / cores)``."""
    sign, verify = crypto_seconds()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert cores
    floors = []
    for done in groups:
        off, on = done["off"], done[kind]
        crypto = int(on["signed"]) * sign + int(on["checked"]) * verify
        unsigned = float(off["wall"])
        floors.append(max(unsigned, (unsigned + crypto) / cores) / unsigned)
    return (f"floor of the wall ratio (libsodium {sign * 1e6:.1f} us a signature, "
            f"{verify * 1e6:.1f} us a check, {cores} cores) per group "
            f"{' '.join(f'{value:.3f}' for value in floors)}; median "
            f"{statistics.median(floors):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=3600, help="blocks of default.toml")
    parser.add_argument("--repeats", type=int, default=3,
                        help="groups of runs (unsigned, then signed in each --worker mode)")
    parser.add_argument("--worker", choices=signing_worker.MODES, nargs="+", default=["thread"],
                        help="where the signing runs (default: its thread; several: each is "
                             "measured in every group, against the same unsigned run)")
    parser.add_argument("--chunk", type=int, default=300,
                        help="blocks a run goes on before the next run takes its turn (the "
                             "runs of a group alternate, sharing the machine's ups and downs; "
                             "0: each run whole, one after the other)")
    parser.add_argument("--runs", choices=RUN_KINDS, nargs="+", default=list(RUN_KINDS),
                        help="recorded: as `subnetsim run default` runs it (the world built, "
                             "the run recorded in its own SQLite run store, in a temporary "
                             "folder); bare: the simulation alone (no store, the world built "
                             "untimed); default: both, one after the other")
    args, _ = parser.parse_known_args()  # make bench passes every script the same options
    kinds = ["off", *args.worker]
    chunk = args.chunk if args.chunk > 0 else args.blocks
    for runs in args.runs:
        print(f"{runs} runs: {RUN_KINDS[runs]}")
        with tempfile.TemporaryDirectory(prefix="bench-signing-") as folder:
            measure(args, kinds, chunk, Path(folder) if runs == "recorded" else None)


def measure(args: argparse.Namespace, kinds: list[str], chunk: int,
            stores: Path | None) -> None:
    """The warm-up, the groups and the summary (``main``'s options)."""
    interleaved_runs(min(WARM_UP_BLOCKS, args.blocks), chunk, kinds, stores)
    print(f"{'default.toml':<14}{'blocks':>7}{'chunk':>7}{'group':>6}{'signing':>9}{'wall s':>8}"
          f"{'cpu s':>8}{'main s':>8}{'signed':>9}{'checked':>9}{'here':>6}")
    groups: list[dict[str, dict[str, float | int | str]]] = []
    for group in range(args.repeats):
        order = kinds[group % len(kinds):] + kinds[:group % len(kinds)]  # each kind leads once
        done = interleaved_runs(args.blocks, chunk, order, stores)
        for kind in kinds:
            result = done[kind]
            print(f"{'':<14}{args.blocks:>7}{chunk:>7}{group + 1:>6}{kind:>9}"
                  f"{result['wall']:>8.2f}{result['cpu']:>8.2f}{result['main']:>8.2f}"
                  f"{result['signed']:>9,}{result['checked']:>9,}{result['here']:>6}",
                  flush=True)
        groups.append(done)
    walls = {}
    for kind in args.worker:
        ratios = {name: [float(done[kind][name]) / float(done["off"][name]) for done in groups]
                  for name in ("wall", "cpu", "main")}
        for name, label in (("wall", "wall (run time)"), ("cpu", "CPU, all threads"),
                            ("main", "CPU, main thread")):
            print(f"{kind}/unsigned {label:<17} per group "
                  f"{' '.join(f'{ratio:.3f}' for ratio in ratios[name])}; "
                  f"median {statistics.median(ratios[name]):.3f}")
        walls[kind] = statistics.median(ratios["wall"])
    print(floor_line(groups, args.worker[0]))
    digests = {str(result["digest"]) for done in groups for result in done.values()}
    signed = groups[0][args.worker[0]]
    print(f"replies signed {signed['signed']:,}, signatures checked {signed['checked']:,} per "
          f"signed run; target: median wall ratio <= {TARGET_WALL_RATIO} -> "
          + ", ".join(f"{kind} {'met' if wall <= TARGET_WALL_RATIO else 'MISSED'}"
                      for kind, wall in walls.items())
          + f"; same digest in all {len(digests) and sum(len(d) for d in groups)} runs: "
          f"{len(digests) == 1}")


if __name__ == "__main__":
    main()
