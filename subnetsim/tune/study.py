"""Run a tune file as an Optuna study: ask a batch, evaluate it on an executor, tell it.

The study lives in Optuna's storage (``DIR/study.db``, SQLite, by default; any database URL
Optuna accepts when a team shares one). Every step is written there as it happens, so a
killed study continues where it stopped: trials asked but never told (still RUNNING) are
evaluated again with the parameters they were asked with, then new batches follow until the
study holds ``trials`` finished trials. Nothing is lost and nothing is asked twice.

Reproducibility: trials are asked in fixed batches of ``batch`` before any of them is told,
and told in trial-number order; the sampler of batch *b* is created afresh with the seed
``stream_seed(root_seed, "tune.sampler", b)``. The sampler therefore sees the same history
and the same random stream whatever the executor, the number of workers, the order in which
runs finish, and whether the study was interrupted. With the same tune file the same trials
are asked and, runs being pure functions of (scenario, seed), the same values are told.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from subnetsim.subnet.errors import ConfigError
from subnetsim.tune.config import Tune
from subnetsim.tune.evaluate import TrialResult, evaluate_batch
from subnetsim.tune.storage import StudyDir

__all__ = ["BatchProgress", "StudyOutcome", "confirm_front", "make_sampler",
           "open_study", "run_study"]

_VIOLATIONS = "constraint_violations"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BatchProgress:
    """Where a study stands: finished trials of the budget, runs of the current batch."""

    finished: int
    budget: int
    batch: int
    runs_done: int
    runs_total: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StudyOutcome:
    """What a study run did and where its results are."""

    out_dir: Path
    storage: str  # the Optuna storage URL the study lives in
    evaluated: int  # trials evaluated by this invocation
    resumed: int  # of which were left running by an interrupted invocation
    finished: int  # finished trials in the study
    failed: int  # failed trials in the study


def make_sampler(tune: Tune, batch: int) -> Any:
    """The sampler for batch ``batch``: TPE (one objective), NSGA-II (several) or random,
    seeded per batch. Constraints reach the sampler as each told trial's constraint values
    (``Trial.set_constraint``: <= 0 is feasible); infeasible trials rank behind feasible ones."""
    import optuna

    seed = tune.sampler_seed(batch)
    if tune.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if tune.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(
            population_size=tune.file.population or tune.file.batch, seed=seed)
    startup = tune.file.startup_trials
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=tune.file.batch if startup is None else startup,
        multivariate=True, constant_liar=True)


def open_study(tune: Tune, storage: str, create: bool = True) -> Any:
    """The Optuna study named after the tune file in ``storage`` (created when missing)."""
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    directions = [_direction(objective.direction) for objective in tune.objectives]
    if not create:
        return optuna.load_study(study_name=tune.name, storage=storage)
    return optuna.create_study(study_name=tune.name, storage=storage, directions=directions,
                               load_if_exists=True, sampler=make_sampler(tune, 0))


def run_study(tune: Tune, out_dir: str | Path, executor: concurrent.futures.Executor, *,
              storage: str | None = None, resume: bool = False,
              provenance: dict[str, Any] | None = None,
              progress: Callable[[BatchProgress], None] | None = None) -> StudyOutcome:
    """Run (or continue, with ``resume``) the study of ``tune`` into ``out_dir``."""
    folder = StudyDir.prepare(out_dir, tune, resume, storage, provenance)
    study = open_study(tune, folder.storage)
    if list(study.directions) != [_direction(o.direction) for o in tune.objectives]:
        raise ConfigError("--storage", folder.storage, f"study {tune.name!r} there has other "
                          "objectives: use another storage or study name")
    evaluated = resumed = 0
    # Trials an interrupted invocation asked but never told: evaluate them as asked.
    stranded = [trial for trial in study.get_trials(deepcopy=False)
                if trial.state.name in ("RUNNING", "WAITING")]
    if stranded:
        _run_batch(tune, study, folder, executor,
                   [(trial.number, trial.params) for trial in stranded], progress)
        evaluated += len(stranded)
        resumed = len(stranded)
    while True:
        trials = study.get_trials(deepcopy=False)
        remaining = tune.file.trials - len(trials)
        if remaining <= 0:
            break
        study.sampler = make_sampler(tune, len(trials) // tune.file.batch)
        distributions = _distributions(tune)
        asked = [study.ask(distributions) for _ in range(min(tune.file.batch, remaining))]
        _run_batch(tune, study, folder, executor,
                   [(trial.number, dict(trial.params)) for trial in asked], progress)
        evaluated += len(asked)
    confirm_front(tune, study, executor, progress)
    trials = study.get_trials(deepcopy=False)
    return StudyOutcome(out_dir=folder.path, storage=folder.storage, evaluated=evaluated,
                        resumed=resumed,
                        finished=sum(t.state.name == "COMPLETE" for t in trials),
                        failed=sum(t.state.name == "FAIL" for t in trials))


def confirm_front(tune: Tune, study: Any, executor: concurrent.futures.Executor,
                  progress: Callable[[BatchProgress], None] | None = None) -> int:
    """Re-run every front trial not yet confirmed on ``tune.confirm_seeds`` and keep the
    per-seed values in the study (user attribute ``confirmations``); returns how many ran.

    Why: a front point is on the front *because* its study mean looked good, so on fresh
    seeds it regresses towards the middle (the winner's curse). Runs on seeds that took no
    part in the choice give an unbiased mean; the front reports that one. Kept in the study
    storage, so a killed study confirms only what is missing when resumed."""
    from subnetsim.tune.outputs import CONFIRMATIONS, study_tables

    if not tune.confirm_seeds:
        return 0
    done = dict(study.user_attrs.get(CONFIRMATIONS, {}))
    front = [row for row in study_tables(tune, study).front if str(row["trial"]) not in done]
    if not front:
        return 0
    confirming = dataclasses.replace(tune, run_seeds=tune.confirm_seeds)
    budget = tune.file.trials

    def report(runs_done: int, runs_total: int) -> None:
        if progress is not None:
            progress(BatchProgress(finished=budget, budget=budget, batch=len(front),
                                   runs_done=runs_done, runs_total=runs_total))

    values = [(row["trial"], {p.name: row[p.name] for p in tune.parameters}) for row in front]
    for result in evaluate_batch(confirming, values, executor, report):
        done[str(result.number)] = {
            "per_seed": {m: _json_floats(v) for m, v in result.per_seed.items()},
            "failed": len(result.failures)}
    study.set_user_attr(CONFIRMATIONS, done)
    return len(front)


def _run_batch(tune: Tune, study: Any, folder: StudyDir, executor: concurrent.futures.Executor,
               trials: list[tuple[int, dict[str, Any]]],
               progress: Callable[[BatchProgress], None] | None) -> None:
    finished = sum(t.state.name in ("COMPLETE", "FAIL")
                   for t in study.get_trials(deepcopy=False))

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(BatchProgress(finished=finished, budget=tune.file.trials,
                                   batch=len(trials), runs_done=done, runs_total=total))

    report(0, len(trials) * len(tune.run_seeds))
    results = evaluate_batch(tune, trials, executor, report)
    for result in results:  # in trial-number order, whatever order the runs finished in
        folder.write_trial(result)
        _tell(tune, study, result)


def _tell(tune: Tune, study: Any, result: TrialResult) -> None:
    import optuna

    trial = optuna.trial.Trial(study, _trial_id(study, result.number))
    intervals = {metric: dataclasses.astuple(result.interval(metric))
                 for metric in tune.metrics}
    trial.set_user_attr("seeds", len(tune.run_seeds))
    trial.set_user_attr("per_seed", {m: _json_floats(v) for m, v in result.per_seed.items()})
    trial.set_user_attr("intervals", {m: _json_floats(v) for m, v in intervals.items()})
    violations = [c.violation(result.interval(c.metric).mean) for c in tune.constraints]
    trial.set_user_attr(_VIOLATIONS, violations)
    with warnings.catch_warnings():
        # A trial told again on ``--resume`` (the run was killed while telling it) may have
        # its constraints set already; optuna keeps those and warns. They are these values:
        # a trial is a pure function of its setting and seeds.
        warnings.filterwarnings("ignore", "The constraint value is ignored", UserWarning)
        for index, violation in enumerate(violations):
            trial.set_constraint(f"{index}: {tune.constraints[index].text()}", violation)
    values = [result.interval(o.metric).mean for o in tune.objectives]
    if result.failed or not all(math.isfinite(v) for v in values):
        reason = (f"{len(result.failures)} run(s) failed" if result.failed
                  else "an objective is NaN (the metric does not apply to this scenario)")
        trial.set_user_attr("fail_reason", reason)
        study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
        return
    study.tell(trial, values, skip_if_finished=True)


def _trial_id(study: Any, number: int) -> int:
    return study._storage.get_trial_id_from_study_id_trial_number(study._study_id, number)


def _distributions(tune: Tune) -> dict[str, Any]:
    import optuna.distributions as dist

    result: dict[str, Any] = {}
    for parameter in tune.parameters:
        if parameter.kind == "categorical":
            result[parameter.name] = dist.CategoricalDistribution(list(parameter.choices))
        elif parameter.kind == "int":
            result[parameter.name] = dist.IntDistribution(
                int(parameter.low or 0), int(parameter.high or 0), log=parameter.log,
                step=int(parameter.step or 1))
        else:
            step = None if parameter.step is None else float(parameter.step)
            result[parameter.name] = dist.FloatDistribution(
                float(parameter.low or 0.0), float(parameter.high or 0.0), log=parameter.log,
                step=step)
    return result


def _direction(text: str) -> Any:
    import optuna

    return optuna.study.StudyDirection.MINIMIZE if text == "minimize" else \
        optuna.study.StudyDirection.MAXIMIZE


def _json_floats(values: Any) -> list[float | None]:
    """JSON has no NaN: store it as null."""
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]

