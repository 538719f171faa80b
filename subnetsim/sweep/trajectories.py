"""Metrics over epochs: each per-epoch metric computed on every epoch of every run alone.

A sweep's summary reduces a run to one number; its trajectory shows how the number got there
(bonds filling up, a copier falling behind once commit-reveal bites). ``run_trajectory`` is a
pure function of one run's table; ``trajectory_bands`` reduces the runs of each point to the
mean and the 95% interval across seeds per epoch (``subnetsim.sweep.intervals``). The long
table (``trajectories.parquet``) has one row per (point, replicate, epoch, metric).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from subnetsim.sweep.intervals import mean_interval
from subnetsim.sweep.metrics import METRICS, BehaviourGroups, RunData, run_metrics

__all__ = ["TRAJECTORY_COLUMNS", "per_epoch_metrics", "run_trajectory", "trajectory_bands",
           "write_trajectories"]

TRAJECTORY_COLUMNS = ("point", "replicate", "seed", "epoch", "metric", "value")


def per_epoch_metrics(names: Iterable[str]) -> tuple[str, ...]:
    """The metrics among ``names`` that mean something on one epoch (not halt times)."""
    return tuple(name for name in names if METRICS[name].per_epoch)


def run_trajectory(run: RunData, names: Sequence[str],
                   groups: BehaviourGroups) -> list[tuple[int, str, float]]:
    """(epoch, metric, value) for every epoch of ``run`` and every per-epoch metric in
    ``names``, each epoch on its own rows (warm-up epochs included: they show the start)."""
    rows = []
    metrics = per_epoch_metrics(names)
    for epoch in np.unique(run.epoch):
        keep = run.epoch == epoch
        single = dataclasses.replace(run, **{name: getattr(run, name)[keep]
                                             for name in _ROW_FIELDS})
        for name, value in run_metrics(single, metrics, groups).items():
            rows.append((int(epoch), name, value))
    return rows


_ROW_FIELDS = ("epoch", "uid", "role", "behaviour", "stake", "incentive", "dividends",
               "incentive_tao", "dividends_tao", "model_loss")


def trajectory_bands(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per (point, metric, epoch): mean, low, high and n across seeds (NaN values left out)."""
    groups: dict[tuple[int, str, int], list[float]] = defaultdict(list)
    for row in rows:
        groups[(row["point"], row["metric"], row["epoch"])].append(row["value"])
    bands = []
    for (point, metric, epoch), values in sorted(groups.items()):
        interval = mean_interval(values)
        bands.append({"point": point, "metric": metric, "epoch": epoch, "mean": interval.mean,
                      "low": interval.low, "high": interval.high, "n": interval.count})
    return bands


def write_trajectories(path: str | Path, rows: Sequence[Mapping[str, Any]],
                       keys: Mapping[str, Any] | None = None) -> Path:
    """Write the long trajectory table (columns ``TRAJECTORY_COLUMNS``, ``keys`` first as
    constant columns) as Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    columns: dict[str, Any] = {name: [row[name] for row in rows] for name in TRAJECTORY_COLUMNS}
    types = {"point": pa.int64(), "replicate": pa.int64(), "seed": pa.int64(),
             "epoch": pa.int64(), "metric": pa.string(), "value": pa.float64()}
    arrays = {name: pa.array(values, type=types[name], from_pandas=True)
              for name, values in columns.items()}
    for name, value in reversed(list((keys or {}).items())):
        # Typed from the value, so that an empty table (a failed trial) has the same schema.
        arrays = {name: pa.array([value] * len(rows), type=pa.scalar(value).type), **arrays}
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(pa.table(arrays), partial)
    partial.replace(path)
    return path
