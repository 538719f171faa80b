"""Weights: heatmaps of the validator x miner weight matrix and bonds, and consensus per miner.

Each cell's colour is its value over the matrix's largest value (dark: zero), so the pattern
of agreement between validators is visible at a glance; the exact numbers are in the caption.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import ScrollableContainer
from textual.widgets import Static

from subnetsim.tui.snapshot import Snapshot, WeightsView

__all__ = ["WeightsPane", "heatmap_text"]

ZERO = "#303030"
RAMP = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
        "#6ece58", "#b5de2b", "#fde725")  # viridis, low to high
LABEL_WIDTH = 7


def _colour(value: float, top: float) -> str:
    if value <= 0 or top <= 0:
        return ZERO
    return RAMP[min(int(value / top * len(RAMP)), len(RAMP) - 1)]


def _header(miner_uids: np.ndarray, cell: int) -> Text:
    line = [" "] * (len(miner_uids) * cell)
    for column, uid in enumerate(miner_uids):
        if column % 5 == 0:
            label = str(int(uid))
            start = column * cell
            line[start:start + len(label)] = list(label)
    return Text("miner".ljust(LABEL_WIDTH) + "".join(line[:len(miner_uids) * cell]),
                style="dim")


def _matrix(text: Text, title: str, matrix: np.ndarray, view: WeightsView, cell: int) -> None:
    top = float(matrix.max()) if matrix.size else 0.0
    text.append(f"{title} (max {top:.4f})\n", style="bold")
    text.append_text(_header(view.miner_uids, cell))
    text.append("\n")
    for row, uid in enumerate(view.validator_uids):
        text.append(f"v{int(uid):<{LABEL_WIDTH - 1}}")
        for value in matrix[row]:
            text.append(" " * cell, style=f"on {_colour(float(value), top)}")
        text.append("\n")


def heatmap_text(view: WeightsView, cell: int = 2) -> Text:
    """Weights, bonds and consensus as coloured cells, one column per miner."""
    text = Text()
    if view.validator_uids.size == 0 or view.miner_uids.size == 0:
        text.append("No validator x miner weights yet: validators commit, then reveal one "
                    "epoch later.")
        return text
    _matrix(text, "Weights (each validator's row sums to 1)", view.weights, view, cell)
    text.append("\n")
    _matrix(text, "Bonds", view.bonds, view, cell)
    text.append("\n")
    top = float(view.consensus.max())
    text.append(f"Consensus per miner (max {top:.4f})\n", style="bold")
    text.append_text(_header(view.miner_uids, cell))
    text.append("\n" + "C".ljust(LABEL_WIDTH))
    for value in view.consensus:
        text.append(" " * cell, style=f"on {_colour(float(value), top)}")
    text.append("\n\nscale: ")
    text.append("  ", style=f"on {ZERO}")
    text.append(" 0  ")
    for colour in RAMP:
        text.append(" ", style=f"on {colour}")
    text.append(" max\n")
    order = np.argsort(-view.consensus, kind="stable")[:8]
    text.append("top consensus: " + ", ".join(
        f"uid {int(view.miner_uids[i])} {float(view.consensus[i]):.4f}" for i in order))
    return text


class WeightsPane(ScrollableContainer):
    """Scrollable heatmaps (wide subnets scroll sideways)."""

    def compose(self) -> ComposeResult:
        yield Static("", id="heatmap")

    def show(self, snapshot: Snapshot) -> None:
        """Render ``snapshot``."""
        view = snapshot.weights
        cell = 2 if view.miner_uids.size <= 56 else 1
        self.query_one("#heatmap", Static).update(heatmap_text(view, cell))
