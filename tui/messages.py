"""Messages between the dashboard and its driver: snapshots up, commands down.

Commands are frozen values the app puts on the driver's queue; the driver applies them between
chunks. Only commands that change the simulated world (``SetHyperparameter``) enter the session's
command log, as plain JSON entries ``{"block": B, "command": "set_hyperparameter", ...}``,
which ``subnetsim.commands`` applies to a fresh world to reproduce the session.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

from textual.message import Message

from subnetsim.tui.snapshot import Snapshot

__all__ = [
    "ForkRequested",
    "ForkStopRequested",
    "ChangeSpeed",
    "Command",
    "DashboardDriver",
    "DrillRequested",
    "InspectRequested",
    "InspectUid",
    "ParameterEdited",
    "Restart",
    "SaveRun",
    "SelectSubnet",
    "SetHyperparameter",
    "SnapshotReady",
    "StartAB",
    "StartDrill",
    "StepBlocks",
    "StepEpoch",
    "Stop",
    "StopAB",
    "SubnetSelected",
    "TogglePause",
]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TogglePause:
    """Pause a running simulation, or resume a paused one."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StepBlocks:
    """Produce ``count`` more blocks, then stay paused."""

    count: int = 1


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StepEpoch:
    """Run up to and including the next epoch block, then stay paused."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChangeSpeed:
    """Move the target speed ``steps`` levels up (positive) or down (negative)."""

    steps: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Restart:
    """Start a new session on the same scenario; ``seed`` None means the current seed + 1;
    ``keep_edits``: the session's edited hyperparameters become the new genesis values."""

    seed: int | None = None
    keep_edits: bool = True


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SetHyperparameter:
    """Set one hyperparameter (subtensor name, natural units) at the next chunk boundary."""

    name: str
    value: Any


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SaveRun:
    """Save the session so far: a SQLite run store with its command log."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StartDrill:
    """Run the named governance drill (a file in ``scenarios/drills``) beside the session."""

    name: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StartAB:
    """Fork the session now into two worlds: ``name = a`` and ``name = b``, same seed."""

    name: str
    a: Any
    b: Any


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StopAB:
    """End the A/B fork; the session runs on where it waited."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InspectUid:
    """Carry ``uid``'s history in the snapshots from now on (None: stop); not logged."""

    uid: int | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Stop:
    """End the simulation (the driver sends it from ``stop()``; a save in progress finishes)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SelectSubnet:
    """A network session: show subnet ``netuid`` in the per-subnet panels; not logged."""

    netuid: int


Command = (TogglePause | StepBlocks | StepEpoch | ChangeSpeed | Restart | SetHyperparameter
           | SaveRun | StartDrill | InspectUid | StartAB | StopAB | SelectSubnet)


class DashboardDriver(Protocol):
    """What the app needs from a driver (the real one, or a stub in tests)."""

    def start(self, post: Callable[[Snapshot], None]) -> None:
        """Begin posting snapshots through ``post`` (called from any thread)."""

    def send(self, command: Command) -> None:
        """Queue a command; it is applied between chunks."""

    def stop(self) -> None:
        """Stop the simulation and wait until it has ended."""


class SnapshotReady(Message):
    """The driver posted a new snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class ParameterEdited(Message):
    """The Parameters panel validated an edit; the app sends it to the driver."""

    def __init__(self, name: str, value: Any) -> None:
        super().__init__()
        self.name = name
        self.value = value


class DrillRequested(Message):
    """The user picked a drill to run."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class SubnetSelected(Message):
    """Enter on a Subnets row: the per-subnet panels show ``netuid``."""

    def __init__(self, netuid: int) -> None:
        super().__init__()
        self.netuid = netuid


class InspectRequested(Message):
    """Enter on a metagraph row: open the inspector on ``uid``."""

    def __init__(self, uid: int) -> None:
        super().__init__()
        self.uid = uid


class ForkRequested(Message):
    """The A/B panel validated a setting and two values."""

    def __init__(self, name: str, a: Any, b: Any) -> None:
        super().__init__()
        self.name = name
        self.a = a
        self.b = b


class ForkStopRequested(Message):
    """The user ended the A/B."""
