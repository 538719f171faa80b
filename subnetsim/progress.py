"""Progress bars for long work (runs, replays, sweeps), drawn by rich on stderr.

``block_progress`` and ``task_progress`` are context managers yielding the callback the library
functions take (``(done, total)``); off a terminal they draw nothing, so pipes and CI logs stay
clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["block_progress", "task_progress"]

Update = Callable[[int, int], None]


@contextmanager
def block_progress(label: str = "blocks", enabled: bool | None = None) -> Iterator[Update | None]:
    """A bar over blocks (``update(block, target)``), or None when not drawing."""
    with _bar(label, enabled) as update:
        yield update


@contextmanager
def task_progress(label: str = "runs", enabled: bool | None = None) -> Iterator[Update | None]:
    """A bar over finished tasks (``update(done, total)``), or None when not drawing."""
    with _bar(label, enabled) as update:
        yield update


@contextmanager
def _bar(label: str, enabled: bool | None) -> Iterator[Update | None]:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TaskProgressColumn(), TimeElapsedColumn(), TextColumn("ETA"),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
