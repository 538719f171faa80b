"""Shipped scenarios: they load, say what they show, run; runs are deterministic, resumable
with torch state, and ``subnetsim run --json`` reports behaviour and model_loss."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from subnetsim.run import build_any_world, run
from subnetsim.subnet.dtao.scenario import is_network_file, load_network_scenario
from subnetsim.subnet.scenario import load_scenario
from subnetsim.subnet.store import RunStore
from subnetsim.world import World, build_world
from tests.scenarios.outcomes import SCENARIOS, scenario

ROOT = SCENARIOS.parent
SHIPPED = sorted(path.stem for path in SCENARIOS.glob("*.toml"))


def test_every_issue_scenario_ships():
    assert {"default", "large", "weight_copying", "cabal_attack", "sybil_flood", "model_theft",
            "churn"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_scenario_says_what_it_shows_and_runs(name):
    text = (SCENARIOS / f"{name}.toml").read_text()
    assert text.startswith(f"# {name}.toml")
    assert "What it shows" in text and "What to look at" in text
    path = SCENARIOS / f"{name}.toml"
    if is_network_file(path):  # a dTAO network (docs/dtao.md)
        world = build_any_world(load_network_scenario(path), seed=1)
    else:
        world = build_world(load_scenario(path), seed=1)
    world.run_to_block(25)
    assert world.chain.block == 25


def test_same_scenario_and_seed_give_the_same_digest_and_another_seed_another():
    config = scenario("default")
    first, second = run(config, 7, blocks=250), run(config, 7, blocks=250)
    assert first.digest == second.digest
    np.testing.assert_array_equal(first.model_loss, second.model_loss)
    assert run(config, 8, blocks=250).digest != first.digest


def _cli(*args: str, hash_seed: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run([sys.executable, "-m", "subnetsim", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def test_cli_json_reports_behaviour_and_model_loss_and_matches_in_process():
    out = json.loads(_cli("run", "scenarios/default.toml", "--blocks", "250", "--no-db",
                          "--json", hash_seed="99").stdout)
    assert out["digest"] == run(scenario("default"), 7, blocks=250).digest
    rows = list(zip(out["role"], out["behaviour"], out["model_loss"], strict=True))
    assert len(rows) == 64
    assert all(loss is None for role, _, loss in rows if role == "validator")
    assert all(loss is None for _, behaviour, loss in rows if behaviour == "malformed")
    honest = [loss for role, behaviour, loss in rows if role == "miner" and behaviour == "honest"]
    assert len(honest) == 40 and all(isinstance(loss, float) and loss > 0 for loss in honest)


def test_resume_from_a_checkpoint_restores_models_optimiser_and_digest(tmp_path):
    config = scenario("default", recording__checkpoint_every=150)
    clean = run(config, 7, blocks=400)
    with RunStore.open(tmp_path / "r.db") as store:
        run(config, 7, blocks=300, store=store)  # stops at a checkpoint, like a killed run
        block, state = store.latest_checkpoint(store.latest_run_id())
        resumed = run(config, 7, blocks=400, store=store, resume=True)
    assert block == 300 and resumed.digest == clean.digest
    world = build_world(config, 7)
    world.run_to_block(300)
    restored = World.from_state(config, 7, state, world.chain.head_hash)
    trainer_rows = list(world.miners.train_streams)
    for mine, theirs in zip(world.miners.bank.weights + world.miners.bank.velocity,
                            restored.miners.bank.weights + restored.miners.bank.velocity,
                            strict=True):
        assert torch.equal(mine, theirs)
    assert restored.miners.bank.velocity[0][trainer_rows].abs().sum() > 0
    np.testing.assert_array_equal(world.validators[0].scores, restored.validators[0].scores)


def test_golden_scripted_digest_is_untouched_by_the_agents():
    golden = json.loads((ROOT / "tests" / "golden" / "run_digests.json").read_text())
    pinned = golden["tests/data/small.toml"]
    result = run(load_scenario(ROOT / "tests" / "data" / "small.toml"), pinned["seed"],
                 blocks=pinned["blocks"])
    assert result.digest == pinned["digest"]
    assert np.isnan(result.model_loss).all()


def test_unknown_behaviour_and_bad_options_are_one_line_config_errors(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[neurons]]\nrole = "miner"\nbehaviour = "honest"\n'
                    'options = { qualty = 0.5 }\n')
    result = subprocess.run([sys.executable, "-m", "subnetsim", "run", str(path), "--no-db"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "neurons[0].options.qualty" in result.stderr
    path.write_text('[[neurons]]\nrole = "validator"\nbehaviour = "sneaky"\n')
    result = subprocess.run([sys.executable, "-m", "subnetsim", "run", str(path), "--no-db"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "sneaky" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
