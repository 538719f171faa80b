"""The ``?`` help screen: every key, and what the panels show."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["HELP_TEXT", "HelpScreen"]

HELP_TEXT = """\
[b]subnetsim dashboard[/b] — the simulation runs in a process of its own; keys send it commands,
applied between chunks at a block boundary (parameter changes are recorded for replay).

[b]space[/b]   pause / resume            [b]n[/b]   step one block      [b]e[/b]   step one epoch
[b]+ / -[/b]   speed up / down (1 blocks/s .. max)
[b]r[/b]       restart from genesis with the next seed (asks first; edits become genesis values)
[b]s[/b]       save: the session replayed into a SQLite run store (runs/) with its command log
[b]q[/b]       quit (prints the final digest)       [b]?[/b]   this help       [b]1-9[/b]  panels

[b]Overview[/b]    block, epoch, speed, halt banner, emission and stake concentration per epoch
[b]Metagraph[/b]   btcli columns + behaviour; [b]/[/b] filter, [b]o[/b] sort, [b]i[/b] invert,
            [b]Enter[/b] inspects a uid (history, weights, events)
[b]Weights[/b]     validator x miner weights and bonds as heatmaps, consensus per miner
[b]Charts[/b]      incentive and dividends share per behaviour group over epochs
[b]Parameters[/b]  type name=value (or Enter on a row); diff from the scenario; no-effect warnings
[b]Governance[/b]  halt, council, signing rounds, the proposal's life; Enter on a drill stages it
[b]Log[/b]         registrations, rejected extrinsics, halts, epochs, commands
[b]A/B[/b]         kappa 0.5 0.6: fork the session here into two worlds, same seed; [b]x[/b] ends
[b]Subnets[/b] (9, dTAO networks) btcli's subnet table, where the block's TAO went, prices;
            [b]Enter[/b] on a row or [b][ / ][/b] anywhere: which subnet the panels show
Esc leaves any input; while one has focus, keys type text and run no command.

Replay a saved session headless:  subnetsim tui --headless --replay runs/<name>.session.json

Press Esc, ? or q to close."""


class HelpScreen(ModalScreen[None]):
    """A modal listing the controls."""

    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(HELP_TEXT, id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
