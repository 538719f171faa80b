"""A dTAO network through the CLI and the run store: JSON, btcli's subnet table, determinism
across processes, resume, verify with the network's invariants."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from subnetsim.network_report import check_checkpoint_invariants
from subnetsim.network_world import NETWORK_CHECKPOINT_TYPES, decode_network_state
from subnetsim.run import run
from subnetsim.subnet.dtao.scenario import load_network_scenario
from subnetsim.subnet.errors import VerificationError
from subnetsim.subnet.store import RunStore
from subnetsim.subnet.store.state_codec import encode_state

ROOT = Path(__file__).resolve().parents[2]
NET = ROOT / "tests" / "data" / "net_small.toml"
SUBNET_KEYS = {"netuid", "price", "moving_price", "tao_in", "alpha_in", "alpha_out",
               "emission_share", "tao_emission", "root_proportion"}


def subnetsim(*args: str, hash_seed: str = "0") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run([sys.executable, "-m", "subnetsim", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def test_run_json_has_issuance_and_subnets_and_the_same_digest_in_two_processes(tmp_path):
    outs = [json.loads(subnetsim("run", str(NET), "--blocks", "45", "--no-db", "--json",
                                 hash_seed=seed).stdout) for seed in ("1", "4242")]
    assert outs[0]["digest"] == outs[1]["digest"]
    out = outs[0]
    scenario = load_network_scenario(NET)
    assert out["digest"] == run(scenario, scenario.seed, blocks=45).digest  # and in process
    genesis = 100 + 50 + 2 * 1000 + 2 * 6 * 10.0  # pools + root stake + balances
    assert out["issuance_tao"] == pytest.approx(genesis + 45 * 1.0)
    assert [s["netuid"] for s in out["subnets"]] == [1, 2]
    for subnet in out["subnets"]:
        assert subnet.keys() >= SUBNET_KEYS
    assert sum(s["emission_share"] for s in out["subnets"]) == pytest.approx(1.0)


def test_subnets_table_verify_and_resume(tmp_path):
    db = tmp_path / "net.db"
    subnetsim("run", str(NET), "--blocks", "50", "--db", str(db), "--json")
    table = subnetsim("subnets", str(db)).stdout
    header = table.splitlines()[0].split("  ")
    for column in ("NETUID", "NAME", "PRICE (τ/α)", "MARKET CAP", "EMISSION (τ)",
                   "P (τ_in, α_in)", "STAKE (α_out)", "SUPPLY", "TEMPO"):
        assert column in [h.strip() for h in header]
    assert " alpha " in table and " beta " in table
    as_json = json.loads(subnetsim("subnets", str(db), "--json").stdout)
    scenario = load_network_scenario(NET)
    fresh = run(scenario, scenario.seed, blocks=50)
    assert [s["price"] for s in as_json] == [row.price for row in fresh.subnets]
    verified = subnetsim("verify", str(db)).stdout
    assert "invariants hold at 1 checkpoints" in verified
    resumed = json.loads(subnetsim("run", str(NET), "--resume", "--blocks", "90", "--json",
                                   "--db", str(db)).stdout)
    assert resumed["digest"] == run(scenario, scenario.seed, blocks=90).digest


def test_verify_names_a_checkpoint_whose_books_do_not_balance(tmp_path):
    scenario = load_network_scenario(NET)
    with RunStore.open(tmp_path / "r.db") as store:
        run(scenario, scenario.seed, blocks=40, store=store)
        run_id = store.latest_run_id()
        assert check_checkpoint_invariants(store, run_id) == 1
        number, blob = store.checkpoints(run_id)[-1]
        data = decode_network_state(blob)
        economy = data["economy"]
        economy.balances["coldkey-0"] += 1.0  # TAO from nowhere
        store.save_checkpoint(run_id, number, encode_state(data, NETWORK_CHECKPOINT_TYPES))
        with pytest.raises(VerificationError, match="TAO: issuance"):
            check_checkpoint_invariants(store, run_id)


def test_network_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[network]\ntao_weight = 2.0\n[[subnets]]\nname = "x"\n')
    result = subprocess.run([sys.executable, "-m", "subnetsim", "run", str(bad), "--no-db"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "network.tao_weight" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run([sys.executable, "-m", "subnetsim", "run", str(NET), "--epochs", "2",
                             "--no-db"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--blocks" in result.stderr


def test_max_epochs_per_block_defers_the_rest():
    from subnetsim.network_world import NetworkWorld

    scenario = load_network_scenario(NET)
    subnets = [dataclasses.replace(s, hyperparameters=dataclasses.replace(
        s.hyperparameters, tempo=20)) for s in scenario.subnets]
    scenario = dataclasses.replace(scenario, subnets=tuple(subnets), network=dataclasses.replace(
        scenario.network, max_epochs_per_block=1))
    world = NetworkWorld(scenario, 1)
    for sub in world.subnets.values():
        sub.chain.last_epoch_block = 0  # both due at block 20
    world.start()
    world.run_to_block(20)
    assert [w.chain.epoch_index for w in world.subnets.values()] == [1, 0]
    world.run_to_block(21)
    assert [w.chain.epoch_index for w in world.subnets.values()] == [1, 1]


@pytest.mark.slow
def test_sigkill_mid_network_run_then_resume_gives_the_uninterrupted_digest(tmp_path):
    import signal
    import sqlite3
    import time

    blocks = "600"
    clean = json.loads(subnetsim("run", str(NET), "--blocks", blocks, "--no-db",
                                 "--json").stdout)
    db = tmp_path / "killed.db"
    child = subprocess.Popen([sys.executable, "-m", "subnetsim", "run", str(NET), "--blocks",
                              blocks, "--db", str(db), "--json"], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120

    def checkpoints() -> int:
        try:
            with sqlite3.connect(db, timeout=5) as conn:
                return conn.execute("SELECT COALESCE(MAX(block), 0) FROM checkpoints"
                                    ).fetchone()[0]
        except sqlite3.Error:
            return 0

    while checkpoints() < 120 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    resumed = json.loads(subnetsim("run", str(NET), "--resume", "--blocks", blocks, "--json",
                                   "--db", str(db)).stdout)
    assert resumed["digest"] == clean["digest"]
    assert "invariants hold" in subnetsim("verify", str(db)).stdout
