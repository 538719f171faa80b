"""Log: chain events (registrations, pruning, rejected extrinsics, halts), epochs, commands."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from subnetsim.tui.snapshot import Snapshot

__all__ = ["KIND_STYLES", "LogPane"]

KIND_STYLES = {"rejected": "yellow", "halt": "bold red", "halt_expired": "red",
               "resume": "bold green", "alarm": "bold magenta", "epoch": "cyan",
               "command": "magenta", "registered": "green", "pruned": "yellow",
               "notice": "dim", "save": "blue", "drill": "blue"}


class LogPane(RichLog):
    """Appends the entries of each snapshot it has not shown yet."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_lines=5000, wrap=False, **kwargs)  # type: ignore[arg-type]
        self._last_seq = 0
        self._session = -1

    def show(self, snapshot: Snapshot) -> None:
        """Append new entries (a restart clears the log)."""
        if snapshot.session != self._session:
            self.clear()
            self._session, self._last_seq = snapshot.session, 0
        for entry in snapshot.events:
            if entry.seq <= self._last_seq:
                continue
            line = Text(f"{entry.block:>8,}  ", style="dim")
            line.append(f"{entry.kind:<12} ", style=KIND_STYLES.get(entry.kind, "bold"))
            line.append(entry.text)
            self.write(line)
            self._last_seq = entry.seq
