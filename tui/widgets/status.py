"""The status bar: where the session is, how fast it runs, and the latest notice."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from subnetsim.tui.snapshot import Snapshot

__all__ = ["StatusBar", "halt_banner", "starting_text", "status_text"]

STATE_STYLES = {"running": "bold green", "paused": "bold yellow", "finished": "bold cyan",
                "crashed": "bold white on red"}


def status_text(snapshot: Snapshot) -> Text:
    """Two lines: session figures, then the halt state or the latest notice."""
    text = Text()
    text.append(f" {snapshot.state.upper()} ", style=STATE_STYLES.get(snapshot.state, "bold"))
    # Short enough for 80 columns: the second line (halt, notice) must stay visible.
    text.append(f" {snapshot.scenario_name} · seed {snapshot.seed} · block {snapshot.block:,}"
                f"/{snapshot.budget:,} · epoch {snapshot.epoch_index} (+"
                f"{snapshot.blocks_until_epoch}) · {snapshot.blocks_per_second:,.0f}/s "
                f"(target {snapshot.speed_label.replace(' blocks/s', '')})")
    text.append("\n")
    halted = snapshot.metagraph.halted_scopes
    if halted:
        text.append(f" {halt_banner(snapshot)} ", style="bold white on red")
        text.append(" ")
    text.append(snapshot.notice or "space pause · n step · e epoch · +/- speed · ? help",
                style="italic")
    return text


def halt_banner(snapshot: Snapshot) -> str:
    """``HALTED at block 64: emissions, weights (until 124)``: on every panel while halted."""
    governance = snapshot.governance
    since = f" at block {governance.halt_block}" if governance.halt_block is not None else ""
    until = f" (until {governance.halt_until})" if governance.halt_until is not None else ""
    return f"HALTED{since}: {', '.join(snapshot.metagraph.halted_scopes)}{until}"


def starting_text(seconds: float) -> Text:
    """What the status bar says until the first snapshot arrives."""
    text = Text()
    text.append(" STARTING ", style="bold black on yellow")
    text.append(f" building the world in its own process (imports, genesis, miners' "
                f"pre-training) … {seconds:.1f} s")
    return text


class StatusBar(Static):
    """Two lines above the tabs."""

    def show(self, snapshot: Snapshot) -> None:
        """Render ``snapshot``."""
        self.update(status_text(snapshot))
