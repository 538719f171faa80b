"""Governance: halt state and expiry, the council and its proposals, and the drill picker.

Built against ``GovernanceSnapshot`` only: the council tables fill in when the world has a
council; the drill picker lists the shipped drills.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, OptionList, Static

from subnetsim.tui.messages import DrillRequested
from subnetsim.tui.snapshot import GovernanceSnapshot, Snapshot

__all__ = ["GovernancePane", "drill_text", "halt_text"]


def halt_text(governance: GovernanceSnapshot, block: int) -> str:
    """The halt line: scopes and expiry, or that the chain runs normally."""
    if not governance.halted_scopes:
        return "[green]Not halted[/green]: emissions, weights, registrations and staking open."
    scopes = ", ".join(governance.halted_scopes)
    if governance.halt_until is None:
        return f"[b red]HALTED[/b red] {scopes}: until a RESUME is signed."
    left = governance.halt_until - block
    return f"[b red]HALTED[/b red] {scopes}: expires at block {governance.halt_until:,} " \
           f"({left:,} blocks, {left * 12 / 60:,.0f} min) unless extended."


def drill_text(governance: GovernanceSnapshot) -> str:
    """What the drill side shows: availability, progress, or the last report."""
    drill = governance.drill
    if not governance.drills:
        return "No drill files in scenarios/drills."
    if drill.state == "running":
        return f"Drill {drill.name} running ..."
    if drill.state == "failed":
        return f"[red]Drill {_plain(drill.name)} failed: {_plain(str(drill.error))}[/red]"
    if drill.state == "done":
        lines = [f"[b]Drill {_plain(drill.name)} report[/b]"]
        # Report values hold brackets (lists, TOML tables): escape them, they are not markup.
        lines += [f"{_plain(key):<30} {_plain(_short(value))}" for key, value in drill.report]
        return "\n".join(lines)
    return "Pick a drill and press Enter to run it beside the session."


def _short(value: str, width: int = 40) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


class GovernancePane(Horizontal):
    """Council and proposals on the left, drills on the right."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._drills: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        with Vertical(id="council-side"):
            yield Static("", id="halt-state")
            yield Label("Council", classes="section")
            yield DataTable(id="council-table", cursor_type="none")
            yield Label("Open proposals", classes="section")
            yield DataTable(id="proposal-table", cursor_type="none")
        with VerticalScroll(id="drill-side"):
            yield Label("Drills", classes="section")
            yield OptionList(id="drill-list")
            yield Static("", id="drill-report")

    def on_mount(self) -> None:
        self.query_one("#council-table", DataTable).add_columns("MEMBER", "ONLINE", "SIGNED")
        self.query_one("#proposal-table", DataTable).add_columns(
            "ID", "ACTION", "SCOPE", "SIGNATURES", "STATUS")

    def show(self, snapshot: Snapshot) -> None:
        """Render ``snapshot``."""
        governance = snapshot.governance
        self.query_one("#halt-state", Static).update(halt_text(governance, snapshot.block))
        council = self.query_one("#council-table", DataTable)
        council.clear()
        if not governance.has_council:
            council.add_row("no council in this scenario", "", "")
        council.add_rows((m.name, "yes" if m.online else "NO", "yes" if m.signed else "")
                         for m in governance.council)
        proposals = self.query_one("#proposal-table", DataTable)
        proposals.clear()
        proposals.add_rows((p.proposal_id, p.action, p.scope,
                            f"{p.signatures}/{p.threshold}", p.status)
                           for p in governance.proposals)
        if governance.drills != self._drills:
            self._drills = governance.drills
            picker = self.query_one(OptionList)
            picker.clear_options()
            picker.add_options(governance.drills)
        self.query_one("#drill-report", Static).update(drill_text(governance))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(DrillRequested(str(event.option.prompt)))


def _plain(text: str) -> str:
    """Text shown as is inside markup: every ``[`` escaped (truncated values can hold half a
    tag, which textual's ``escape`` leaves alone)."""
    return text.replace("[", "\\[")
