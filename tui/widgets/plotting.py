"""Line charts that can be trusted: axes with units, zero-based shares, every series in the
legend (a group that earned nothing is a flat line at zero, not a missing one), and vertical
markers where the session was halted, resumed or edited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual_plotext import PlotextPlot

__all__ = ["MARKER_COLOURS", "draw_lines"]

MARKER_COLOURS = {"halt": "red", "extend": "orange", "resume": "green", "edit": "yellow"}


def draw_lines(plot: PlotextPlot, title: str, unit: str,
               series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
               markers: Sequence[tuple[int, str]] = (), zero_based: bool = True,
               top: float | None = None) -> None:
    """Draw ``series`` (label -> (blocks, values)) on ``plot``; ``top`` fixes the y range's
    upper end (1 for shares), else it is 10 % above the largest value."""
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
    points = [value for _, values in series.values() for value in values]
    plt.title(title if points else f"{title}: no epoch yet")
    plt.xlabel("block")
    plt.ylabel(unit)
    for label, (blocks, values) in sorted(series.items()):
        if len(values):
            plt.plot(list(blocks), list(values), label=label, marker="braille")
    if points:
        high = top if top is not None else max(points) * 1.1 or 1.0
        low = 0.0 if zero_based else min(points)
        plt.ylim(low, high if high > low else low + 1.0)
        first = min(b for blocks, _ in series.values() for b in blocks) if points else 0
        kinds = sorted({kind for _, kind in markers})
        for block, kind in markers:
            if block >= first:
                plt.vline(block, MARKER_COLOURS.get(kind, "white"))
        if kinds:
            plt.title(f"{title} · lines: " + ", ".join(
                f"{kind} {MARKER_COLOURS.get(kind, 'white')}" for kind in kinds))
    plot.refresh()
