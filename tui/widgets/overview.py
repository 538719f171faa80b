"""Overview: the session's key figures, the halt banner, and per-epoch charts with axes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static
from textual_plotext import PlotextPlot

from subnetsim.tui.snapshot import Snapshot
from subnetsim.tui.widgets.plotting import draw_lines

__all__ = ["OverviewPane", "overview_lines", "stake_unit"]


def stake_unit(snapshot: Snapshot) -> str:
    """TAO on a single subnet; in a dTAO network a subnet's stake and epoch pay are its alpha."""
    return "TAO" if snapshot.network is None else f"α{snapshot.network.selected}"


def overview_lines(snapshot: Snapshot) -> str:
    """The figures block of the Overview panel."""
    metagraph = snapshot.metagraph
    registered = metagraph.registered
    validators = int((metagraph.validator_permit & registered).sum())
    last = snapshot.history[-1] if snapshot.history else None
    unit = stake_unit(snapshot)
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
        ("Total stake", f"{float(metagraph.stake[registered].sum()):,.2f} {unit}"),
        ("Total emission", f"{snapshot.minted:,.3f} TAO minted since genesis"),
        ("Last epoch", "none yet" if last is None else
         f"{last.emission:,.3f} {unit} paid, stake Gini {last.stake_gini:.3f}"),
        ("Commands", f"{len(snapshot.commands)} in the session's log"),
        ("Digest", snapshot.digest[:32]),
    ]
    if snapshot.network is not None:  # the per-subnet figures above are this subnet's
        rows.insert(1, ("Subnet", f"netuid {snapshot.network.selected} of "
                                  f"{len(snapshot.network.rows)} (Subnets panel: Enter selects)"))
    return "\n".join(f"[b]{name:<15}[/b] {value}" for name, value in rows)


class OverviewPane(VerticalScroll):
    """Block, epoch, speed, halt banner, emission and stake-concentration charts."""

    def compose(self) -> ComposeResult:
        yield Static("", id="halt-banner")
        yield Static("", id="overview-figures")
        with Horizontal(id="overview-charts"):
            yield PlotextPlot(id="emission-plot")
            yield PlotextPlot(id="gini-plot")

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
        blocks = [point.block for point in snapshot.history]
        # Zero-based axes: a 0.8 % change in the Gini must look like one, not like a collapse.
        draw_lines(self.query_one("#emission-plot", PlotextPlot), "Emission paid per epoch",
                   stake_unit(snapshot),
                   {"paid": (blocks, [p.emission for p in snapshot.history])},
                   snapshot.markers)
        draw_lines(self.query_one("#gini-plot", PlotextPlot), "Stake concentration", "Gini",
                   {"stake Gini": (blocks, [p.stake_gini for p in snapshot.history])},
                   snapshot.markers, top=1.0)
