"""Metagraph: btcli's columns for every registered uid, plus its behaviour and its serving
state (serving, halted, or rogue: serving through a serving halt); sort and filter.

Enter on a row opens the uid inspector. ``o`` moves the sort to the next column (or click a
header), ``i`` inverts the order, and the filter keeps rows whose text holds every typed word
(``val``, ``active``, a behaviour, ``halted``, ``rogue``, a uid).
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from subnetsim.tui.messages import InspectRequested
from subnetsim.tui.snapshot import Snapshot

__all__ = ["COLUMNS", "MetagraphPane", "metagraph_rows", "visible_rows"]

COLUMNS = ("UID", "HOTKEY", "STAKE", "CONSENSUS", "INCENTIVE", "DIVIDENDS", "EMISSION",
           "VTRUST", "VAL", "UPDATED", "ACTIVE", "BEHAVIOUR", "SERVING")
SHARE_COLUMNS = {"CONSENSUS", "INCENTIVE", "DIVIDENDS", "VTRUST"}


def metagraph_rows(snapshot: Snapshot) -> list[tuple[Any, ...]]:
    """One row of raw values per registered uid, in uid order (COLUMNS order)."""
    metagraph = snapshot.metagraph
    serving = snapshot.governance.serving
    rows = []
    for uid in range(metagraph.n):
        if not metagraph.registered[uid]:
            continue
        rows.append((
            uid, metagraph.hotkeys[uid] or "", float(metagraph.stake[uid]),
            float(metagraph.consensus[uid]), float(metagraph.incentive[uid]),
            float(metagraph.dividends[uid]), float(metagraph.emission[uid]),
            float(metagraph.validator_trust[uid]), bool(metagraph.validator_permit[uid]),
            int(metagraph.updated[uid]), bool(metagraph.active[uid]), snapshot.behaviours[uid],
            serving[uid] if uid < len(serving) and serving[uid] else "serving",
        ))
    return rows


def _row_text(row: tuple[Any, ...]) -> str:
    words = [str(row[0]), row[1], row[11], "val" if row[8] else "",
             "active" if row[10] else "inactive", row[12]]
    return " ".join(words).lower()


def visible_rows(rows: list[tuple[Any, ...]], filter_text: str, sort_column: int,
                 reverse: bool) -> list[tuple[Any, ...]]:
    """Rows matching every word of ``filter_text``, sorted by a column (then uid)."""
    words = filter_text.lower().split()
    kept = [row for row in rows if all(word in _row_text(row) for word in words)]
    return sorted(kept, key=lambda row: (row[sort_column], row[0]), reverse=reverse)


def _cells(row: tuple[Any, ...]) -> list[str]:
    cells = []
    for name, value in zip(COLUMNS, row, strict=True):
        if name == "STAKE":
            cells.append(f"{value:,.2f}")
        elif name in SHARE_COLUMNS:
            cells.append(f"{value:.5f}")
        elif name == "EMISSION":
            cells.append(f"{value:,.4f}")
        elif name in ("VAL", "ACTIVE"):
            cells.append("*" if value else "")
        else:
            cells.append(str(value))
    return cells


class MetagraphPane(Vertical):
    """The metagraph table with a filter box."""

    BINDINGS = [
        Binding("o", "next_sort", "Sort column"),
        Binding("i", "invert_sort", "Invert sort"),
        Binding("slash", "focus_filter", "Filter", show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sort_column = 0
        self.reverse = False
        self._snapshot: Snapshot | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: words to match (uid, hotkey, behaviour, val, active)"
                    " — / to focus, Esc to leave", id="metagraph-filter",
                    select_on_focus=False)
        yield Static("", id="metagraph-caption")
        table: DataTable[str] = DataTable(id="metagraph-table", classes="main-table",
                                          zebra_stripes=True, cursor_type="row")
        yield table

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)

    def show(self, snapshot: Snapshot) -> None:
        """Render ``snapshot`` with the current filter and sort."""
        self._snapshot = snapshot
        table = self.query_one(DataTable)
        rows = visible_rows(metagraph_rows(snapshot), self.query_one(Input).value,
                            self.sort_column, self.reverse)
        cursor = table.cursor_row
        table.clear()
        table.add_rows(_cells(row) for row in rows)
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1), animate=False)
        order = "descending" if self.reverse else "ascending"
        self.query_one("#metagraph-caption", Static).update(
            f"{len(rows)} of {int(snapshot.metagraph.registered.sum())} uids · block "
            f"{snapshot.block:,} · sorted by {COLUMNS[self.sort_column]} ({order}) · "
            "o: sort column, i: invert")

    def _rerender(self) -> None:
        if self._snapshot is not None:
            self.show(self._snapshot)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row opens the uid inspector."""
        event.stop()
        self.post_message(InspectRequested(int(event.data_table.get_row_at(event.cursor_row)[0])))

    def on_input_changed(self, event: Input.Changed) -> None:
        self._rerender()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.column_index == self.sort_column:
            self.reverse = not self.reverse
        else:
            self.sort_column, self.reverse = event.column_index, False
        self._rerender()

    def action_next_sort(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(COLUMNS)
        self._rerender()

    def action_invert_sort(self) -> None:
        self.reverse = not self.reverse
        self._rerender()

    def action_focus_filter(self) -> None:
        self.query_one(Input).focus()

    def on_key(self, event: events.Key) -> None:
        """A letter that is no key of this panel or the app starts the filter with itself:
        typing ``trainer`` on the table filters instead of restarting the session."""
        table = self.query_one(DataTable)
        if not table.has_focus or not (event.character or "").isalpha() \
                or event.key in self.app.active_bindings:
            return
        event.stop()
        box = self.query_one(Input)
        box.value += event.character or ""
        box.focus()
        box.cursor_position = len(box.value)
