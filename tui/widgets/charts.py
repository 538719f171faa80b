"""Charts: incentive and dividends per behaviour group over epochs (textual-plotext)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual_plotext import PlotextPlot

from subnetsim.tui.snapshot import EpochPoint, Snapshot

__all__ = ["ChartsPane", "group_series"]


def group_series(history: tuple[EpochPoint, ...],
                 field: str) -> dict[str, tuple[list[int], list[float]]]:
    """Per group: (epoch indices, values) of ``incentive_by_group`` or ``dividends_by_group``."""
    series: dict[str, tuple[list[int], list[float]]] = {}
    for point in history:
        for group, value in getattr(point, field):
            epochs, values = series.setdefault(group, ([], []))
            epochs.append(point.index)
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
            ("#incentive-plot", "incentive_by_group", "Incentive share per group"),
            ("#dividends-plot", "dividends_by_group", "Dividends share per group"),
        ):
            plot = self.query_one(plot_id, PlotextPlot)
            plt = plot.plt
            plt.clear_data()
            plt.clear_figure()
            plt.title(title)
            plt.xlabel("epoch")
            series = group_series(snapshot.history, field)
            for group, (epochs, values) in sorted(series.items()):
                if any(values):
                    plt.plot(epochs, values, label=group, marker="braille")
            if not series:
                plt.title(f"{title}: no epoch yet")
            plt.ylim(0, 1)
            plot.refresh()
