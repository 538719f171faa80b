"""The drill picker's files: the shipped drills (scenarios with a council) by name.

Picking one in the Governance panel injects its council and attacks into the running session
(``Session.start_drill``, a recorded command), so the drill plays out in the world on screen.
"""

from __future__ import annotations

from pathlib import Path

from subnetsim.catalog import shipped_path
from subnetsim.subnet.scenario import Scenario, load_scenario

__all__ = ["DRILL_FOLDER", "list_drills", "load_drill_scenario"]

DRILL_FOLDER = shipped_path("drills")


def list_drills(folder: Path = DRILL_FOLDER) -> tuple[str, ...]:
    """Names of the drill files (``*.toml``) in ``folder``, sorted."""
    if not folder.is_dir():
        return ()
    return tuple(sorted(path.stem for path in folder.glob("*.toml")))


def load_drill_scenario(name: str, folder: Path = DRILL_FOLDER) -> Scenario:
    """The named drill file, read as a scenario (ConfigError naming the field if bad)."""
    return load_scenario(folder / f"{name}.toml")
