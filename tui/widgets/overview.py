"""Overview: the session's key figures, the halt banner, and per-epoch sparklines."""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Sparkline, Static

from subnetsim.tui.snapshot import Snapshot

__all__ = ["OverviewPane", "overview_lines"]


def overview_lines(snapshot: Snapshot) -> str:
    """The figures block of the Overview panel."""
    metagraph = snapshot.metagraph
    registered = metagraph.registered
    validators = int((metagraph.validator_permit & registered).sum())
    last = snapshot.history[-1] if snapshot.history else None
    rows = [
        ("Scenario", f"{snapshot.scenario_name} (seed {snapshot.seed}, session "
                     f"{snapshot.session})"),
        ("Block", f"{snapshot.block:,} of {snapshot.budget:,} budgeted"),
        ("Epoch", f"{snapshot.epoch_index} (next in {snapshot.blocks_until_epoch} blocks, "
                  f"tempo {snapshot.hyper.tempo})"),
        ("Speed", f"{snapshot.blocks_per_second:,.0f} blocks/s (target "
                  f"{snapshot.speed_label})"),
        ("Neurons", f"{int(registered.sum())} registered, {validators} with a validator "
                    "permit"),
        ("Total stake", f"{float(metagraph.stake[registered].sum()):,.2f} TAO"),
        ("Total emission", f"{snapshot.minted:,.3f} TAO minted since genesis"),
        ("Last epoch", "none yet" if last is None else
         f"{last.emission:,.3f} TAO paid, stake Gini {last.stake_gini:.3f}"),
        ("Commands", f"{len(snapshot.commands)} in the session's log"),
        ("Digest", snapshot.digest[:32]),
    ]
    return "\n".join(f"[b]{name:<15}[/b] {value}" for name, value in rows)


class OverviewPane(VerticalScroll):
    """Block, epoch, speed, halt banner, emission and stake-concentration sparklines."""

    def compose(self) -> ComposeResult:
        yield Static("", id="halt-banner")
        yield Static("", id="overview-figures")
        with Vertical(classes="spark-box"):
            yield Label("Emission paid per epoch (TAO)", id="emission-label")
            yield Sparkline([], id="emission-spark")
            yield Label("Stake concentration per epoch (Gini)", id="gini-label")
            yield Sparkline([], id="gini-spark")

    def show(self, snapshot: Snapshot) -> None:
        """Render ``snapshot``."""
        banner = self.query_one("#halt-banner", Static)
        halted = snapshot.governance.halted_scopes
        banner.display = bool(halted)
        if halted:
            until = snapshot.governance.halt_until
            banner.update(f"HALTED: {', '.join(halted)} — " + (
                f"until block {until:,}" if until is not None else "until a resume"))
        self.query_one("#overview-figures", Static).update(overview_lines(snapshot))
        emission = [point.emission for point in snapshot.history]
        gini = [point.stake_gini for point in snapshot.history]
        self.query_one("#emission-spark", Sparkline).data = emission
        self.query_one("#gini-spark", Sparkline).data = gini
        self.query_one("#emission-label", Label).update(_spark_label(
            "Emission paid per epoch (TAO)", emission))
        self.query_one("#gini-label", Label).update(_spark_label(
            "Stake concentration per epoch (Gini)", gini))


def _spark_label(title: str, values: list[float]) -> str:
    if not values:
        return f"{title}: no epoch yet"
    data = np.asarray(values)
    return (f"{title}: last {data[-1]:,.3f}, min {data.min():,.3f}, max {data.max():,.3f} "
            f"over {data.size} epochs")
