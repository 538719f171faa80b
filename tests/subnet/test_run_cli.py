"""End to end through the CLI: determinism, the golden digest, kill-and-resume, verify, errors."""

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

from subnetsim.run import run
from subnetsim.subnet.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "data" / "small.toml"
GOLDEN = json.loads((ROOT / "tests" / "golden" / "run_digests.json").read_text())


def subnetsim(*args: str, hash_seed: str = "0", check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run([sys.executable, "-m", "subnetsim", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_same_scenario_and_seed_give_the_pinned_digest_in_process_and_in_subprocesses():
    pinned = GOLDEN["tests/data/small.toml"]
    scenario = load_scenario(SMALL)
    first = run(scenario, pinned["seed"], blocks=pinned["blocks"])
    second = run(scenario, pinned["seed"], blocks=pinned["blocks"])
    assert first.digest == second.digest == pinned["digest"]
    for hash_seed in ("1", "4242"):  # set iteration order must not leak into a run
        out = subnetsim("run", str(SMALL), "--no-db", "--json", hash_seed=hash_seed)
        assert json.loads(out.stdout)["digest"] == pinned["digest"]


def test_another_seed_gives_another_digest():
    scenario = load_scenario(SMALL)
    assert run(scenario, 3, blocks=60).digest != run(scenario, 4, blocks=60).digest


def test_json_summary_has_per_uid_outcomes(tmp_path):
    out = json.loads(subnetsim("run", str(SMALL), "--blocks", "100", "--json", "--db",
                               str(tmp_path / "r.db")).stdout)
    assert {"digest", "blocks", "epochs", "seed", "stake", "incentive", "dividends",
            "emission", "behaviour"} <= out.keys()
    assert out["blocks"] == 100 and out["epochs"] == 5  # tempo 20: blocks 20, 40, ..., 100
    assert len(out["stake"]) == len(out["behaviour"]) == 16
    miners = [i for i, role in enumerate(out["role"]) if role == "miner"]
    assert sum(out["incentive"][i] for i in miners) == pytest.approx(1.0)


def _checkpoints(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT COALESCE(MAX(block), 0) FROM checkpoints").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_gives_the_uninterrupted_digest(tmp_path):
    blocks = "1500"
    clean = json.loads(subnetsim("run", str(SMALL), "--blocks", blocks, "--json", "--db",
                                 str(tmp_path / "clean.db")).stdout)
    db = tmp_path / "killed.db"
    stop_after = random.Random().choice([40, 200, 480, 720])  # a random checkpoint to pass
    child = subprocess.Popen([sys.executable, "-m", "subnetsim", "run", str(SMALL), "--blocks",
                              blocks, "--db", str(db), "--json"], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _checkpoints(db) < stop_after and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    resumed = json.loads(subnetsim("run", str(SMALL), "--resume", "--blocks", blocks, "--json",
                                   "--db", str(db)).stdout)
    assert resumed["digest"] == clean["digest"]
    assert subnetsim("verify", str(db)).returncode == 0


def test_verify_passes_then_names_the_block_after_one_byte_changes(tmp_path):
    db = tmp_path / "r.db"
    subnetsim("run", str(SMALL), "--blocks", "120", "--db", str(db))
    assert "verified" in subnetsim("verify", str(db)).stdout
    with sqlite3.connect(db) as conn:
        block, idx, payload = conn.execute(
            "SELECT block, idx, payload_json FROM extrinsics ORDER BY block LIMIT 1 OFFSET 7"
        ).fetchone()
        position = payload.index(":") + 1
        changed = payload[:position] + ("1" if payload[position] != "1" else "2") + payload[
            position + 1:]
        conn.execute("UPDATE extrinsics SET payload_json = ? WHERE block = ? AND idx = ?",
                     (changed, block, idx))
    failed = subnetsim("verify", str(db), check=False)
    assert failed.returncode == 1
    assert f"block {block}" in failed.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("blocks = 10\nunknown_key = 1\n", "unknown_key"),
        ("[hyperparameters]\nkappa = 1.5\n", "hyperparameters.kappa"),
        ("[[neurons]]\nrole = 'validator'\nstake = -1.0\n", "neurons[0].stake"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_bad_scenarios_get_one_line_errors_and_exit_2(tmp_path, content, message):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    result = subnetsim("run", str(path), "--no-db", check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
