"""Kill and concurrent-resume races on real processes, and resumes that must not differ.

A writer is ``python -m subnetsim run`` on ``tests/data/small.toml``; it is SIGKILLed at random
moments and resumed with ``--resume``, which must end on the digest of an uninterrupted run. A
resume started while the writer lives is refused, naming it; ``verify`` on the live store sees
one committed snapshot and passes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from subnetsim.cli import main
from subnetsim.run import run
from subnetsim.subnet.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "data" / "small.toml"
BLOCKS = 2000  # long enough that a kill within 0.6 s of the first commit lands mid-run


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "subnetsim", *args]


def _committed(path: Path) -> int:
    """The newest committed block, 0 while the store is not there yet."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT COALESCE(MAX(number), 0) FROM blocks").fetchone()[0])
    except sqlite3.Error:
        return 0


def _status(path: Path) -> str:
    """The stored run's status, read as an outside reader would."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return str(conn.execute("SELECT status FROM runs ORDER BY run_id LIMIT 1").fetchone()[0])


def _start_writer(path: Path, blocks: int = BLOCKS) -> subprocess.Popen:
    writer = subprocess.Popen(_cli("run", str(SMALL), "--db", str(path), "--blocks", str(blocks)),
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _committed(path) == 0:
        assert writer.poll() is None, writer.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return writer


def _kill(writer: subprocess.Popen) -> None:
    if writer.poll() is None:
        os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    writer.stderr.close()


def _resume(path: Path, blocks: int = BLOCKS) -> subprocess.CompletedProcess:
    return subprocess.run(_cli("run", "--db", str(path), "--resume", "--blocks", str(blocks),
                               "--json"), cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def uninterrupted() -> str:
    return run(load_scenario(SMALL), 3, blocks=BLOCKS).digest


def _kill_and_resume(path: Path, delay: float, uninterrupted: str, capsys) -> bool:
    """Kill a writer ``delay`` s after its first commit and resume it; True if a concurrent
    resume was tried (and refused) while the writer was alive."""
    writer = _start_writer(path)
    refused = False
    try:
        time.sleep(delay)
        # While it writes: a second writer is refused, a reader sees one consistent snapshot.
        if writer.poll() is None:
            code = main(["run", "--db", str(path), "--resume"])
            err = capsys.readouterr().err
            if code == 0:
                # Allowed only when the writer had already written its last block and released
                # its claim (it was just exiting): then nothing was concurrent.
                assert _status(path) == "finished", err
            elif writer.poll() is None or code == 2:
                assert code == 2, err
                assert f"being written by pid {writer.pid} on host" in err
                assert err.count("\n") == 1
                refused = True
        assert main(["verify", str(path)]) == 0
    finally:
        _kill(writer)
    resumed = _resume(path)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["digest"] == uninterrupted
    assert main(["verify", str(path), "--expect", f"{BLOCKS}:{uninterrupted}"]) == 0
    return refused


def test_a_killed_run_resumes_to_the_uninterrupted_digest_and_a_live_one_is_not_resumed(
        tmp_path, uninterrupted, capsys):
    assert _kill_and_resume(tmp_path / "run.db", 0.3, uninterrupted, capsys)


@pytest.mark.slow
def test_sigkill_at_four_random_points(tmp_path, uninterrupted, capsys):
    # Four kills (ten once: the suite's 10-minute budget took six; the points stay random).
    rng = random.Random(11)
    refused = [_kill_and_resume(tmp_path / f"run{attempt}.db", rng.uniform(0.0, 0.6),
                                uninterrupted, capsys) for attempt in range(4)]
    with capsys.disabled():
        print(f"\n4 kills resumed to the uninterrupted digest; {sum(refused)} concurrent"
              " resumes tried while the writer lived, all refused")
    assert sum(refused) >= 3  # the writer outlives the attempt nearly always


# --- resumes that would silently differ -------------------------------------------------------

@pytest.fixture
def stored(tmp_path) -> Path:
    path = tmp_path / "r.db"
    assert main(["run", str(SMALL), "--db", str(path), "--blocks", "80"]) == 0
    return path


@pytest.mark.parametrize(("args", "named"), [
    (["--seed", "4"], "--seed = 4: the stored run has seed 3"),
    (["--set", "kappa=0.7"], "hyperparameters.kappa: given 0.7"),
    ([str(ROOT / "scenarios" / "default.toml")], "scenario = 'differs'"),
])
def test_a_resume_that_would_differ_is_refused_naming_the_difference(stored, capsys, args,
                                                                     named):
    assert main(["run", *args, "--db", str(stored), "--resume"]) == 2
    err = capsys.readouterr().err
    assert named in err and err.count("\n") == 1


def test_a_resume_with_the_same_scenario_seed_and_overrides_goes_on(stored, capsys):
    assert main(["run", str(SMALL), "--seed", "3", "--db", str(stored), "--resume",
                 "--blocks", "100"]) == 0


def test_epochs_on_resume_count_with_the_stored_tempo(tmp_path, capsys):
    path = tmp_path / "t.db"
    assert main(["run", str(SMALL), "--set", "tempo=9", "--db", str(path), "--epochs", "2",
                 "--json"]) == 0
    capsys.readouterr()
    # The default scenario's tempo is not the stored one: --epochs must use tempo 9.
    assert main(["run", "--db", str(path), "--resume", "--epochs", "5", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs"] == 5  # tempo 20 (the file's) or 360 (the default's) would not be
