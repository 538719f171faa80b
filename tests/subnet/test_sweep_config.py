"""Sweep files: expansion of points and seeds, and one-line errors for every bad file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.scenario import load_scenario
from subnetsim.sweep.config import apply_parameters, load_sweep

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "data" / "small.toml"


def write_sweep(folder: Path, body: str, head: str = "") -> Path:
    """A sweep file over tests/data/small.toml with ``body`` as its [parameters] table."""
    path = folder / "sweep.toml"
    path.write_text(f'scenario = "{SMALL.as_posix()}"\n{head}\n[parameters]\n{body}\n')
    return path


def test_grid_is_the_product_in_file_order_with_the_first_parameter_slowest(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, "kappa = [0.3, 0.6]\nbonds_penalty = [0, 0.5, 1]"))
    values = [(p.values["kappa"], p.values["bonds_penalty"]) for p in sweep.points]
    assert values == [(0.3, 0.0), (0.3, 0.5), (0.3, 1.0), (0.6, 0.0), (0.6, 0.5), (0.6, 1.0)]
    assert [p.index for p in sweep.points] == list(range(6))
    # The value is the scenario's own (an integer 0 becomes the float field's 0.0).
    assert all(p.scenario.hyperparameters.bonds_penalty == p.values["bonds_penalty"]
               for p in sweep.points)
    assert sweep.runs == 6


def test_zip_pairs_lists_and_ranges_include_their_stop(tmp_path):
    body = ("kappa = { start = 0.2, stop = 0.6, step = 0.2 }\n"
            "tempo = { start = 10, stop = 30, num = 3 }")
    sweep = load_sweep(write_sweep(tmp_path, body, 'mode = "zip"'))
    assert [(p.values["kappa"], p.values["tempo"]) for p in sweep.points] == [
        (0.2, 10), (0.4, 20), (0.6, 30)]
    assert isinstance(sweep.points[0].values["tempo"], int)


def test_random_mode_draws_reproducibly_within_bounds(tmp_path):
    head = 'mode = "random"\nsamples = 20\nroot_seed = 9'
    body = ("kappa = { low = 0.1, high = 0.9 }\n"
            "alpha_sigmoid_steepness = { low = 10, high = 1000, log = true }\n"
            "yuma3_enabled = [false, true, false]")
    first = load_sweep(write_sweep(tmp_path, body, head))
    again = load_sweep(write_sweep(tmp_path, body, head))
    other = load_sweep(write_sweep(tmp_path, body, head.replace("9", "10")))
    kappas = [p.values["kappa"] for p in first.points]
    assert len(kappas) == 20 and all(0.1 <= k <= 0.9 for k in kappas)
    assert all(10 <= p.values["alpha_sigmoid_steepness"] <= 1000 for p in first.points)
    assert {p.values["yuma3_enabled"] for p in first.points} == {False, True}
    assert kappas == [p.values["kappa"] for p in again.points]
    assert kappas != [p.values["kappa"] for p in other.points]


def test_run_seeds_derive_from_root_seed_and_are_shared_by_points(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, "kappa = [0.3, 0.6]", "seeds = 4\nroot_seed = 1"))
    other = load_sweep(write_sweep(tmp_path, "kappa = [0.3, 0.6]", "seeds = 4\nroot_seed = 2"))
    assert len(set(sweep.run_seeds)) == 4
    assert all(0 <= seed < 2**63 for seed in sweep.run_seeds)
    assert set(sweep.run_seeds).isdisjoint(other.run_seeds)


def test_epochs_budget_follows_each_points_tempo(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, "tempo = [10, 20]", "epochs = 3"))
    short, long = sweep.points
    assert long.blocks > short.blocks
    # Epochs run where (block + netuid + 1) % (tempo + 1) == tempo (subtensor's
    # blocks_until_next_epoch, as subnet/chain.py): the budget ends exactly on the third one.
    for point in sweep.points:
        tempo, netuid = point.values["tempo"], point.scenario.netuid
        epochs = [b for b in range(1, point.blocks + 1)
                  if (b + netuid + 1) % (tempo + 1) == tempo]
        assert len(epochs) == 3 and epochs[-1] == point.blocks


def test_nested_tables_dotted_paths_and_neuron_groups_are_parameters(tmp_path):
    body = ('"neurons[1].stake" = [10.0, 20.0]\n"emission.block_emission" = [2.0]\n'
            "[parameters.hyperparameters]\nkappa = [0.4]")
    sweep = load_sweep(write_sweep(tmp_path, body))
    assert sweep.parameters == ("neurons[1].stake", "emission.block_emission",
                                "hyperparameters.kappa")
    scenario = sweep.points[1].scenario
    assert scenario.neurons[1].stake == 20.0 and scenario.neurons[0].stake == 1000.0
    assert scenario.emission.block_emission == 2.0 and scenario.hyperparameters.kappa == 0.4


def test_apply_parameters_sets_behaviour_options_of_a_group():
    scenario = apply_parameters(load_scenario(SMALL), {"neurons[0].options.operator": "ops"})
    assert scenario.neurons[0].options == {"operator": "ops"}
    assert scenario.neurons[1].options == {}


@pytest.mark.parametrize(("head", "body", "field", "words"), [
    ("", "kapa = [0.5]", "parameters.kapa", "did you mean kappa"),
    ("", "kappa = []", "parameters.kappa", "empty list"),
    ("", "kappa = { start = 0.8, stop = 0.2, num = 3 }", "parameters.kappa", "bad range"),
    ("", "kappa = { start = 0.1, stop = 0.2, step = 0 }", "parameters.kappa", "bad range"),
    ("", "kappa = { start = 0.1, stop = 0.2, num = 0 }", "parameters.kappa", "bad range"),
    ("", "kappa = { start = 0.1, num = 3 }", "parameters.kappa", "start, stop"),
    ("", "kappa = { low = 0.1, high = 0.2 }", "parameters.kappa", "mode = random"),
    ("", "kappa = [1.5]", "parameters.kappa", "must be <= 1"),
    ("", "alpha_high = [0.5]", "parameters.alpha_high", "hyperparameters.alpha_low"),
    ("", "seed = [1, 2]", "parameters.seed", "cannot be swept"),
    ("", '"neurons[7].stake" = [1.0]', "parameters.neurons[7].stake", "3 neuron groups"),
    ('mode = "zip"', "kappa = [0.1, 0.2]\ntempo = [5]", "parameters", "equal length"),
    ('mode = "random"', "kappa = [0.1]", "samples", "needs samples"),
    ("blocks = 10\nepochs = 2", "kappa = [0.1]", "epochs", "not both"),
    ("seeds = 0", "kappa = [0.1]", "seeds", ">= 1"),
    ('mode = "lattice"', "kappa = [0.1]", "mode", "grid"),
    ("speed = 3", "kappa = [0.1]", "speed", "unknown key"),
    ('metrics = ["happiness"]', "kappa = [0.1]", "metrics[0]", "unknown metric"),
    ("fast_path = true", "tempo = [10]", "parameters.tempo", "fast_path"),
])
def test_bad_sweep_files_name_the_field(tmp_path, head, body, field, words):
    with pytest.raises(ConfigError) as caught:
        load_sweep(write_sweep(tmp_path, body, head))
    assert caught.value.field == field
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_scenario_may_be_an_inline_table(tmp_path):
    path = tmp_path / "inline.toml"
    path.write_text("seeds = 2\n[parameters]\nkappa = [0.3]\n[scenario]\nname = \"tiny\"\n"
                    "blocks = 50\n[[scenario.neurons]]\nrole = \"validator\"\nstake = 5.0\n")
    sweep = load_sweep(path)
    assert sweep.base.name == "tiny" and sweep.base.neurons[0].stake == 5.0
    assert sweep.points[0].blocks == 50 and sweep.name == "inline"
    path.write_text("[parameters]\nkappa = [0.3]\n[scenario]\nblocks = 0\n")
    with pytest.raises(ConfigError, match="scenario.blocks"):
        load_sweep(path)


def test_shipped_sweep_files_load():
    files = sorted((ROOT / "scenarios" / "sweeps").glob("*.toml"))
    assert files, "scenarios/sweeps/ ships at least the kappa_commit_reveal example"
    sweeps = {path.stem: load_sweep(path) for path in files}
    example = sweeps["kappa_commit_reveal"]
    assert example.parameters == ("kappa", "commit_reveal_weights_enabled")
    assert {p.values["commit_reveal_weights_enabled"] for p in example.points} == {False, True}
    assert any(n.behaviour == "weight_copier" for n in example.base.neurons)


def test_missing_scenario_and_empty_parameters_are_errors(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text("[parameters]\nkappa = [0.5]\n")
    with pytest.raises(ConfigError, match="scenario"):
        load_sweep(path)
    with pytest.raises(ConfigError, match="at least one parameter"):
        load_sweep(write_sweep(tmp_path, ""))


def test_cli_prints_one_line_and_exits_2_on_a_bad_sweep_file(tmp_path):
    path = write_sweep(tmp_path, "kappa = { start = 1, stop = 0, num = 2 }")
    result = subprocess.run([sys.executable, "-m", "subnetsim", "sweep", str(path), "--out",
                             str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "parameters.kappa" in lines[0] and "bad range" in lines[0]
    assert not (tmp_path / "out").exists()
