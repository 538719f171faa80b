"""A study's figures (matplotlib, PNG): the front, the objective history, importances.

* ``plot-front.png``: every finished trial by its first two objectives (one objective:
  against the trial number); infeasible trials hollow, the front joined, with each front
  point's 95% fresh-seed intervals and its seeds' values as faint dots (same seeds in every trial);
* ``plot-history.png``: each objective per trial and the best value so far;
* ``plot-importances.png``: PED-ANOVA importance of each parameter per objective.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from subnetsim.sweep.metrics import METRICS
from subnetsim.tune.config import Tune

__all__ = ["plot_front", "plot_history", "plot_importances"]


def _figure(width: float = 6.4, height: float = 4.6) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def plot_front(tune: Tune, tables: Any, out: Path) -> Path | None:
    rows = [row for row in tables.trials if row["state"] == "COMPLETE"]
    if not rows:
        return None
    figure = _figure()
    axes = figure.add_subplot()
    seeds = len(tune.run_seeds)
    if len(tune.objectives) == 1:
        metric = tune.objectives[0].metric
        x_of = {row["trial"]: float(row["trial"]) for row in rows}
        y_metric, x_label = metric, "trial"
    else:
        x_metric, y_metric = tune.objectives[0].metric, tune.objectives[1].metric
        x_of = {row["trial"]: row[f"{x_metric}_mean"] for row in rows}
        x_label = METRICS[x_metric].label + f" ({tune.objectives[0].direction})"
    feasible = [row for row in rows if row["feasible"]]
    infeasible = [row for row in rows if not row["feasible"]]
    axes.scatter([x_of[r["trial"]] for r in feasible], [r[f"{y_metric}_mean"] for r in feasible],
                 s=14, color="0.6", label=f"feasible trials ({len(feasible)})")
    if infeasible:
        axes.scatter([x_of[r["trial"]] for r in infeasible],
                     [r[f"{y_metric}_mean"] for r in infeasible], s=14, facecolors="none",
                     edgecolors="0.6", label=f"infeasible ({len(infeasible)})")
    # Front points sit at their confirmed means (runs on the confirm seeds) when there are
    # some; the grey cloud is every trial's study mean.
    front_x = (lambda r: float(r["trial"])) if len(tune.objectives) == 1 else (
        lambda r: r[f"{tune.objectives[0].metric}_mean"])
    front = sorted(tables.front, key=front_x)
    if front:
        fx = [front_x(r) for r in front]
        fy = [r[f"{y_metric}_mean"] for r in front]
        y_err = _errors(front, y_metric)
        x_err = None if len(tune.objectives) == 1 else _errors(front, tune.objectives[0].metric)
        axes.errorbar(fx, fy, yerr=y_err, xerr=x_err, fmt="o-", color="C3", capsize=3,
                      label=f"front ({len(front)})", zorder=4)
        if len(tune.objectives) > 1:
            _seed_dots(axes, [tables.per_seed.get(r["trial"], {}) for r in front],
                       tune.objectives[0].metric, y_metric)
        for row, x, y in zip(front, fx, fy, strict=True):
            axes.annotate(str(row["trial"]), (x, y), textcoords="offset points",
                          xytext=(4, 4), fontsize=7, color="C3")
    axes.set_xlabel(x_label)
    axes.set_ylabel(METRICS[y_metric].label + f" ({tune.objectives[-1].direction})")
    confirmed = max((int(r.get("confirm_seeds", 0)) for r in front), default=0)
    where = f"front at its mean on {confirmed} confirm seeds, " if confirmed else "front with "
    axes.set_title(f"{tune.name}: trials by mean over n = {seeds} seeds; {where}intervals "
                   f"for a fresh {seeds}-seed mean (all front points 95%), study seeds' values",
                   fontsize=8)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    path = out / "plot-front.png"
    figure.savefig(path)
    return path


def plot_history(tune: Tune, tables: Any, out: Path) -> Path | None:
    rows = sorted((row for row in tables.trials if row["state"] == "COMPLETE"),
                  key=lambda row: row["trial"])
    if not rows:
        return None
    figure = _figure(6.4, 2.4 + 1.6 * len(tune.objectives))
    panels = figure.subplots(len(tune.objectives), 1, squeeze=False, sharex=True)[:, 0]
    for axes, objective in zip(panels, tune.objectives, strict=True):
        metric = objective.metric
        x = [row["trial"] for row in rows]
        y = [row[f"{metric}_mean"] for row in rows]
        axes.scatter(x, y, s=10, color="C0", label="trial (mean over seeds)")
        best, line = math.nan, []
        for row, value in zip(rows, y, strict=True):
            if row["feasible"] and math.isfinite(value) and (
                    math.isnan(best) or (value < best if objective.direction == "minimize"
                                         else value > best)):
                best = value
            line.append(best)
        axes.step(x, line, where="post", color="C3", label="best feasible so far")
        for boundary in range(tune.file.batch, (rows[-1]["trial"] + 1), tune.file.batch):
            axes.axvline(boundary - 0.5, color="0.85", linewidth=0.6)
        axes.set_ylabel(metric, fontsize=8)
        axes.grid(alpha=0.3)
    panels[0].legend(fontsize=7)
    panels[-1].set_xlabel("trial (grey lines: batches)")
    figure.suptitle(f"{tune.name}: objective history (n = {len(tune.run_seeds)} seeds per "
                    "trial)", fontsize=9)
    path = out / "plot-history.png"
    figure.savefig(path)
    return path


def plot_importances(tune: Tune, tables: Any, out: Path) -> Path | None:
    if not tables.importances:
        return None
    objectives = list(dict.fromkeys(row["objective"] for row in tables.importances))
    names = [p.name for p in tune.parameters]
    figure = _figure(6.4, 1.4 + 0.35 * len(names) * len(objectives))
    axes = figure.add_subplot()
    height = 0.8 / len(objectives)
    for number, objective in enumerate(objectives):
        scores = {row["parameter"]: row["importance"] for row in tables.importances
                  if row["objective"] == objective}
        positions = [i + number * height for i in range(len(names))]
        axes.barh(positions, [scores.get(name, 0.0) for name in names], height=height,
                  label=objective)
    axes.set_yticks([i + 0.4 - height / 2 for i in range(len(names))], names)
    axes.set_xlabel("PED-ANOVA importance (for reaching the best 10%)")
    axes.set_title(f"{tune.name}: parameter importances ({len(tables.trials)} trials, "
                   f"n = {len(tune.run_seeds)} seeds each)", fontsize=9)
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3, axis="x")
    path = out / "plot-importances.png"
    figure.savefig(path)
    return path


def _errors(rows: list[dict[str, Any]], metric: str) -> list[list[float]]:
    below, above = [], []
    for row in rows:
        mean, low, high = (row[f"{metric}_{part}"] for part in ("mean", "low", "high"))
        below.append(mean - low if math.isfinite(low) else 0.0)
        above.append(high - mean if math.isfinite(high) else 0.0)
    return [below, above]


def _seed_dots(axes: Any, per_seed: list[dict[str, Any]], x_metric: str, y_metric: str) -> None:
    """Each seed's (x, y) of each front point: the same seed's run gives both values."""
    xs, ys = [], []
    for values in per_seed:
        for x, y in zip(values.get(x_metric, []), values.get(y_metric, []), strict=False):
            if x is not None and y is not None:
                xs.append(x)
                ys.append(y)
    if xs:
        axes.scatter(xs, ys, s=8, color="C3", alpha=0.3, linewidths=0, zorder=3)
