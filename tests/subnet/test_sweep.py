"""Running sweeps: identical results on every executor, resume, failures, the fast path."""

from __future__ import annotations

import concurrent.futures
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.scenario import load_scenario
from subnetsim.sweep.config import SweepFile, resolve_sweep
from subnetsim.sweep.metrics import BehaviourGroups
from subnetsim.sweep.runner import SerialExecutor, open_executor, run_sweep

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "data" / "small.toml"
# The scripted `random` validator stands in for a copier until real copiers exist.
GROUPS = BehaviourGroups(copier=("random",), attacker=("random",))


def small_sweep(parameters: dict[str, Any], seeds: int = 2, blocks: int = 60, **extra: Any):
    file = SweepFile(scenario=str(SMALL), seeds=seeds, root_seed=17, blocks=blocks,
                     parameters=parameters, behaviours=GROUPS, **extra)
    return resolve_sweep(file, load_scenario(SMALL), default_name="test")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


class CountingExecutor(SerialExecutor):
    """Runs in-process and remembers which (point, replicate) runs it was given."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []

    def submit(self, fn, /, *args, **kwargs) -> concurrent.futures.Future:
        self.keys += list(fn.keys)
        return super().submit(fn, *args, **kwargs)


class FailingExecutor(SerialExecutor):
    """Every task of ``point`` raises, as a crashing agent would."""

    def __init__(self, point: int) -> None:
        self.point = point

    def submit(self, fn, /, *args, **kwargs) -> concurrent.futures.Future:
        if any(point == self.point for point, _ in fn.keys):
            return super().submit(_explode)
        return super().submit(fn, *args, **kwargs)


def _explode() -> None:
    raise RuntimeError("agent crashed\nwith a two-line message")


GRID = {"kappa": [0.3, 0.7], "commit_reveal_weights_enabled": [False, True]}


@pytest.fixture(scope="module")
def serial_results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial")
    run_sweep(small_sweep(GRID), out, SerialExecutor())
    return out


def assert_same_results(first: Path, second: Path) -> None:
    assert pq.read_table(first / "epochs.parquet").equals(pq.read_table(second / "epochs.parquet"))
    assert (first / "runs.csv").read_text() == (second / "runs.csv").read_text()
    assert (first / "summary.csv").read_text() == (second / "summary.csv").read_text()


def test_serial_results_are_complete_long_tables_with_summary_and_plots(serial_results):
    table = pq.read_table(serial_results / "epochs.parquet")
    assert {"sweep", "point", "replicate", "seed", "kappa", "commit_reveal_weights_enabled",
            "epoch", "uid", "behaviour", "incentive", "dividends_tao"} <= set(table.column_names)
    runs = read_csv(serial_results / "runs.csv")
    assert len(runs) == 8 and len({row["digest"] for row in runs}) == 8
    assert {int(row["epochs"]) for row in runs} == {3}  # tempo 20, 60 blocks
    summary = read_csv(serial_results / "summary.csv")
    assert [row["kappa"] for row in summary] == ["0.3", "0.3", "0.7", "0.7"]
    assert all(float(row["copier_dividend_ratio_low"]) <= float(row["copier_dividend_ratio_mean"])
               <= float(row["copier_dividend_ratio_high"]) for row in summary)
    for name in ("plot-copier_dividend_ratio.png", "heatmap-copier_dividend_ratio.png"):
        assert (serial_results / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_process_pool_gives_identical_results(serial_results, tmp_path):
    with open_executor("process", workers=2) as executor:
        run_sweep(small_sweep(GRID), tmp_path, executor)
    assert_same_results(serial_results, tmp_path)


def test_dask_cluster_gives_identical_results(serial_results, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            open_executor("dask", scheduler=cluster.scheduler_address) as executor:
        run_sweep(small_sweep(GRID), tmp_path, executor)
    assert_same_results(serial_results, tmp_path)


def test_resume_runs_only_missing_runs_and_gives_the_same_table(serial_results, tmp_path):
    out = tmp_path / "out"
    run_sweep(small_sweep(GRID), out, SerialExecutor())
    for name in ("p00001-r0000.parquet", "p00003-r0001.parquet"):
        (out / "runs" / name).unlink()
    (out / "epochs.parquet").unlink()
    executor = CountingExecutor()
    outcome = run_sweep(small_sweep(GRID), out, executor, resume=True)
    assert sorted(executor.keys) == [(1, 0), (3, 1)]
    assert (outcome.ran, outcome.skipped) == (2, 6)
    assert_same_results(serial_results, out)


def test_an_existing_folder_needs_resume_and_the_same_sweep(serial_results):
    with pytest.raises(ConfigError, match="--resume"):
        run_sweep(small_sweep(GRID), serial_results, SerialExecutor())
    with pytest.raises(ConfigError, match="different sweep"):
        run_sweep(small_sweep(GRID, seeds=3), serial_results, SerialExecutor(), resume=True)


def test_a_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    sweep = small_sweep({"kappa": [0.3, 0.5, 0.7]})
    outcome = run_sweep(sweep, tmp_path, FailingExecutor(point=1))
    errors = read_csv(tmp_path / "errors.csv")
    assert [(row["point"], row["replicate"]) for row in errors] == [("1", "0"), ("1", "1")]
    assert errors[0]["error"] == "RuntimeError"
    assert errors[0]["message"] == "agent crashed with a two-line message"
    assert (outcome.ran, outcome.failed) == (4, 2)
    assert [(row["runs"], row["missing"]) for row in outcome.summary] == [(2, 0), (0, 2), (2, 0)]
    executor = CountingExecutor()  # resuming retries exactly the failed runs
    run_sweep(sweep, tmp_path, executor, resume=True)
    assert sorted(executor.keys) == [(1, 0), (1, 1)]
    assert read_csv(tmp_path / "errors.csv") == []


@pytest.mark.parametrize(("kind", "workers", "scheduler", "field"), [
    ("threads", None, None, "--executor"),
    ("process", 0, None, "--workers"),
    ("process", None, "tcp://127.0.0.1:8786", "--scheduler"),
])
def test_bad_executor_options_are_config_errors(kind, workers, scheduler, field):
    with pytest.raises(ConfigError) as caught, open_executor(kind, workers, scheduler):
        pass
    assert caught.value.field == field


def test_progress_reaches_the_total(tmp_path):
    seen = []
    run_sweep(small_sweep({"kappa": [0.4]}), tmp_path, SerialExecutor(), progress=seen.append)
    assert (seen[0].done, seen[-1].done, seen[-1].total) == (0, 2, 2)
    assert seen[-1].eta_s == 0


def test_fast_path_replays_to_what_simulation_gives_when_agents_do_not_react(tmp_path):
    # Scripted validators submit the same weights whatever the consensus setting, so
    # replaying one recorded history must match re-simulating every setting.
    parameters = {"kappa": [0.2, 0.5, 0.8], "yuma3_enabled": [False, True],
                  "bonds_moving_avg": [0.6]}
    simulated = run_sweep(small_sweep(parameters, blocks=150), tmp_path / "sim", SerialExecutor())
    executor = CountingExecutor()
    replayed = run_sweep(small_sweep(parameters, blocks=150, fast_path=True),
                         tmp_path / "fast", executor)
    assert len(executor.keys) == 12 and replayed.ran == 12
    first = pq.read_table(tmp_path / "sim" / "epochs.parquet")
    second = pq.read_table(tmp_path / "fast" / "epochs.parquet")
    assert first.num_rows == second.num_rows > 0
    for name in first.column_names:
        a, b = first.column(name).to_numpy(), second.column(name).to_numpy()
        if a.dtype.kind == "f":
            assert a == pytest.approx(b, rel=1e-9, abs=1e-12, nan_ok=True), name
        else:
            assert (a == b).all(), name
    metrics = ("copier_dividend_ratio", "emission_gini")
    for sim_row, fast_row in zip(simulated.run_rows, replayed.run_rows, strict=True):
        assert fast_row["method"] == "replay"
        assert [fast_row[m] for m in metrics] == pytest.approx([sim_row[m] for m in metrics])


def test_cli_sweep_killed_and_resumed_equals_an_uninterrupted_sweep(tmp_path):
    sweep_file = tmp_path / "kill.toml"
    sweep_file.write_text(f'scenario = "{SMALL.as_posix()}"\nseeds = 3\nroot_seed = 17\n'
                          'blocks = 400\n[parameters]\nkappa = [0.2, 0.4, 0.6, 0.8]\n')
    out = tmp_path / "out"
    command = [sys.executable, "-m", "subnetsim", "sweep", str(sweep_file), "--out", str(out),
               "--executor", "serial"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list((out / "runs").glob("p*.parquet"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    survivors = {path.name: path.stat().st_mtime_ns for path in (out / "runs").glob("p*.parquet")}
    assert 2 <= len(survivors) < 12, "the sweep must be killed part-way"
    resumed = subprocess.run([*command, "--resume"], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"ran {12 - len(survivors)}, skipped {len(survivors)}" in resumed.stdout
    assert all((out / "runs" / name).stat().st_mtime_ns == mtime
               for name, mtime in survivors.items())
    from subnetsim.sweep.config import load_sweep

    run_sweep(load_sweep(sweep_file), tmp_path / "whole", SerialExecutor())
    assert pq.read_table(out / "epochs.parquet").equals(
        pq.read_table(tmp_path / "whole" / "epochs.parquet"))


def agents_sweep(max_uids: int, fast_path: bool):
    """Honest validators scoring honest miners, two of which register during the run."""
    from subnetsim.subnet.config import from_dict
    from subnetsim.subnet.scenario import Scenario

    base = from_dict(Scenario, {
        "blocks": 160,
        "hyperparameters": {"tempo": 20, "weights_rate_limit": 5, "immunity_period": 10,
                            "max_allowed_uids": max_uids,
                            "commit_reveal_weights_enabled": False},
        "registration": {"min_non_immune_uids": 0},
        "task": {"pretrain_steps": 20, "held_out": 64},
        "validation": {"query_interval": 3, "sample_size": 6},
        "neurons": [
            {"role": "validator", "count": 2, "behaviour": "honest", "stake": 1000.0,
             "stake_spread": 0.5},
            {"role": "miner", "count": 4, "behaviour": "honest",
             "options": {"quality": 1.0, "quality_low": 0.1}},
            {"role": "miner", "count": 2, "behaviour": "honest",
             "options": {"quality": 0.8, "join_block": 45, "join_interval": 20}},
        ],
    })
    file = SweepFile(scenario="inline", seeds=1, root_seed=3, parameters={"kappa": [0.3, 0.7]},
                     fast_path=fast_path)
    return resolve_sweep(file, base, default_name="agents")


def test_fast_path_follows_registrations_of_real_agents(tmp_path):
    simulated = run_sweep(agents_sweep(16, False), tmp_path / "sim", SerialExecutor())
    replayed = run_sweep(agents_sweep(16, True), tmp_path / "fast", SerialExecutor())
    first = pq.read_table(tmp_path / "sim" / "epochs.parquet").drop(["sweep"])
    second = pq.read_table(tmp_path / "fast" / "epochs.parquet").drop(["sweep"])
    assert "joiner-1" in first.column("hotkey").to_pylist()
    assert first.column("hotkey").equals(second.column("hotkey"))
    for name in ("stake", "incentive", "dividends_tao", "validator_trust"):
        assert first.column(name).to_numpy() == pytest.approx(second.column(name).to_numpy(),
                                                              rel=1e-9, abs=1e-12), name
    assert simulated.warnings == replayed.warnings == []


def test_fast_path_warns_when_the_recorded_run_pruned_uids(tmp_path):
    outcome = run_sweep(agents_sweep(6, True), tmp_path, SerialExecutor())
    assert all(row["prunings"] > 0 for row in outcome.run_rows)
    assert len(outcome.warnings) == 1 and "pruned" in outcome.warnings[0]
