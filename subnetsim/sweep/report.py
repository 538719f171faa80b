"""Sweep summaries: per-run metrics, per-point mean and 95% interval, CSV and a text table.

The interval is the expanded percentile bootstrap 95% interval of the mean over a point's
seeds (``subnetsim.sweep.intervals``): it never leaves the range of the observed values, so a
share stays in [0, 1] (no interval from a single seed). Metrics that do not apply to a run
(NaN) are left out of its point's count ``n``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from subnetsim.sweep.config import Sweep
from subnetsim.sweep.intervals import FEW_SEEDS, Interval, mean_interval, t_quantile
from subnetsim.sweep.metrics import RunData, run_metrics
from subnetsim.sweep.results import ResultsDir
from subnetsim.sweep.trajectories import run_trajectory

__all__ = ["Interval", "few_seeds_warning", "format_summary", "mean_interval", "per_run_metrics",
           "per_run_trajectories", "summarize", "t_quantile", "write_csv"]

def per_run_metrics(results: ResultsDir) -> list[dict[str, Any]]:
    """One row per finished run: keys, parameters, run facts and every metric."""
    sweep = results.sweep
    file = sweep.file
    rows = []
    for point, replicate in results.runs():
        table, info = results.read_run(point, replicate)
        columns = {name: table.column(name).to_numpy(zero_copy_only=False)
                   for name in table.column_names}
        metrics = run_metrics(RunData.from_columns(columns, info), sweep.metrics,
                              file.behaviours, file.warmup_epochs)
        rows.append({"point": point, "replicate": replicate,
                     "seed": sweep.run_seeds[replicate], **sweep.points[point].values,
                     "method": info["method"], "digest": info["digest"],
                     "blocks": info["blocks"], "epochs": info["epochs"],
                     "prunings": info.get("prunings", 0), **metrics})
    return rows


def per_run_trajectories(results: ResultsDir) -> list[dict[str, Any]]:
    """One row per (run, epoch, per-epoch metric): point, replicate, seed, epoch, metric,
    value (``subnetsim.sweep.trajectories``)."""
    sweep = results.sweep
    rows = []
    for point, replicate in results.runs():
        table, info = results.read_run(point, replicate)
        columns = {name: table.column(name).to_numpy(zero_copy_only=False)
                   for name in table.column_names}
        run = RunData.from_columns(columns, info)
        for epoch, metric, value in run_trajectory(run, sweep.metrics, sweep.file.behaviours):
            rows.append({"point": point, "replicate": replicate,
                         "seed": sweep.run_seeds[replicate], "epoch": epoch, "metric": metric,
                         "value": value})
    return rows


def summarize(sweep: Sweep, run_rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per point: parameters, finished runs, and mean/low/high of every metric."""
    by_point: dict[int, list[Mapping[str, Any]]] = {p.index: [] for p in sweep.points}
    for row in run_rows:
        by_point[row["point"]].append(row)
    summary = []
    for point in sweep.points:
        rows = by_point[point.index]
        entry: dict[str, Any] = {"point": point.index, **point.values, "runs": len(rows),
                                 "missing": len(sweep.run_seeds) - len(rows)}
        for metric in sweep.metrics:
            interval = mean_interval(row[metric] for row in rows)
            entry[f"{metric}_mean"] = interval.mean
            entry[f"{metric}_low"] = interval.low
            entry[f"{metric}_high"] = interval.high
            entry[f"{metric}_n"] = interval.count
        summary.append(entry)
    return summary


def few_seeds_warning(seeds: int) -> str | None:
    """The warning a summary over ``seeds`` seeds carries (None from FEW_SEEDS seeds on)."""
    if seeds >= FEW_SEEDS:
        return None
    return (f"{seeds} seed(s) per point: intervals from fewer than {FEW_SEEDS} seeds are rough "
            "(with 2 they span the two values); add seeds before trusting a difference")


def format_summary(sweep: Sweep, summary: Sequence[Mapping[str, Any]]) -> str:
    """A text table: parameters, runs, then ``mean [low, high]`` per applicable metric."""
    from subnetsim.tables import format_table

    metrics = [m for m in sweep.metrics if any(row[f"{m}_n"] for row in summary)]
    headers = ["POINT", *sweep.parameters, "SEEDS", *metrics]
    rows = []
    for row in summary:
        cells = [row["point"], *(_text(row[name]) for name in sweep.parameters), row["runs"]]
        cells += [_interval_text(row, metric) for metric in metrics]
        rows.append(cells)
    return format_table(headers, rows)


def write_csv(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``rows`` (dicts sharing keys) as CSV; floats in full precision, NaN as empty."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        if not rows:
            return path
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _csv_cell(value) for key, value in row.items()})
    return path


def _csv_cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _interval_text(row: Mapping[str, Any], metric: str) -> str:
    mean, low, high = (row[f"{metric}_{part}"] for part in ("mean", "low", "high"))
    if math.isnan(mean):
        return "-"
    if math.isnan(low):
        return f"{mean:.4g}"
    return f"{mean:.4g} [{low:.4g}, {high:.4g}]"
