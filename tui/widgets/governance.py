"""Governance: halt state, the council, each signing round, the proposal's life, and drills.

Built against ``GovernanceSnapshot`` only. A scenario with ``[governance]`` has a council from
genesis; picking a drill injects one (and its attacks) into the running world.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Label, OptionList, Static

from subnetsim.tui.messages import DrillRequested
from subnetsim.tui.snapshot import GovernanceSnapshot, Snapshot

__all__ = ["GovernancePane", "drill_text", "halt_history", "halt_text"]

MEMBER_STATE = {"honest": "online", "offline": "OFFLINE", "malicious": "CHEATING",
                "captured": "CAPTURED"}


def halt_text(governance: GovernanceSnapshot, block: int) -> str:
    """The halt line: scopes, the block it took effect and expiry, or that nothing is halted."""
    if not governance.halted_scopes:
        return "[green]Not halted[/green]: emissions, weights, registrations and staking open." \
            + "".join(f"\n{line}" for line in halt_history(governance.halts))
    scopes = ", ".join(governance.halted_scopes)
    since = f" at block {governance.halt_block:,}" if governance.halt_block is not None else ""
    if governance.halt_until is None:
        return f"[b red]HALTED{since}[/b red] {scopes}: until a RESUME is signed."
    left = governance.halt_until - block
    return f"[b red]HALTED{since}[/b red] {scopes}: expires at block " \
           f"{governance.halt_until:,} ({left:,} blocks, {left * 12 / 60:,.0f} min) unless " \
           "extended."


def halt_history(halts: tuple[tuple[int, str], ...]) -> list[str]:
    """``HALTED at block 64, extended at 118, resumed at 164``, one line per past halt."""
    lines: list[str] = []
    for block, kind in halts:
        if kind == "halt":
            lines.append(f"Was [b red]HALTED at block {block:,}[/b red]")
        elif lines and kind == "extend":
            lines[-1] += f", extended at {block:,}"
        elif lines and kind == "resume":
            lines[-1] += f", resumed (or expired) at {block:,}"
    return lines


def drill_text(governance: GovernanceSnapshot) -> str:
    """The drill side: the verdict once due, the state of a started drill, or how to start."""
    drill = governance.drill
    if governance.verdict:
        return _plain(governance.verdict)
    if drill.state == "failed":
        return f"[red]Drill {_plain(drill.name)} refused: {_plain(str(drill.error))}[/red]"
    if drill.state == "running" or governance.has_council:
        return "The report is due at the drill's block budget."
    if not governance.drills:
        return "No drill files in scenarios/drills."
    return "Enter on a drill stages its council and attack in this world, from this block."


def rounds_text(governance: GovernanceSnapshot) -> str:
    """Every signing attempt: who committed, and whether the aggregate verified."""
    if not governance.rounds:
        return "no signing yet"
    return "\n".join(_plain(line) for line in governance.rounds[-8:])


class GovernancePane(Horizontal):
    """Council, rounds and the proposal's life on the left; drills and verdict on the right."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._drills: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="council-side"):
            yield Static("", id="halt-state")
            yield Label("Council", classes="section")
            yield DataTable(id="council-table", cursor_type="none")
            yield Label("Proposal life", classes="section")
            yield DataTable(id="lifecycle-table", cursor_type="none")
            yield Label("Signing rounds", classes="section")
            yield Static("", id="signing-rounds")
            yield Label("Proposals", classes="section")
            yield DataTable(id="proposal-table", cursor_type="none")
        with VerticalScroll(id="drill-side"):
            yield Label("Drills", classes="section")
            yield OptionList(id="drill-list")
            yield Static("", id="drill-report")

    def on_mount(self) -> None:
        self.query_one("#council-table", DataTable).add_columns("MEMBER", "STATE", "SIGNED")
        self.query_one("#lifecycle-table", DataTable).add_columns("STAGE", "BLOCK", "DETAIL")
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
        council.add_rows((m.name, MEMBER_STATE.get(m.behaviour, m.behaviour),
                          "yes" if m.signed else "") for m in governance.council)
        lifecycle = self.query_one("#lifecycle-table", DataTable)
        lifecycle.clear()
        lifecycle.add_rows((stage, "-" if block is None else f"{block:,}", detail)
                           for stage, block, detail in governance.lifecycle)
        self.query_one("#signing-rounds", Static).update(rounds_text(governance))
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
