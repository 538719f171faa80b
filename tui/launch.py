"""Open the dashboard: the simulation in its own process, the Textual app in this one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subnetsim.subnet.config import Hyperparameters
from subnetsim.subnet.dtao.scenario import NetworkScenario
from subnetsim.tui.app import DashboardApp
from subnetsim.tui.driver import SPEEDS, SimulationDriver

__all__ = ["open_dashboard"]


def open_dashboard(scenario: Any, seed: int, blocks: int, *, speed: str, paused: bool,
                   save_dir: Path, scenario_reference: str, overrides: tuple[str, ...] = (),
                   file_hyper: Hyperparameters | None = None) -> int:
    """Run the dashboard until the user quits; print the session's summary; exit code.

    ``scenario``: a single-subnet ``Scenario`` or a dTAO ``NetworkScenario``;
    ``overrides``: the ``--set`` assignments already applied to ``scenario``;
    ``file_hyper``: the scenario file's own hyperparameters (the Parameters panel's diff)."""
    level = None if speed == "max" else float(speed)
    driver = SimulationDriver(scenario, seed, budget=blocks, speed=SPEEDS.index(level),
                              paused=paused, save_folder=save_dir, file_hyper=file_hyper)
    try:
        last = DashboardApp(driver, network=isinstance(scenario, NetworkScenario)).run()
    finally:
        driver.stop()  # also after a crash or an interrupt: no simulation process outlives us
    if driver.failure is not None:
        raise driver.failure
    if last is not None:
        print(f"session {last.scenario_name} seed {last.seed}: block {last.block}, epochs "
              f"{last.epoch_index}, commands {len(last.commands)}\ndigest {last.digest}")
        if not last.commands:
            sets = "".join(f" --set {assignment}" for assignment in overrides)
            print(f"headless twin: subnetsim tui {scenario_reference}{sets} --headless --seed "
                  f"{last.seed} --blocks {last.block}")
    return 0
