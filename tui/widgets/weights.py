"""Weights: heatmaps of the validator x miner weights and bonds, and consensus per miner.

Readable at 256 uids: miner columns are sorted by consensus (highest left), and a cell's
colour is its percentile among the matrix's non-zero values (dark: zero), so a few large
values do not flatten the rest into one colour. Arrow keys move a cursor over the weights (the
view scrolls with it) and the line above reads out the cell: validator, miner, weight, bond
and the miner's consensus.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer, Vertical
from textual.widgets import Static

from subnetsim.tui.snapshot import Snapshot, WeightsView

__all__ = ["WeightsPane", "consensus_order", "heatmap_text", "percentile_levels", "readout"]

ZERO = "#303030"
RAMP = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
        "#6ece58", "#b5de2b", "#fde725")  # viridis, low to high
LABEL_WIDTH = 7
CURSOR = "on #ff00ff"


def consensus_order(view: WeightsView) -> np.ndarray:
    """Column order: consensus descending, then uid."""
    return np.lexsort((view.miner_uids, -view.consensus))


def percentile_levels(matrix: np.ndarray) -> np.ndarray:
    """Ramp level per cell from its percentile among the non-zero cells; -1 for zero."""
    levels = np.full(matrix.shape, -1, dtype=int)
    positive = matrix > 0
    values = matrix[positive]
    if values.size:
        ranks = np.searchsorted(np.sort(values), values, side="right") / values.size
        levels[positive] = np.minimum((ranks * len(RAMP)).astype(int), len(RAMP) - 1)
    return levels


def _header(miner_uids: np.ndarray, cell: int) -> Text:
    line = [" "] * (len(miner_uids) * cell)
    for column, uid in enumerate(miner_uids):
        if column % 5 == 0:
            label = str(int(uid))
            start = column * cell
            line[start:start + len(label)] = list(label)
    return Text("miner".ljust(LABEL_WIDTH) + "".join(line[:len(miner_uids) * cell]),
                style="dim")


def _matrix(text: Text, title: str, matrix: np.ndarray, rows: np.ndarray, miners: np.ndarray,
            cell: int, cursor: tuple[int, int] | None) -> None:
    text.append(f"{title} (colour: percentile of non-zero values)\n", style="bold")
    text.append_text(_header(miners, cell))
    text.append("\n")
    levels = percentile_levels(matrix)
    for row, uid in enumerate(rows):
        text.append(f"v{int(uid):<{LABEL_WIDTH - 1}}")
        for column, level in enumerate(levels[row]):
            style = CURSOR if cursor == (row, column) else \
                f"on {ZERO if level < 0 else RAMP[level]}"
            text.append(" " * cell, style=style)
        text.append("\n")


def heatmap_text(view: WeightsView, cell: int = 2,
                 cursor: tuple[int, int] | None = None) -> Text:
    """Weights, bonds and consensus as coloured cells, one column per miner (by consensus)."""
    text = Text()
    if view.validator_uids.size == 0 or view.miner_uids.size == 0:
        text.append("No validator x miner weights yet: validators commit, then reveal one "
                    "epoch later.")
        return text
    order = consensus_order(view)
    miners = view.miner_uids[order]
    _matrix(text, "Weights (rows sum to 1)", view.weights[:, order], view.validator_uids,
            miners, cell, cursor)
    text.append("\n")
    _matrix(text, "Bonds", view.bonds[:, order], view.validator_uids, miners, cell, None)
    text.append("\n")
    text.append("Consensus per miner (highest left)\n", style="bold")
    text.append_text(_header(miners, cell))
    text.append("\n" + "C".ljust(LABEL_WIDTH))
    for level in percentile_levels(view.consensus[order][None, :])[0]:
        text.append(" " * cell, style=f"on {ZERO if level < 0 else RAMP[level]}")
    text.append("\n\nscale: ")
    text.append("  ", style=f"on {ZERO}")
    text.append(" 0  ")
    for colour in RAMP:
        text.append(" ", style=f"on {colour}")
    text.append(" percentile 0 → 100 of the non-zero values\n")
    return text


def readout(view: WeightsView, cursor: tuple[int, int]) -> str:
    """``v3 → miner 45: weight 0.0123, bond 0.0456, consensus 0.0078 (rank 4 of 240)``."""
    if view.validator_uids.size == 0 or view.miner_uids.size == 0:
        return "no weights yet"
    row, column = cursor
    order = consensus_order(view)
    miner = order[column]
    return (f"v{int(view.validator_uids[row])} → miner {int(view.miner_uids[miner])}: weight "
            f"{float(view.weights[row, miner]):.4f}, bond {float(view.bonds[row, miner]):.4f}, "
            f"consensus {float(view.consensus[miner]):.4f} (rank {column + 1} of "
            f"{view.miner_uids.size}) · arrows move, PgUp/PgDn jump")


class WeightsPane(Vertical):
    """A read-out line over scrollable heatmaps; the cursor is moved with the arrow keys."""

    can_focus = True
    BINDINGS = [Binding("left", "move(0, -1)", "Left", show=False),
                Binding("right", "move(0, 1)", "Right", show=False),
                Binding("up", "move(-1, 0)", "Up", show=False),
                Binding("down", "move(1, 0)", "Down", show=False),
                Binding("pageup", "move(0, -20)", "Page left", show=False),
                Binding("pagedown", "move(0, 20)", "Page right", show=False)]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cursor = (0, 0)
        self._view: WeightsView | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="weights-readout")
        with ScrollableContainer(id="heatmap-scroll"):
            yield Static("", id="heatmap")

    def show(self, snapshot: Snapshot) -> None:
        """Render ``snapshot``."""
        self._view = snapshot.weights
        self._draw()

    def action_move(self, rows: int, columns: int) -> None:
        """Move the cursor (clamped to the matrix) and keep it in view."""
        if self._view is None:
            return
        height, width = self._view.weights.shape
        row, column = self.cursor
        self.cursor = (min(max(row + rows, 0), max(height - 1, 0)),
                       min(max(column + columns, 0), max(width - 1, 0)))
        self._draw()

    def _cell(self) -> int:
        """Two columns per miner when that fits the panel, else one."""
        if self._view is None:
            return 1
        width = self.query_one("#heatmap-scroll", ScrollableContainer).size.width
        return 2 if LABEL_WIDTH + 2 * self._view.miner_uids.size <= max(width - 2, 0) else 1

    def _draw(self) -> None:
        view = self._view
        if view is None:
            return
        height, width = view.weights.shape
        row, column = self.cursor
        self.cursor = (min(row, max(height - 1, 0)), min(column, max(width - 1, 0)))
        self.query_one("#heatmap", Static).update(heatmap_text(view, self._cell(), self.cursor))
        self.query_one("#weights-readout", Static).update(readout(view, self.cursor))
        scroll = self.query_one("#heatmap-scroll", ScrollableContainer)
        x = LABEL_WIDTH + self.cursor[1] * self._cell()
        y = 2 + self.cursor[0]
        # Scroll only when the cursor would leave the visible region.
        if not scroll.scroll_x <= x < scroll.scroll_x + scroll.size.width - 2:
            scroll.scroll_to(x=max(0, x - scroll.size.width // 2), animate=False)
        if not scroll.scroll_y <= y < scroll.scroll_y + scroll.size.height:
            scroll.scroll_to(y=max(0, y - 2), animate=False)
