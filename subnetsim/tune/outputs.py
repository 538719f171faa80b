"""A study's results as files: the trial table, the front, override files, importances, plots.

Written by ``write_outputs`` after (or between) runs of a study, from the storage alone, so
they can be rebuilt at any time::

    trial_seeds.csv                 each finished trial's metric per seed (long format)
    trials.csv / trials.parquet     every trial: state, parameters, mean/low/high/n of each
                                    metric, constraint violations, feasible, on_front
    front.csv / front.parquet       the Pareto front (feasible finished trials no other
                                    feasible trial beats on every objective)
    base.toml                       the base scenario
    front/trial-00012.set           the trial's values, one KEY=VALUE per line (run --set)
    front/trial-00012.toml          the base scenario with those values: `subnetsim run` it
    importances.csv                 PED-ANOVA importance of each parameter for each objective
    trajectories.parquet            per-epoch metrics of every trial and seed (long format)
    plot-front.png, plot-history.png, plot-importances.png, trajectory-<metric>.png
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from subnetsim.subnet.config import to_dict
from subnetsim.sweep.report import write_csv
from subnetsim.tune.config import Tune
from subnetsim.tune.front import pareto_front
from subnetsim.tune.toml_text import toml_document, toml_value

__all__ = ["CONFIRMATIONS", "StudyTables", "interval_text", "override_text", "study_tables",
           "write_outputs"]

CONFIRMATIONS = "confirmations"  # study user attribute: trial -> its runs on the confirm seeds
FAMILY_LEVEL = 0.95  # chance that every front point's fresh mean lands inside its interval


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StudyTables:
    """Every trial as a row, the front's rows, importances per objective, and each finished
    trial's per-seed values (trial -> metric -> one value per seed, None where NaN)."""

    trials: list[dict[str, Any]]
    front: list[dict[str, Any]]
    importances: list[dict[str, Any]]
    per_seed: dict[int, dict[str, list[float | None]]]


def study_tables(tune: Tune, study: Any) -> StudyTables:
    """The trial table and the front of ``study`` (pure reads of the storage)."""
    finished = [trial for trial in study.get_trials(deepcopy=False)
                if trial.state.name in ("COMPLETE", "FAIL")]
    rows = [_trial_row(tune, trial) for trial in finished]
    per_seed = {trial.number: trial.user_attrs.get("per_seed", {}) for trial in finished}
    candidates = [row for row in rows if row["state"] == "COMPLETE" and row["feasible"]]
    objective_values = [[row[f"{o.metric}_mean"] for o in tune.objectives]
                        for row in candidates]
    directions = [o.direction for o in tune.objectives]
    on_front = {candidates[i]["trial"] for i in pareto_front(objective_values, directions)}
    for row in rows:
        row["on_front"] = row["trial"] in on_front
    front = sorted((dict(row) for row in rows if row["on_front"]),
                   key=lambda row: row[f"{tune.objectives[0].metric}_mean"])
    confirmations = study.user_attrs.get(CONFIRMATIONS, {})
    checks = len(front) * len(tune.objectives)
    for row in front:
        _report_confirmation(tune, row, confirmations.get(str(row["trial"])), checks)
    return StudyTables(trials=rows, front=front, importances=_importances(tune, study),
                       per_seed=per_seed)


def write_outputs(tune: Tune, study: Any, out_dir: str | Path) -> dict[str, Path]:
    """Write every output file of the study (see the module doc); returns name -> path."""
    import pandas as pd

    out = Path(out_dir)
    tables = study_tables(tune, study)
    files: dict[str, Path] = {}
    for name, rows in (("trials", tables.trials), ("front", tables.front)):
        files[name] = write_csv(out / f"{name}.csv", rows)
        frame = pd.DataFrame(rows) if rows else pd.DataFrame({"trial": []})
        frame.to_parquet(out / f"{name}.parquet", index=False)
    files["importances"] = write_csv(out / "importances.csv", tables.importances)
    files["seeds"] = write_csv(out / "trial_seeds.csv", [
        {"trial": trial, "replicate": replicate, "seed": tune.run_seeds[replicate],
         "metric": metric, "value": math.nan if value is None else value}
        for trial, metrics in sorted(tables.per_seed.items())
        for metric, values in metrics.items() for replicate, value in enumerate(values)])
    files["base"] = out / "base.toml"
    files["base"].write_text(toml_document(
        to_dict(tune.base), f"base scenario of the study {tune.name}"), encoding="utf-8")
    files.update(_override_files(tune, tables.front, out))
    files.update(_trajectories(tune, tables.front, out))
    from subnetsim.tune.plots import plot_front, plot_history, plot_importances

    for path in (plot_front(tune, tables, out), plot_history(tune, tables, out),
                 plot_importances(tune, tables, out)):
        if path is not None:
            files[path.stem] = path
    return files


def override_text(tune: Tune, row: dict[str, Any]) -> str:
    """A front point as ``--set`` lines: a comment header, then KEY=VALUE per parameter."""
    seeds = len(tune.run_seeds)
    lines = [f"# subnetsim tune {tune.name}: trial {row['trial']} on the Pareto front "
             f"({seeds} seeds)"]
    for objective in tune.objectives:
        lines.append(f"# {objective.metric} ({objective.direction}) = "
                     f"{interval_text(row, objective.metric)}")
    confirmed = row.get("confirm_seeds", 0)
    lines.append(f"# mean over {confirmed} confirm seeds [where the mean of {seeds} fresh seeds "
                 "lands; 95% for all front points together]" if confirmed else
                 f"# mean over the study's {seeds} seeds [where the mean of {seeds} fresh seeds "
                 "lands, 95%]")
    lines.append(f"# seeds: {', '.join(map(str, tune.run_seeds))}; runs of {tune.blocks} blocks")
    lines.append(f"# use: subnetsim run base.toml --blocks {tune.blocks} --seed SEED "
                 f"$(sed -e '/^#/d' -e 's/^/--set /' front/trial-{row['trial']:05d}.set)")
    lines += [f"{p.name}={toml_value(row[p.name])}" for p in tune.parameters]
    return "\n".join(lines) + "\n"


def _override_files(tune: Tune, front: list[dict[str, Any]], out: Path) -> dict[str, Path]:
    folder = out / "front"
    folder.mkdir(exist_ok=True)
    for stale in folder.glob("trial-*"):
        stale.unlink()  # the front moves as a study continues
    files = {}
    for row in front:
        stem = f"trial-{row['trial']:05d}"
        settings = folder / f"{stem}.set"
        settings.write_text(override_text(tune, row), encoding="utf-8")
        values = {p.name: row[p.name] for p in tune.parameters}
        scenario = toml_document(to_dict(tune.scenario_for(values)),
                                 override_text(tune, row).splitlines()[0].lstrip("# "))
        (folder / f"{stem}.toml").write_text(scenario, encoding="utf-8")
        files[f"front/{stem}"] = settings
    return files


def _trajectories(tune: Tune, front: list[dict[str, Any]], out: Path) -> dict[str, Path]:
    import pyarrow.parquet as pq

    from subnetsim.sweep.plots import plot_trajectories
    from subnetsim.sweep.trajectories import trajectory_bands

    parts = sorted((out / "trials").glob("trial-*.parquet"))
    if not parts:
        return {}
    import pyarrow as pa

    table = pa.concat_tables([pq.read_table(part) for part in parts])
    target = out / "trajectories.parquet"
    pq.write_table(table, target)
    files = {"trajectories": target}
    chosen = {row["trial"] for row in front}
    rows = [row for row in table.to_pylist() if row["point"] in chosen]
    points = [(row["trial"], {p.name: row[p.name] for p in tune.parameters}) for row in front]
    for path in plot_trajectories(f"{tune.name} front", points, trajectory_bands(rows), out,
                                  tune.file.warmup_epochs):
        files[path.stem] = path
    return files


def _trial_row(tune: Tune, trial: Any) -> dict[str, Any]:
    attrs = trial.user_attrs
    row: dict[str, Any] = {"trial": trial.number, "state": trial.state.name,
                           "batch": trial.number // tune.file.batch,
                           "seeds": attrs.get("seeds", len(tune.run_seeds))}
    for parameter in tune.parameters:
        row[parameter.name] = trial.params.get(parameter.name)
    intervals = attrs.get("intervals", {})
    for metric in tune.metrics:
        mean, low, high, count = intervals.get(metric, (None, None, None, 0))
        row[f"{metric}_mean"] = _float(mean)
        row[f"{metric}_low"] = _float(low)
        row[f"{metric}_high"] = _float(high)
        row[f"{metric}_n"] = int(count or 0)
    violations = attrs.get("constraint_violations") or []
    for constraint, violation in zip(tune.constraints, violations, strict=False):
        row[f"violation[{constraint.text()}]"] = _float(violation)
    row["feasible"] = trial.state.name == "COMPLETE" and all(
        v is not None and v <= 0 for v in violations)
    row["fail_reason"] = attrs.get("fail_reason", "")
    return row


def _importances(tune: Tune, study: Any) -> list[dict[str, Any]]:
    """PED-ANOVA importance per parameter and objective over the finished trials: how much
    each parameter matters for reaching the best 10% of the objective (Watanabe et al.,
    IJCAI 2023; deterministic, and unlike fANOVA it needs no scikit-learn). Empty with fewer
    than two finished trials or one parameter."""
    import optuna

    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if len(complete) < 2 or len(tune.parameters) < 2:
        return []
    rows = []
    for index, objective in enumerate(tune.objectives):
        try:
            sign = 1.0 if objective.direction == "minimize" else -1.0  # it minimises
            with warnings.catch_warnings():  # its reminder that it minimises: done above
                warnings.simplefilter("ignore", UserWarning)
                scores = optuna.importance.get_param_importances(
                    study, evaluator=optuna.importance.PedAnovaImportanceEvaluator(),
                    target=_objective_value(index, sign))
        except (RuntimeError, ValueError):  # e.g. every trial has the same value
            continue
        for name, score in scores.items():
            rows.append({"objective": objective.metric, "parameter": name,
                         "importance": float(score)})
    return rows


def _objective_value(index: int, sign: float) -> Callable[[Any], float]:
    """Optuna's importance target: objective ``index`` of a trial, times ``sign``."""
    def value(trial: Any) -> float:
        return sign * float(trial.values[index])

    return value


def _report_confirmation(tune: Tune, row: dict[str, Any], confirmation: dict[str, Any] | None,
                         checks: int) -> None:
    """Report a front trial by its runs on the confirm seeds (in place): each metric's mean
    over them and a *simultaneous* prediction interval for the mean of a fresh run of the
    study's seed count. Simultaneous (Bonferroni over the front's ``checks`` (point,
    objective) pairs): the claim a user tests is that every front point holds up, not one.
    The mean the study chose the trial by stays as ``<metric>_study_mean``."""
    row["confirm_seeds"] = 0
    row["confirm_failed"] = 0
    for metric in tune.metrics:
        row[f"{metric}_study_mean"] = row[f"{metric}_mean"]
    if not confirmation:
        return
    from subnetsim.sweep.intervals import fresh_mean_interval
    from subnetsim.sweep.metrics import METRICS

    level = 1.0 - (1.0 - FAMILY_LEVEL) / max(checks, 1)
    row["confirm_failed"] = int(confirmation.get("failed", 0))
    for metric in tune.metrics:
        values = confirmation["per_seed"].get(metric, [])
        interval = fresh_mean_interval(values, METRICS[metric].bounds,
                                       fresh=len(tune.run_seeds), level=level)
        row[f"{metric}_mean"] = interval.mean
        row[f"{metric}_low"] = interval.low
        row[f"{metric}_high"] = interval.high
        row[f"{metric}_n"] = interval.count
        row["confirm_seeds"] = max(row["confirm_seeds"], interval.count)


def interval_text(row: dict[str, Any], metric: str) -> str:
    mean, low, high = (row[f"{metric}_{part}"] for part in ("mean", "low", "high"))
    if not math.isfinite(mean):
        return "n/a"
    if not math.isfinite(low):
        return f"{mean:.4g}"
    return f"{mean:.4g} [{low:.4g}, {high:.4g}] (n = {row[f'{metric}_n']})"


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


