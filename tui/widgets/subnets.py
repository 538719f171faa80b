"""Subnets (dTAO networks): btcli's subnet table, where the last block's TAO went, and price
charts; Enter on a row makes that subnet the one the per-subnet panels show.

The table is ``network_report.subnet_table``, the rows ``subnetsim subnets DB`` prints (one
implementation). The flows are the economy's per-block ``BlockFlow`` records: per subnet, its
share of the block's TAO, the part injected into its pool (``tao_in``) and the excess that bought
alpha for the protocol (chain buys), the alpha injected and emitted, the root proportion, and
where the emitted alpha went: the owner cut, the miners' and validators' pending pools, root
stakers' pending dividends, and the alpha recycled (root's part while the EMA prices sum to 1
or less, or everything a halted subnet did not take).
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from subnetsim.network_report import subnet_table
from subnetsim.tui.messages import SubnetSelected
from subnetsim.tui.snapshot import NetworkView, Snapshot
from subnetsim.tui.widgets.plotting import draw_lines

__all__ = ["ALPHA_COLUMNS", "FLOW_COLUMNS", "NOT_FOR_NETWORKS", "NotForNetworks", "SubnetsPane",
           "alpha_rows", "flow_rows", "flow_summary"]

# Panels a network session does not offer (yet), and what they say instead.
NOT_FOR_NETWORKS = {
    "parameters": "Hyperparameter edits are not offered for dTAO networks yet: each subnet's "
                  "hyperparameters come from its [[subnets]] entry in the scenario file.",
    "governance": "Governance drills and the council run on single-subnet scenarios; a "
                  "network's kill switch is scheduled with [[halts]] (halts show in the Log).",
    "ab": "A/B forks are not offered for dTAO networks yet.",
}

FLOW_COLUMNS = ("NETUID", "SHARE", "TAO EMISSION (τ)", "τ_in INJECTED", "CHAIN BUYS (τ)",
                "α_in INJECTED", "α_out EMITTED", "ROOT PROP.")
ALPHA_COLUMNS = ("NETUID", "α_out EMITTED", "α OWNER", "α MINERS", "α VALIDATORS", "α ROOT",
                 "α RECYCLED")


def flow_rows(view: NetworkView) -> list[list[str]]:
    """Where the last block's TAO went, one row per subnet (netuid order)."""
    return [[str(netuid), f"{flow.share:.4f}", f"{flow.tao_emission:.6f}", f"{flow.tao_in:.6f}",
             f"{flow.excess_tao:.6f}", f"{flow.alpha_in:.6f}", f"{flow.alpha_out:.6f}",
             f"{flow.root_proportion:.4f}"] for netuid, flow in view.flows]


def alpha_rows(view: NetworkView) -> list[list[str]]:
    """Where the last block's alpha_out went, one row per subnet: the coinbase's own split."""
    return [[str(netuid)] + [f"{float(amount):.6f}" for amount in (
        flow.alpha_out, flow.split.owner, flow.split.server, flow.split.validator,
        flow.split.root, flow.split.recycled)] for netuid, flow in view.flows]


def flow_summary(view: NetworkView) -> str:
    """The block's TAO in total: injected into pools vs spent on chain buys."""
    emitted = sum(float(flow.tao_emission) for _, flow in view.flows)
    injected = sum(float(flow.tao_in) for _, flow in view.flows)
    bought = sum(float(flow.excess_tao) for _, flow in view.flows)
    return (f"Last block's TAO: {emitted:.6f} τ emitted · {injected:.6f} τ injected into pools "
            f"· {bought:.6f} τ bought alpha for the protocol · issuance "
            f"{view.issuance_tao:,.4f} τ · root stake {view.root_tao:,.2f} τ")


class NotForNetworks(Static):
    """A panel's place in a network session, saying why the panel does not apply."""

    def show(self, snapshot: Snapshot) -> None:
        """Nothing to render: the text is fixed."""


class SubnetsPane(Vertical):
    """The subnet table, the flows of the last block, and price / EMA charts."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._columns_added = False

    def compose(self) -> ComposeResult:
        yield Static("", id="subnets-caption")
        table: DataTable[str] = DataTable(id="subnets-table", classes="main-table",
                                          zebra_stripes=True, cursor_type="row")
        yield table
        yield Static("", id="subnets-flow-summary")
        flows: DataTable[str] = DataTable(id="subnets-flows", zebra_stripes=True,
                                          cursor_type="none")
        yield flows
        alpha: DataTable[str] = DataTable(id="subnets-alpha", zebra_stripes=True,
                                          cursor_type="none")
        yield alpha
        with Horizontal(id="subnets-charts"):
            yield PlotextPlot(id="subnet-price-plot")
            yield PlotextPlot(id="subnets-ema-plot")

    def on_mount(self) -> None:
        self.query_one("#subnets-flows", DataTable).add_columns(*FLOW_COLUMNS)
        self.query_one("#subnets-alpha", DataTable).add_columns(*ALPHA_COLUMNS)

    def show(self, snapshot: Snapshot) -> None:
        """Render ``snapshot``'s network (a single-subnet snapshot has none)."""
        view = snapshot.network
        caption = self.query_one("#subnets-caption", Static)
        if view is None:
            caption.update("This scenario is one subnet: no network of subnets to show.")
            return
        headers, rows = subnet_table(tuple(view.rows), dict(view.blocks_since_epoch))
        table = self.query_one("#subnets-table", DataTable)
        if not self._columns_added:
            table.add_columns(*headers)
            self._columns_added = True
        cursor = table.cursor_row
        table.clear()
        table.add_rows([[str(cell) for cell in row] for row in rows])
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1), animate=False)
        caption.update(f"{len(rows)} subnets at block {snapshot.block:,} · per-subnet panels "
                       f"show netuid {view.selected} · Enter on a row, or [ and ], selects "
                       "a subnet")
        self.query_one("#subnets-flow-summary", Static).update(flow_summary(view))
        flows = self.query_one("#subnets-flows", DataTable)
        flows.clear()
        flows.add_rows(flow_rows(view))
        alpha = self.query_one("#subnets-alpha", DataTable)
        alpha.clear()
        alpha.add_rows(alpha_rows(view))
        self._draw_prices(view)

    def _draw_prices(self, view: NetworkView) -> None:
        blocks, spot, ema = view.prices.get(view.selected, ((), (), ()))
        draw_lines(self.query_one("#subnet-price-plot", PlotextPlot),
                   f"Subnet {view.selected}: price and EMA", "τ/α",
                   {"price": (blocks, spot), "EMA": (blocks, ema)}, zero_based=False)
        series: dict[str, tuple[Any, Any]] = {
            f"{netuid}": (points[0], points[2]) for netuid, points in view.prices.items()}
        # Not zero-based: a price moving 1 % against its EMA must show as a move.
        draw_lines(self.query_one("#subnets-ema-plot", PlotextPlot), "EMA price per netuid",
                   "τ/α", series, zero_based=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a subnet row: the per-subnet panels show that netuid."""
        event.stop()
        if event.data_table.id == "subnets-table":
            self.post_message(SubnetSelected(int(event.data_table.get_row_at(
                event.cursor_row)[0])))
