"""Sweep plots (matplotlib, PNG, no display needed): one figure per applicable metric.

* one parameter: the metric's mean against the parameter, with its 95% interval;
* a two-parameter grid: one line per value of the parameter with fewer values, across the
  other (``plot-<metric>.png``), and a heatmap of the means (``heatmap-<metric>.png``);
* anything else (zip, random, more parameters): one panel per parameter, every point;
* trajectories (``trajectory-<metric>.png``): the metric on each epoch alone, mean and 95%
  band across seeds, one small panel per point.

Every figure shows each seed's value as a faint dot beside the mean and says how many seeds
the means are over.

Figures are built with ``matplotlib.figure.Figure`` directly (the Agg canvas), so no pyplot
state and no global backend switch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from subnetsim.sweep.config import Sweep
from subnetsim.sweep.metrics import METRICS

__all__ = ["plot_summary", "plot_trajectories", "seeds_text"]

Row = Mapping[str, Any]
MAX_TRAJECTORY_PANELS = 24


def plot_summary(sweep: Sweep, summary: Sequence[Row], out_dir: str | Path,
                 run_rows: Sequence[Row] = ()) -> list[Path]:
    """Write the plots of every metric with at least one finite mean (each seed's value from
    ``run_rows`` drawn beside its mean); return their paths."""
    out = Path(out_dir)
    paths = []
    names = sweep.parameters
    runs = {point.index: [row for row in run_rows if row["point"] == point.index]
            for point in sweep.points}
    for metric in sweep.metrics:
        if not any(row[f"{metric}_n"] for row in summary):
            continue
        title = f"{sweep.name}: {metric} (mean, 95% interval, {seeds_text(summary, metric)})"
        if len(names) == 1:
            paths.append(_save(_lines(summary, metric, names[0], None, title, runs),
                               out / f"plot-{metric}.png"))
        elif len(names) == 2 and sweep.file.mode == "grid":
            across, lines = _axis_order(summary, names)
            paths.append(_save(_lines(summary, metric, across, lines, title, runs),
                               out / f"plot-{metric}.png"))
            paths.append(_save(_heatmap(summary, metric, lines, across,
                                        f"{sweep.name} ({seeds_text(summary, metric)})"),
                               out / f"heatmap-{metric}.png"))
        else:
            paths.append(_save(_panels(summary, metric, names, title, runs),
                               out / f"plot-{metric}.png"))
    return paths


def seeds_text(summary: Sequence[Row], metric: str) -> str:
    """'n = 5 seeds' (or 'n = 3-5 seeds' when points lost runs) for a figure's title."""
    counts = [row[f"{metric}_n"] for row in summary if row[f"{metric}_n"]]
    low, high = min(counts, default=0), max(counts, default=0)
    return f"n = {low} seeds" if low == high else f"n = {low}-{high} seeds"


def plot_trajectories(name: str, points: Sequence[tuple[int, Mapping[str, Any]]],
                      bands: Sequence[Row], out_dir: str | Path,
                      warmup_epochs: int = 0) -> list[Path]:
    """Per metric, one small panel per (point index, parameter values) in ``points`` (up to
    MAX_TRAJECTORY_PANELS): the mean over seeds on each epoch and its 95% band
    (``trajectory_bands``); warm-up epochs shaded. Returns the paths."""
    out = Path(out_dir)
    paths = []
    for metric in dict.fromkeys(row["metric"] for row in bands):
        rows = [row for row in bands if row["metric"] == metric]
        if not any(math.isfinite(row["mean"]) for row in rows):
            continue
        shown = list(points)[:MAX_TRAJECTORY_PANELS]
        columns = min(4, len(shown))
        grid = math.ceil(len(shown) / columns)
        figure = _figure(3.2 * columns, 1.2 + 2.2 * grid)
        panels = figure.subplots(grid, columns, squeeze=False, sharex=True, sharey=True)
        counts = [row["n"] for row in rows if row["n"]]
        for axes, (index, values) in zip(panels.flat, shown, strict=False):
            mine = [row for row in rows if row["point"] == index]
            epochs = [row["epoch"] for row in mine]
            axes.plot(epochs, [row["mean"] for row in mine], color="C0")
            axes.fill_between(epochs, [_or(row["low"], row["mean"]) for row in mine],
                              [_or(row["high"], row["mean"]) for row in mine],
                              color="C0", alpha=0.25, linewidth=0)
            if warmup_epochs:
                axes.axvspan(min(epochs, default=0) - 0.5, warmup_epochs + 0.5,
                             color="grey", alpha=0.12)
            parity = METRICS[metric].parity
            if parity is not None:
                axes.axhline(parity, color="grey", linestyle="--", linewidth=0.8)
            axes.set_title(_panel_title(index, values), fontsize=6.5)
            axes.grid(alpha=0.3)
        for axes in list(panels.flat)[len(shown):]:
            axes.set_visible(False)
        more = (f"; first {len(shown)} of {len(points)} points"
                if len(points) > len(shown) else "")
        seeds = f"n = {min(counts, default=0)}-{max(counts, default=0)} seeds" \
            if counts and min(counts) != max(counts) else f"n = {max(counts, default=0)} seeds"
        figure.suptitle(f"{name}: {METRICS[metric].label} per epoch "
                        f"(mean and 95% band, {seeds}{more}; grey: warm-up)", fontsize=9)
        figure.supxlabel("epoch", fontsize=8)
        paths.append(_save(figure, out / f"trajectory-{metric}.png"))
    return paths


def _panel_title(index: int, values: Mapping[str, Any]) -> str:
    """``#3`` and the point's values, short and wrapped to fit a small panel."""
    import textwrap

    parts = [f"{name.split('.')[-1]}={_short(value)}" for name, value in values.items()]
    return "\n".join(textwrap.wrap(f"#{index}: " + ", ".join(parts), width=48)[:3])


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else _label(value)


def _or(value: float, fallback: float) -> float:
    return value if math.isfinite(value) else fallback


def _figure(width: float = 6.4, height: float = 4.2) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _save(figure: Any, path: Path) -> Path:
    figure.savefig(path)
    return path


def _axis_order(summary: Sequence[Row], names: Sequence[str]) -> tuple[str, str]:
    """(x axis, line parameter): the parameter with more distinct values goes across."""
    counts = [len({_key(row[name]) for row in summary}) for name in names]
    return (names[0], names[1]) if counts[0] >= counts[1] else (names[1], names[0])


def _lines(summary: Sequence[Row], metric: str, across: str, lines: str | None,
           title: str, runs: Mapping[int, Sequence[Row]]) -> Any:
    figure = _figure()
    axes = figure.add_subplot()
    groups = _distinct(summary, lines) if lines else [None]
    positions, labels = _positions(summary, across)
    span = (max(positions.values()) - min(positions.values())) or 1.0
    for number, group in enumerate(groups):
        rows = [row for row in summary if lines is None or _key(row[lines]) == _key(group)]
        rows.sort(key=lambda row: positions[_key(row[across])])
        # Nudge each line sideways a little so that overlapping intervals stay readable.
        nudge = (number - (len(groups) - 1) / 2) * 0.012 * span
        x = [positions[_key(row[across])] + nudge for row in rows]
        mean, below, above = _error_bars(rows, metric)
        label = f"{lines} = {_label(group)}" if lines else None
        drawn = axes.errorbar(x, mean, yerr=[below, above], marker="o", capsize=4, label=label)
        _seed_dots(axes, rows, x, metric, runs, drawn.lines[0].get_color())
    if labels:
        axes.set_xticks(list(positions.values()), labels)
    parity = METRICS[metric].parity
    if parity is not None:
        axes.axhline(parity, color="grey", linestyle="--", linewidth=1, label="parity")
    axes.set_xlabel(across)
    axes.set_ylabel(METRICS[metric].label)
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3)
    if lines or parity is not None:
        axes.legend()
    return figure


def _heatmap(summary: Sequence[Row], metric: str, rows_name: str, columns_name: str,
             title: str) -> Any:
    row_values, column_values = _distinct(summary, rows_name), _distinct(summary, columns_name)
    grid = np.full((len(row_values), len(column_values)), np.nan)
    row_index = {_key(v): i for i, v in enumerate(row_values)}
    column_index = {_key(v): j for j, v in enumerate(column_values)}
    for row in summary:
        grid[row_index[_key(row[rows_name])], column_index[_key(row[columns_name])]] = \
            row[f"{metric}_mean"]
    figure = _figure(6.4, 1.6 + 0.6 * len(row_values))
    axes = figure.add_subplot()
    image = axes.imshow(grid, aspect="auto", cmap="viridis")
    figure.colorbar(image, ax=axes, label=METRICS[metric].label)
    axes.set_xticks(range(len(column_values)), [_label(v) for v in column_values])
    axes.set_yticks(range(len(row_values)), [_label(v) for v in row_values])
    axes.set_xlabel(columns_name)
    axes.set_ylabel(rows_name)
    for (i, j), value in np.ndenumerate(grid):
        if math.isfinite(value):
            axes.text(j, i, f"{value:.3g}", ha="center", va="center", color="white", fontsize=8)
    axes.set_title(f"{title}: {metric} (mean)")
    return figure


def _panels(summary: Sequence[Row], metric: str, names: Sequence[str], title: str,
            runs: Mapping[int, Sequence[Row]]) -> Any:
    figure = _figure(4.0 * len(names), 3.8)
    panels = figure.subplots(1, len(names), squeeze=False)[0]
    for axes, name in zip(panels, names, strict=True):
        positions, labels = _positions(summary, name)
        x = [positions[_key(row[name])] for row in summary]
        mean, below, above = _error_bars(summary, metric)
        axes.errorbar(x, mean, yerr=[below, above], fmt="o", capsize=3)
        _seed_dots(axes, summary, x, metric, runs, "C0")
        if labels:
            axes.set_xticks(list(positions.values()), labels)
        axes.set_xlabel(name)
        axes.grid(alpha=0.3)
    panels[0].set_ylabel(METRICS[metric].label)
    figure.suptitle(title, fontsize=9)
    return figure


def _seed_dots(axes: Any, rows: Sequence[Row], x: Sequence[float], metric: str,
               runs: Mapping[int, Sequence[Row]], color: str) -> None:
    """Each seed's value of each point, as faint dots at the point's x."""
    dots_x, dots_y = [], []
    for position, row in zip(x, rows, strict=True):
        for run in runs.get(row["point"], ()):
            if math.isfinite(run[metric]):
                dots_x.append(position)
                dots_y.append(run[metric])
    if dots_x:
        axes.scatter(dots_x, dots_y, s=10, color=color, alpha=0.35, linewidths=0, zorder=3)


def _error_bars(rows: Sequence[Row], metric: str) -> tuple[list[float], ...]:
    mean = [row[f"{metric}_mean"] for row in rows]
    below = [_gap(m, row[f"{metric}_low"], m) for m, row in zip(mean, rows, strict=True)]
    above = [_gap(row[f"{metric}_high"], m, m) for m, row in zip(mean, rows, strict=True)]
    return mean, below, above


def _gap(upper: float, lower: float, mean: float) -> float:
    return upper - lower if math.isfinite(upper - lower) and math.isfinite(mean) else 0.0


def _positions(summary: Sequence[Row], name: str) -> tuple[dict[Any, float], list[str] | None]:
    """x position per value: the value itself when numeric, else its index (with labels)."""
    values = _distinct(summary, name)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return {_key(v): float(v) for v in values}, None
    return {_key(v): float(i) for i, v in enumerate(values)}, [_label(v) for v in values]


def _distinct(summary: Sequence[Row], name: str) -> list[Any]:
    seen: dict[Any, Any] = {}
    for row in summary:
        seen.setdefault(_key(row[name]), row[name])
    return sorted(seen.values(), key=lambda v: (str(type(v)), v))


def _key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)  # keeps True apart from 1


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)
