"""The uid inspector (Enter on a metagraph row): why a uid earns what it earns.

Series over epochs with their units (stake, incentive, dividends, validator trust, TAO paid,
model loss), the weights it gives and receives now, and its events: registration, pruning,
rejected extrinsics, and halts that stopped its pay. Esc closes it.
"""

from __future__ import annotations

import math
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual_plotext import PlotextPlot

from subnetsim.tui.snapshot import Snapshot, UidDetail

__all__ = ["CHARTS", "InspectorScreen", "inspector_title"]

# (series, title with unit, zero-based): shares and TAO start at zero, a loss need not.
CHARTS = (("stake", "stake (TAO)", True), ("incentive", "incentive (share)", True),
          ("dividends", "dividends (share)", True), ("validator_trust", "vtrust (share)", True),
          ("emission_tao", "paid per epoch (TAO)", True), ("model_loss", "model loss (MSE)",
                                                            False))


def inspector_title(detail: UidDetail) -> str:
    """``uid 7 · miner-7 · miner (trainer) · model loss now 0.0123``."""
    loss = "" if math.isnan(detail.model_loss_now) else \
        f" · model loss now {detail.model_loss_now:.4f}"
    who = detail.hotkey or "empty slot"
    return f"[b]uid {detail.uid}[/b] · {who} · {detail.role or '-'} ({detail.behaviour or '-'})" \
           f" · {len(detail.blocks)} epochs{loss} · Esc closes"


class InspectorScreen(Screen[None]):
    """One uid in depth; the app feeds it snapshots while it is open."""

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, uid: int) -> None:
        super().__init__()
        self.uid = uid

    def compose(self) -> ComposeResult:
        yield Static(f"uid {self.uid}: waiting for the simulation ...", id="inspector-title")
        with Grid(id="inspector-charts"):
            for name, _, _ in CHARTS:
                yield PlotextPlot(id=f"inspect-{name}")
        with Horizontal(id="inspector-bottom"):
            with Vertical():
                yield DataTable(id="weights-given", cursor_type="none")
            with Vertical():
                yield DataTable(id="weights-received", cursor_type="none")
            yield Static("", id="inspector-events")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#weights-given", DataTable).add_columns("GIVES TO", "WEIGHT")
        self.query_one("#weights-received", DataTable).add_columns("RECEIVES FROM", "WEIGHT")

    def show(self, snapshot: Snapshot) -> None:
        """Render the inspected uid from ``snapshot`` (nothing until the worker answers)."""
        detail = snapshot.inspected
        if detail is None or detail.uid != self.uid:
            return
        self.query_one("#inspector-title", Static).update(inspector_title(detail))
        series = dict(detail.series)
        for name, title, zero_based in CHARTS:
            _plot(self.query_one(f"#inspect-{name}", PlotextPlot), title, detail.blocks,
                  series.get(name, ()), zero_based, snapshot.markers)
        for table_id, rows in (("#weights-given", detail.weights_given),
                               ("#weights-received", detail.weights_received)):
            table = self.query_one(table_id, DataTable)
            table.clear()
            table.add_rows((str(uid), f"{share:.3f}") for uid, share in rows)
            if not rows:
                table.add_row("none", "")
        lines = [f"{e.block:>7,}  {e.text}" for e in detail.events[-14:]]
        self.query_one("#inspector-events", Static).update(
            "\n".join(line.replace("[", "\\[") for line in lines) or "no events for this uid")

    def action_close(self) -> None:
        self.dismiss(None)


def _plot(plot: PlotextPlot, title: str, blocks: tuple[int, ...], values: Any,
          zero_based: bool, markers: tuple[tuple[int, str], ...]) -> None:
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
    points = [(b, v) for b, v in zip(blocks, values, strict=False) if not math.isnan(v)]
    plt.title(title if points else f"{title}: no data")
    plt.xlabel("block")
    if points:
        xs, ys = zip(*points, strict=True)
        plt.plot(list(xs), list(ys), marker="braille")
        top = max(ys)
        if zero_based:
            plt.ylim(0, top * 1.1 if top > 0 else 1)
        for block, kind in markers:
            if xs[0] <= block <= xs[-1] and kind in ("halt", "resume"):
                plt.vline(block, "red" if kind == "halt" else "green")
    plot.refresh()
