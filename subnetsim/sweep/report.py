"""Sweep summaries: per-run metrics, per-point mean and 95% interval, CSV and a text table.

The interval is Student's t confidence interval of the mean over a point's seeds,
``mean +- t(0.975, n-1) * sd / sqrt(n)`` (no interval from a single seed). Metrics that do not
apply to a run (NaN) are left out of its point's count ``n``.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from subnetsim.sweep.config import Sweep
from subnetsim.sweep.metrics import RunData, run_metrics
from subnetsim.sweep.results import ResultsDir

__all__ = ["Interval", "mean_interval", "per_run_metrics", "summarize", "format_summary",
           "t_quantile", "write_csv"]

# Two-sided 95% quantiles t(0.975, df) for df = 1..30 (any statistics table, e.g. NIST/SEMATECH
# e-Handbook 1.3.6.7.2); larger df use the Cornish-Fisher expansion around the normal quantile.
_T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
          2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
          2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
_Z_975 = 1.959963984540054


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Interval:
    """Mean of ``count`` finite values and its 95% confidence interval (NaN when undefined)."""

    mean: float
    low: float
    high: float
    count: int


def t_quantile(df: int) -> float:
    """t(0.975, df): the 95% two-sided Student t quantile."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(_T_975):
        return _T_975[df - 1]
    z = _Z_975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_interval(values: Iterable[float]) -> Interval:
    """Mean and 95% t interval of the finite ``values``."""
    data = np.array([v for v in values if math.isfinite(v)], dtype=float)
    count = len(data)
    if count == 0:
        return Interval(mean=math.nan, low=math.nan, high=math.nan, count=0)
    mean = float(data.mean())
    if count == 1:
        return Interval(mean=mean, low=math.nan, high=math.nan, count=1)
    half = t_quantile(count - 1) * float(data.std(ddof=1)) / math.sqrt(count)
    return Interval(mean=mean, low=mean - half, high=mean + half, count=count)


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


def format_summary(sweep: Sweep, summary: Sequence[Mapping[str, Any]]) -> str:
    """A text table: parameters, runs, then ``mean [low, high]`` per applicable metric."""
    from subnetsim.tables import format_table

    metrics = [m for m in sweep.metrics if any(row[f"{m}_n"] for row in summary)]
    headers = ["POINT", *sweep.parameters, "RUNS", *metrics]
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
