"""A/B: fork the session at this block into two worlds that differ in one setting.

Press ``/``, type ``kappa 0.5 0.6`` (a hyperparameter and two values) and Enter: both sides
start from the session's state at this block on the same seed, and run side by side while the
session waits.
Each side's table lists every uid's incentive, dividends and stake; B's also the change
from A. The charts below show incentive per behaviour group on each side. ``x`` ends the A/B.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Static
from textual_plotext import PlotextPlot

from subnetsim.commands import validated_hyperparameters
from subnetsim.subnet.config import Hyperparameters, parse_assignment
from subnetsim.subnet.errors import ConfigError, SubnetSimError
from subnetsim.tui.messages import ForkRequested, ForkStopRequested
from subnetsim.tui.snapshot import ABSide, Snapshot
from subnetsim.tui.widgets.charts import group_series

__all__ = ["ABPane", "ab_rows", "parse_ab"]


def parse_ab(text: str, hyper: Hyperparameters) -> tuple[str, Any, Any]:
    """``kappa 0.5 0.6`` (or ``kappa=0.5,0.6``) -> ("kappa", 0.5, 0.6), both values checked."""
    words = text.replace("=", " ").replace(",", " ").split()
    if len(words) != 3:
        raise ConfigError("A/B", text, "expected a hyperparameter and two values, e.g. "
                          "kappa 0.5 0.6")
    name = words[0]
    values = [parse_assignment(f"{name}={word}")[1] for word in words[1:]]
    for value in values:
        validated_hyperparameters(hyper, name, value)
    return name, values[0], values[1]


def ab_rows(side: ABSide, base: ABSide | None) -> list[tuple[str, ...]]:
    """Per registered uid: uid, incentive (and its change from A's), dividends, stake,
    behaviour; the change comes second so a narrow terminal still shows it."""
    metagraph = side.metagraph
    rows = []
    for uid in np.flatnonzero(metagraph.registered):
        row = [str(uid), f"{metagraph.incentive[uid]:.4f}"]
        if base is not None:
            row.append(f"{float(metagraph.incentive[uid] - base.metagraph.incentive[uid]):+.1e}")
        row += [f"{metagraph.dividends[uid]:.4f}", f"{metagraph.stake[uid]:,.1f}",
                side.behaviours[uid]]
        rows.append(tuple(row))
    return rows


class ABPane(Vertical):
    """The A/B input, both sides' tables, and incentive per group on each side."""

    BINDINGS = [Binding("x", "stop_ab", "End A/B"),
                Binding("slash", "focus_input", "A/B setting", show=False)]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._hyper: Hyperparameters | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ then a hyperparameter and two values, e.g. kappa 0.5 0.6 — "
                    "Enter forks here, Esc leaves", id="ab-input",
                    select_on_focus=False)
        yield Static("No A/B yet: the session runs on its own.", id="ab-caption")
        with Horizontal(id="ab-tables"):
            yield DataTable(id="ab-table-a", classes="main-table", cursor_type="row")
            yield DataTable(id="ab-table-b", cursor_type="row")
        with Horizontal(id="ab-charts"):
            yield PlotextPlot(id="ab-plot-a")
            yield PlotextPlot(id="ab-plot-b")

    def on_mount(self) -> None:
        self.query_one("#ab-table-a", DataTable).add_columns(
            "UID", "A INCENTIVE", "DIVIDENDS", "STAKE", "BEHAVIOUR")
        self.query_one("#ab-table-b", DataTable).add_columns(
            "UID", "B INCENTIVE", "Δ vs A", "DIVIDENDS", "STAKE", "BEHAVIOUR")

    def show(self, snapshot: Snapshot) -> None:
        """Render both sides (or the prompt when no A/B runs)."""
        self._hyper = snapshot.hyper
        ab = snapshot.ab
        caption = self.query_one("#ab-caption", Static)
        if ab is None:
            caption.update("No A/B running: / then a setting and two values, e.g. kappa 0.5 "
                           "0.6, Enter.")
            return
        a, b = ab.sides
        caption.update(f"[b]{ab.name}[/b]: A = {a.value!r}, B = {b.value!r} · forked at block "
                       f"{ab.fork_block:,}, now {ab.block:,} · same seed · digests "
                       f"{a.digest[:8]} / {b.digest[:8]} · x ends")
        for side, base, table_id, plot_id in ((a, None, "#ab-table-a", "#ab-plot-a"),
                                              (b, a, "#ab-table-b", "#ab-plot-b")):
            table = self.query_one(table_id, DataTable)
            cursor = table.cursor_row
            table.clear()
            table.add_rows(ab_rows(side, base))
            table.move_cursor(row=cursor, animate=False)
            _plot(self.query_one(plot_id, PlotextPlot), side, ab.fork_block)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        caption = self.query_one("#ab-caption", Static)
        try:
            if self._hyper is None:
                raise SubnetSimError("no snapshot yet")
            name, a, b = parse_ab(event.value, self._hyper)
        except SubnetSimError as problem:
            caption.update(f"[red]refused: {str(problem).replace('[', chr(92) + '[')}[/red]")
            return
        caption.update(f"forking: {name} = {a!r} vs {b!r} ...")
        self.query_one("#ab-table-a", DataTable).focus()
        self.post_message(ForkRequested(name, a, b))

    def action_focus_input(self) -> None:
        self.query_one(Input).focus()

    def action_stop_ab(self) -> None:
        self.post_message(ForkStopRequested())


def _plot(plot: PlotextPlot, side: ABSide, fork_block: int) -> None:
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
    plt.title(f"{side.label}: incentive share per group")
    plt.xlabel("block")
    for group, (_, values) in sorted(group_series(side.history, "incentive_by_group").items()):
        blocks = [p.block for p in side.history][-len(values):]
        plt.plot(blocks, values, label=group, marker="braille")
    plt.ylim(0, 1)
    if side.history and side.history[0].block <= fork_block:
        plt.vline(fork_block, "yellow")
    plot.refresh()
