"""Mutation fuzzing of every file format subnetsim reads: each input is refused with a
``SubnetSimError`` (the CLI's one line and exit 2) or accepted; anything else is a traceback.

``attempt(kind, data, folder)`` feeds one input to the reader a user reaches with that file;
``mutants(seed, original, count)`` makes inputs from a genuine file. The normal suite runs a few
dozen per format through Hypothesis; ``python -m tests.reliability.fuzzing 1000 [FORMAT...]``
runs 1,000 per format and reports the counts (docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import io
import random
import shutil
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from subnetsim.cli import main
from subnetsim.commands import load_session_file
from subnetsim.subnet.errors import SubnetSimError
from subnetsim.subnet.scenario import load_scenario
from subnetsim.sweep.config import load_sweep
from subnetsim.world import World

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "data" / "small.toml"
NASTY = [b"", b"\x00", b"-1", b"1e309", b"NaN", b"99999999999999999999999", b"\"", b"[", b"{",
         b"true", b"\xff\xfe", b"9223372036854775808", b"-0", b"\\u0000", b"[[neurons]]\n"]


def mutants(seed: int, original: bytes, count: int) -> Iterator[bytes]:
    """``count`` mutations of ``original``: flips, cuts, splices and nasty tokens."""
    rng = random.Random(seed)
    for _ in range(count):
        data = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            where = rng.randrange(len(data) + 1)
            choice = rng.random()
            if choice < 0.3 and data:
                data[min(where, len(data) - 1)] = rng.randrange(256)
            elif choice < 0.45:
                del data[where:where + rng.randint(1, 64)]
            elif choice < 0.7:
                end = where + rng.randint(1, 12)
                data[where:end] = rng.choice(NASTY)
            elif choice < 0.85:
                digits = str(rng.choice([0, 1, -1, 2**31, 2**63, 10**30, 4096, 4097])).encode()
                data[where:where] = digits
            else:
                data = data[:where]
        yield bytes(data)


def _scenario(path: Path, folder: Path) -> str:
    load_scenario(path)
    return "accepted"


def _snapshot(path: Path, folder: Path) -> str:
    return "accepted" if main(["epoch", str(path), "--json"]) == 0 else "refused"


def _sweep(path: Path, folder: Path) -> str:
    load_sweep(path)
    return "accepted"


def _session(path: Path, folder: Path) -> str:
    load_session_file(path)
    return "accepted"


def _store(path: Path, folder: Path) -> str:
    codes = {main(["verify", str(path)]), main(["metagraph", str(path)])}
    if not codes <= {0, 1, 2}:
        raise AssertionError(f"exit codes {codes}")
    return "accepted" if codes == {0} else "refused"


def _checkpoint(path: Path, folder: Path) -> str:
    World.from_state(load_scenario(SMALL), 3, path.read_bytes(), "0" * 64)
    return "accepted"


READERS: dict[str, tuple[str, Callable[[Path, Path], str]]] = {
    "scenario": ("scenario.toml", _scenario),
    "snapshot": ("snapshot.json", _snapshot),
    "sweep": ("sweep.toml", _sweep),
    "session": ("session.json", _session),
    "run store": ("store.db", _store),
    "checkpoint": ("state.bin", _checkpoint),
}


def attempt(kind: str, data: bytes, folder: Path) -> str:
    """``accepted`` or ``refused``; any other exception escapes (a traceback found)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return _attempt(kind, data, folder)


def _attempt(kind: str, data: bytes, folder: Path) -> str:
    name, reader = READERS[kind]
    path = folder / name
    path.write_bytes(data)
    for extra in folder.glob(name + "-*"):  # a store's WAL from the previous input
        extra.unlink()
    try:
        return reader(path, folder)
    except SubnetSimError:
        return "refused"


def originals(folder: Path) -> dict[str, bytes]:
    """A genuine file of every format, made by the real code."""
    from subnetsim.catalog import DEFAULT_SNAPSHOT, shipped_path
    from subnetsim.commands import hyperparameter_entry
    from subnetsim.sessions import save_session
    from subnetsim.subnet.store import RunStore

    saved = save_session(load_scenario(SMALL), 3, [hyperparameter_entry(20, "kappa", 0.6)], 80,
                         folder / "genuine")
    with RunStore.open(saved.db, create=False) as store:
        checkpoint = store.latest_checkpoint(1)
    assert checkpoint is not None
    with sqlite3.connect(saved.db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    snapshot = shipped_path(DEFAULT_SNAPSHOT).read_bytes()
    sweep = (f'scenario = "{SMALL.as_posix()}"\nseeds = 2\nblocks = 40\n[parameters]\n'
             'kappa = { start = 0.2, stop = 0.8, num = 4 }\n').encode()
    return {"scenario": SMALL.read_bytes(), "snapshot": snapshot[:200_000], "sweep": sweep,
            "session": saved.session_file.read_bytes(), "run store": saved.db.read_bytes(),
            "checkpoint": checkpoint[1]}


def campaign(folder: Path, count: int, seed: int = 0,
             kinds: tuple[str, ...] = ()) -> dict[str, Counter]:
    """``count`` mutants per format (``kinds``, default all); the outcome counts per format."""
    counts: dict[str, Counter] = {}
    for kind, original in originals(folder).items():
        if kinds and kind not in kinds:
            continue
        work = folder / kind.replace(" ", "_")
        work.mkdir(exist_ok=True)
        counts[kind] = Counter()
        for index, data in enumerate(mutants(seed, original, count)):
            try:
                counts[kind][attempt(kind, data, work)] += 1
            except Exception as error:  # noqa: BLE001 - a traceback found: count and show it
                counts[kind]["traceback"] += 1
                (folder / f"traceback-{kind.replace(' ', '_')}-{index}.bin").write_bytes(data)
                print(f"{kind} input {index}: {type(error).__name__}: {error}", file=sys.stderr)
        shutil.rmtree(work)
    return counts


if __name__ == "__main__":
    import tempfile

    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as temporary:
        for kind, counter in campaign(Path(temporary), total, kinds=tuple(sys.argv[2:])).items():
            print(f"{kind:10s} {total} inputs: {counter['accepted']} accepted,"
                  f" {counter['refused']} refused, {counter['traceback']} tracebacks")
