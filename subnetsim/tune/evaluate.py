"""Evaluate a batch of trials: every (trial, seed) run on an Executor, metrics per seed.

A trial is a parameter setting; it runs once per seed of the tune file, and every trial uses
the same seeds (common random numbers: two trials differ by their settings, not their luck).
All runs of a batch go to the executor at once, so a process pool or a Dask cluster stays busy
across trials. Each run is ``subnetsim.sweep.task.RunTask``, a pure function of (scenario,
seed), so the results do not depend on the executor, the worker count or the completion order.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from subnetsim.subnet.errors import ConfigError
from subnetsim.sweep.intervals import Interval, fresh_mean_interval
from subnetsim.sweep.metrics import METRICS, RunData, run_metrics
from subnetsim.sweep.task import RunTask
from subnetsim.sweep.trajectories import run_trajectory
from subnetsim.tune.config import Tune

__all__ = ["RunFailure", "TrialResult", "evaluate_batch"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunFailure:
    """A run (or a whole trial whose setting the scenario rejects) that raised."""

    trial: int
    replicate: int | None  # None: the setting itself was rejected, nothing ran
    seed: int | None
    error: str
    message: str
    traceback: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TrialResult:
    """One evaluated trial: per-seed metric values and the per-epoch trajectory rows."""

    number: int
    values: dict[str, Any]
    per_seed: dict[str, list[float]]  # metric -> one value per finished seed, in seed order
    trajectory: list[dict[str, Any]]  # replicate, seed, epoch, metric, value
    failures: list[RunFailure]

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def interval(self, metric: str) -> Interval:
        """Mean over seeds and the 95% interval in which the mean of as many fresh seeds will
        land (``subnetsim.sweep.intervals.fresh_mean_interval``), inside the metric's range:
        what a user re-running this setting should expect."""
        return fresh_mean_interval(self.per_seed.get(metric, []), METRICS[metric].bounds)


def evaluate_batch(tune: Tune, trials: Sequence[tuple[int, dict[str, Any]]],
                   executor: concurrent.futures.Executor,
                   progress: Callable[[int, int], None] | None = None) -> list[TrialResult]:
    """Run every seed of every (trial number, values) in ``trials``; results in input order.
    ``progress(done, total)`` is called as runs finish."""
    futures: dict[concurrent.futures.Future, tuple[int, int]] = {}
    rejected: dict[int, RunFailure] = {}
    for number, values in trials:
        try:
            scenario = tune.scenario_for(values)
        except ConfigError as error:  # e.g. alpha_low above alpha_high: nothing to run
            rejected[number] = RunFailure(trial=number, replicate=None, seed=None,
                                          error="ConfigError", message=str(error),
                                          traceback="".join(traceback.format_exception(error)))
            continue
        for replicate, seed in enumerate(tune.run_seeds):
            task = RunTask(point=number, replicate=replicate, seed=seed, blocks=tune.blocks,
                           scenario=scenario)
            futures[executor.submit(task)] = (number, replicate)
    outputs: dict[tuple[int, int], Any] = {}
    total, done = len(futures), 0
    try:
        for future in concurrent.futures.as_completed(futures):
            outputs[futures[future]] = future
            done += 1
            if progress is not None:
                progress(done, total)
    finally:
        for future in futures:
            future.cancel()
    return [_trial_result(tune, number, values, outputs, rejected.get(number))
            for number, values in trials]


def _trial_result(tune: Tune, number: int, values: dict[str, Any],
                  outputs: dict[tuple[int, int], concurrent.futures.Future],
                  rejected: RunFailure | None) -> TrialResult:
    per_seed: dict[str, list[float]] = {metric: [] for metric in tune.metrics}
    trajectory: list[dict[str, Any]] = []
    failures = [rejected] if rejected else []
    for replicate, seed in enumerate(tune.run_seeds):
        future = outputs.get((number, replicate))
        if future is None:
            continue
        error = future.exception()
        if error is not None:
            failures.append(RunFailure(
                trial=number, replicate=replicate, seed=seed, error=type(error).__name__,
                message=" ".join(str(error).split()),
                traceback="".join(traceback.format_exception(error))))
            continue
        (output,) = future.result()
        run = RunData.from_columns(output.columns, output.info)
        for metric, value in run_metrics(run, tune.metrics, tune.file.behaviours,
                                         tune.file.warmup_epochs).items():
            per_seed[metric].append(value)
        for epoch, metric, value in run_trajectory(run, tune.metrics, tune.file.behaviours):
            trajectory.append({"replicate": replicate, "seed": seed, "epoch": epoch,
                               "metric": metric, "value": value})
    return TrialResult(number=number, values=values, per_seed=per_seed, trajectory=trajectory,
                       failures=failures)
