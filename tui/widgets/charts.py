"""Charts: incentive and dividends share per behaviour group over epochs (textual-plotext).

Shares are drawn on a zero-based axis from 0 to 1 against the epoch's block, every group is in
the legend (one that earned nothing is a line at zero), and halts, resumes and edits are
vertical lines.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual_plotext import PlotextPlot

from subnetsim.tui.snapshot import EpochPoint, Snapshot
from subnetsim.tui.widgets.plotting import draw_lines

__all__ = ["ChartsPane", "group_series"]


def group_series(history: tuple[EpochPoint, ...],
                 field: str) -> dict[str, tuple[list[int], list[float]]]:
    """Per group: (epoch blocks, values) of ``incentive_by_group`` or ``dividends_by_group``."""
    series: dict[str, tuple[list[int], list[float]]] = {}
    for point in history:
        for group, value in getattr(point, field):
            blocks, values = series.setdefault(group, ([], []))
            blocks.append(point.block)
            values.append(value)
    return series


class ChartsPane(Horizontal):
    """Two line charts side by side."""

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="incentive-plot")
        yield PlotextPlot(id="dividends-plot")

    def show(self, snapshot: Snapshot) -> None:
        """Render ``snapshot``."""
        for plot_id, field, title in (
            ("#incentive-plot", "incentive_by_group", "Incentive per group"),
            ("#dividends-plot", "dividends_by_group", "Dividends per group"),
        ):
            draw_lines(self.query_one(plot_id, PlotextPlot), title, "share (0-1)",
                       group_series(snapshot.history, field), snapshot.markers, top=1.0)
