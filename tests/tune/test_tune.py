"""subnetsim tune: strict tune files, the Pareto front, studies that resume and reproduce."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.scenario import apply_overrides, load_scenario
from subnetsim.sweep.runner import SerialExecutor, open_executor
from subnetsim.tune.config import load_tune
from subnetsim.tune.front import dominates, pareto_front
from subnetsim.tune.outputs import write_outputs
from subnetsim.tune.study import confirm_front, open_study, run_study

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "tiny_tune.toml"
SHIPPED = ROOT / "scenarios" / "tune" / "copier_resistance.toml"


def write_tune(tmp_path: Path, text: str) -> Path:
    (tmp_path / "small.toml").write_text((ROOT / "tests/data/small.toml").read_text())
    path = tmp_path / "t.toml"
    path.write_text(text)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


BASE = '''scenario = "small.toml"
[[objectives]]
metric = "emission_gini"
[parameters]
'''


@pytest.mark.parametrize(("text", "message"), [
    (BASE + "kapa = { low = 0.1, high = 0.5 }", "unknown parameter.*did you mean kappa"),
    (BASE + "kappa = { low = 0.5, high = 0.1 }", r"low \(0.5\) must be < high"),
    (BASE + "kappa = { low = 0.1, high = 1.5 }", "must be <= 1"),
    (BASE + "kappa = []", "empty list"),
    (BASE + "kappa = 0.5", "a fixed value belongs in the scenario"),
    (BASE + "seed = [1, 2]", "cannot be tuned"),
    (BASE.replace("emission_gini", "emission_ginni") + "kappa = [0.1, 0.2]",
     "unknown metric.*did you mean emission_gini"),
    (BASE + "kappa = [0.1, 0.2]\n[[constraints]]\nmetric = \"emission_gini\"",
     "give min, max or both"),
    ('scenario = "small.toml"\n[parameters]\nkappa = [0.1, 0.2]', "at least one"),
    ("trails = 5\n" + BASE + "kappa = [0.1, 0.2]", "unknown key"),
    (BASE.replace('"emission_gini"', '"emission_gini"\ndirection = "down"') +
     "kappa = [0.1, 0.2]", "expected one of minimize, maximize"),
])
def test_tune_files_are_strict(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_tune(write_tune(tmp_path, text))


def test_the_shipped_study_loads_and_answers_its_question():
    tune = load_tune(SHIPPED)
    assert {p.name for p in tune.parameters} == {
        "kappa", "bonds_moving_avg", "liquid_alpha_enabled", "alpha_low", "alpha_high",
        "commit_reveal_period"}
    assert [o.metric for o in tune.objectives] == ["copier_dividend_ratio",
                                                   "loss_incentive_spearman"]
    assert tune.sampler == "nsga2"
    assert "unprofitable" in SHIPPED.read_text().split("\n\n")[0]


def test_pareto_front_keeps_exactly_the_non_dominated():
    values = [(1.0, 5.0), (2.0, 2.0), (3.0, 3.0), (5.0, 1.0), (2.0, 2.0)]
    assert pareto_front(values, ["minimize", "minimize"]) == [0, 1, 3, 4]
    assert pareto_front(values, ["maximize", "maximize"]) == [0, 2, 3]
    assert dominates((1, 1), (1, 2), ["minimize", "minimize"])
    assert not dominates((1, 1), (1, 1), ["minimize", "minimize"])
    assert pareto_front([(0.3,), (0.1,), (0.1,)], ["minimize"]) == [1, 2]


def test_a_study_writes_its_front_overrides_and_plots(serial_study):
    trials = read_csv(serial_study / "trials.csv")
    assert [row["trial"] for row in trials] == [str(i) for i in range(6)]
    assert all(row["state"] == "COMPLETE" and row["seeds"] == "2" for row in trials)
    front = read_csv(serial_study / "front.csv")
    assert front and all(row["on_front"] == "True" for row in front)
    # No trial off the front beats a front trial on both objectives (by the study's means:
    # the ones the front was chosen by).
    for row in trials:
        mine = (float(row["emission_gini_mean"]), float(row["attacker_dividend_ratio_mean"]))
        for other in front:
            theirs = (float(other["emission_gini_study_mean"]),
                      float(other["attacker_dividend_ratio_study_mean"]))
            assert not dominates(mine, theirs, ["minimize", "minimize"])
    # Each front point is a --set file that `run` accepts, holding the trial's values.
    base = load_scenario(serial_study / "base.toml")
    for row in front:
        lines = (serial_study / "front" / f"trial-{int(row['trial']):05d}.set").read_text()
        settings = [line for line in lines.splitlines() if not line.startswith("#")]
        scenario = apply_overrides(base, settings)
        assert scenario.hyperparameters.kappa == pytest.approx(float(row["kappa"]), rel=1e-12)
        assert load_scenario(serial_study / "front" / f"trial-{int(row['trial']):05d}.toml") \
            == scenario
    for name in ("plot-front.png", "plot-history.png", "plot-importances.png",
                 "trajectory-emission_gini.png"):
        assert (serial_study / name).read_bytes()[:4] == b"\x89PNG"
    assert (serial_study / "front.parquet").exists() and (serial_study / "trajectories.parquet")


@pytest.mark.slow
def test_the_same_study_on_a_process_pool_asks_and_tells_the_same(serial_study, tmp_path):
    tune = load_tune(TINY)
    with open_executor("process", workers=2) as executor:
        run_study(tune, tmp_path, executor)
    write_outputs(tune, open_study(tune, f"sqlite:///{tmp_path / 'study.db'}", create=False),
                  tmp_path)
    assert (tmp_path / "trials.csv").read_text() == (serial_study / "trials.csv").read_text()


def test_the_same_study_on_dask_gives_the_same_trials_and_front(serial_study, tmp_path):
    distributed = pytest.importorskip("distributed")
    tune = load_tune(TINY)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            open_executor("dask", scheduler=cluster.scheduler_address) as executor:
        run_study(tune, tmp_path, executor)
    write_outputs(tune, open_study(tune, f"sqlite:///{tmp_path / 'study.db'}", create=False),
                  tmp_path)
    for name in ("trials.csv", "front.csv"):
        assert (tmp_path / name).read_text() == (serial_study / name).read_text()


def test_an_existing_study_needs_resume_and_the_same_file(serial_study, tmp_path):
    tune = load_tune(TINY)
    with pytest.raises(ConfigError, match="--resume"):
        run_study(tune, serial_study, SerialExecutor())
    changed = write_tune(tmp_path, TINY.read_text().replace("root_seed = 5", "root_seed = 6"))
    with pytest.raises(ConfigError, match="different study"):
        run_study(load_tune(changed), serial_study, SerialExecutor(), resume=True)


@pytest.mark.slow
def test_a_killed_study_continues_without_losing_a_trial(serial_study, tmp_path):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "subnetsim", "tune", str(TINY), "--out", str(out),
               "--executor", "serial"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    # Kill it once the first batch is told, while the second is being evaluated.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "trials").glob("*.parquet"))) < 4:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    tune = load_tune(TINY)
    study = open_study(tune, f"sqlite:///{out / 'study.db'}", create=False)
    before = study.get_trials()
    assert any(t.state.name == "RUNNING" for t in before), "killed too late to test a resume"
    from subnetsim.cli import main

    assert main(command[3:] + ["--resume"]) == 0
    after = open_study(tune, f"sqlite:///{out / 'study.db'}", create=False).get_trials()
    assert len(after) == 6 and all(t.state.name == "COMPLETE" for t in after)
    assert [t.number for t in after] == list(range(6))
    # Interrupted or not, the study asked and was told the same.
    assert (out / "trials.csv").read_text() == (serial_study / "trials.csv").read_text()
    manifest = json.loads((out / "study.json").read_text())
    assert manifest["provenance"]["executor"] == "serial"
    assert manifest["provenance"]["packages"]["optuna"]


@pytest.mark.parametrize("extra", [[], ["--trials", "0"], ["--resume"]])
def test_cli_mistakes_are_one_line_and_exit_2(tmp_path, capsys, extra):
    from subnetsim.cli import main

    good = ["tune", str(TINY), "--out", str(tmp_path / "out"), "--executor", "serial"]
    bad = write_tune(tmp_path, BASE + "kappa = { low = 0.5, high = 0.1 }")
    argv = good + extra if extra else ["tune", str(bad), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("subnetsim tune: error:")
    assert not (tmp_path / "out" / "study.db").exists()


def test_one_objective_with_every_kind_of_parameter_and_a_rejected_setting(tmp_path):
    # alpha_low and alpha_high overlap, so some draws put low above high: the scenario rejects
    # them, the trial fails with the reason and the study goes on.
    path = write_tune(tmp_path, '''scenario = "small.toml"
seeds = 1
trials = 6
batch = 3
blocks = 40
root_seed = 3
sampler = "tpe"
[parameters]
alpha_low = { low = 0.71, high = 0.9 }
alpha_high = { low = 0.71, high = 0.9 }
commit_reveal_period = { low = 1, high = 2 }
yuma3_enabled = [false, true]
[[objectives]]
metric = "emission_gini"
direction = "maximize"
''')
    tune = load_tune(path)
    out = tmp_path / "out"
    outcome = run_study(tune, out, SerialExecutor())
    write_outputs(tune, open_study(tune, outcome.storage, create=False), out)
    trials = read_csv(out / "trials.csv")
    failed = [row for row in trials if row["state"] == "FAIL"]
    assert failed and outcome.failed == len(failed) and outcome.finished + outcome.failed == 6
    for row in failed:
        assert float(row["alpha_low"]) > float(row["alpha_high"])
    errors = read_csv(out / "errors.csv")
    assert {row["trial"] for row in errors} == {row["trial"] for row in failed}
    assert all("alpha_low" in row["message"] and row["error"] == "ConfigError"
               for row in errors)
    assert all((out / row["traceback"]).is_file() for row in errors)
    complete = [row for row in trials if row["state"] == "COMPLETE"]
    assert {row["commit_reveal_period"] for row in complete} <= {"1", "2"}
    best = max(float(row["emission_gini_mean"]) for row in complete)
    front = read_csv(out / "front.csv")
    assert [float(row["emission_gini_study_mean"]) for row in front] == [best] * len(front)


def test_front_points_are_reported_by_runs_on_seeds_that_did_not_choose_them(serial_study):
    # The winner's curse: a front point's study mean is biased by its selection, so the
    # front reports its runs on the confirm seeds, a seed stream of their own.
    tune = load_tune(TINY)
    assert len(tune.confirm_seeds) == 3 and not set(tune.confirm_seeds) & set(tune.run_seeds)
    trials = {row["trial"]: row for row in read_csv(serial_study / "trials.csv")}
    front = read_csv(serial_study / "front.csv")
    study = open_study(tune, f"sqlite:///{serial_study / 'study.db'}", create=False)
    confirmations = study.user_attrs["confirmations"]
    assert {row["trial"] for row in front} == set(confirmations)
    for row in front:
        trial = trials[row["trial"]]
        assert row["confirm_seeds"] == "3" and row["emission_gini_n"] == "3"
        assert row["emission_gini_study_mean"] == trial["emission_gini_mean"]
        values = confirmations[row["trial"]]["per_seed"]["emission_gini"]
        assert float(row["emission_gini_mean"]) == pytest.approx(sum(values) / len(values))
        assert float(row["emission_gini_low"]) <= float(row["emission_gini_mean"]) \
            <= float(row["emission_gini_high"]) <= 1.0
    # A resumed study that is already complete confirms nothing again.
    assert confirm_front(tune, study, SerialExecutor()) == 0


def test_a_trial_told_again_after_a_kill_keeps_its_constraints_without_a_warning(tmp_path):
    """A run killed while telling a trial leaves it RUNNING with its constraints set; the
    resumed run tells it again (the same values): no warning, and the trial completes with
    them."""
    import warnings

    from subnetsim.tune.evaluate import TrialResult
    from subnetsim.tune.study import _distributions, _tell

    tune = load_tune(TINY)
    study = open_study(tune, f"sqlite:///{tmp_path / 'study.db'}")
    trial = study.ask(_distributions(tune))
    result = TrialResult(number=trial.number, values=dict(trial.params),
                         per_seed={"emission_gini": [0.97, 0.99],
                                   "attacker_dividend_ratio": [0.1, 0.2]},
                         trajectory=[], failures=[])
    key = f"0: {tune.constraints[0].text()}"
    trial.set_constraint(key, 0.03)  # the tell the kill interrupted got this far
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _tell(tune, study, result)
    (told,) = study.get_trials()
    assert told.state.name == "COMPLETE"
    assert told.values == [0.98, pytest.approx(0.15)]
    assert told.user_attrs["constraint_violations"] == [pytest.approx(0.03)]  # 0.98 - 0.95
    assert [value for name, value in told.system_attrs.items()
            if name.endswith(key)] == [pytest.approx(0.03)]
