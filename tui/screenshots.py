"""Screenshots of every dashboard panel for the docs: ``python -m tui.screenshots``.

Runs the real driver on ``scenarios/default.toml`` (seed 7) up to a block, paused, and writes
one SVG per panel at 120x40 into ``docs/`` with Textual's own screenshot export, plus the uid
inspector, an A/B (kappa 0.5 vs 0.6) and the cabal drill's Governance panel; and the Subnets
panel of ``dtao_default`` (seed 7, paused after its first epochs). ``--only subnets`` writes just
that one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from subnetsim.catalog import resolve, shipped_path
from subnetsim.subnet.dtao.scenario import load_network_scenario
from subnetsim.subnet.scenario import load_scenario
from subnetsim.tui import messages
from subnetsim.tui.app import PANELS, DashboardApp
from subnetsim.tui.driver import SPEEDS, SimulationDriver

ROOT = Path(__file__).resolve().parents[1]


async def take(scenario_path: Path, seed: int, block: int, folder: Path,
               size: tuple[int, int]) -> list[Path]:
    """Step a paused session to ``block`` and export each panel, the help, the inspector and
    an A/B; then the Governance panel of the cabal drill, paused on its halt."""
    scenario = load_scenario(scenario_path)
    driver = SimulationDriver(scenario, seed, paused=True, save_folder=folder / "runs")
    app = DashboardApp(driver)
    written = []
    async with app.run_test(size=size) as pilot:
        driver.send(messages.StepBlocks(count=block))
        await _until(pilot, lambda: app.latest is not None and app.latest.block >= block
                     and app.latest.state == "paused")
        for number, (panel_id, _, _) in enumerate(PANELS, start=1):
            if panel_id in ("governance", "ab"):
                continue
            await pilot.press(str(number))
            await pilot.pause(0.5)
            written.append(_save(app, folder / f"tui-{panel_id}.svg"))
        await pilot.press("question_mark")
        await pilot.pause(0.3)
        written.append(_save(app, folder / "tui-help.svg"))
        await pilot.press("escape", "2", "down", "down", "down", "enter")
        await pilot.pause(1.0)
        written.append(_save(app, folder / "tui-inspector.svg"))
        await pilot.press("escape", "8", "slash", *"kappa", "space", "0", "full_stop", "5",
                          "space", "0", "full_stop", "6", "enter")
        await _until(pilot, lambda: app.latest is not None and app.latest.ab is not None)
        driver.send(messages.StepBlocks(count=400))
        await _until(pilot, lambda: app.latest is not None and app.latest.ab is not None
                     and app.latest.ab.block >= block + 400 and app.latest.state == "paused")
        await pilot.pause(0.5)
        written.append(_save(app, folder / "tui-ab.svg"))
    written.append(await _drill_governance(folder, size))
    return written


async def _drill_governance(folder: Path, size: tuple[int, int]) -> Path:
    """The cabal drill file at full speed, seed 1: the Governance panel paused on the halt."""
    driver = SimulationDriver(load_scenario(shipped_path("drills") / "cabal.toml"), 1,
                              speed=SPEEDS.index(None), save_folder=folder / "runs")
    app = DashboardApp(driver)
    async with app.run_test(size=size) as pilot:
        await pilot.press("6")
        await _until(pilot, lambda: app.latest is not None and app.latest.state == "paused")
        await pilot.pause(0.5)
        return _save(app, folder / "tui-governance.svg")


async def network_subnets(folder: Path, size: tuple[int, int], block: int = 400) -> Path:
    """``dtao_default`` (seed 7) paused at ``block``: the Subnets panel."""
    driver = SimulationDriver(load_network_scenario(resolve("dtao_default")), 7, paused=True,
                              save_folder=folder / "runs")
    app = DashboardApp(driver, network=True)
    async with app.run_test(size=size) as pilot:
        driver.send(messages.StepBlocks(count=block))
        await _until(pilot, lambda: app.latest is not None and app.latest.block >= block
                     and app.latest.state == "paused")
        await pilot.press(str(len(PANELS) + 1))
        await pilot.pause(0.5)
        app.render_latest()
        await pilot.pause(0.5)
        return _save(app, folder / "tui-subnets.svg")


async def _until(pilot: Any, check: Callable[[], bool]) -> None:
    while not check():
        await pilot.pause(0.1)


def _save(app: DashboardApp, path: Path) -> Path:
    path.write_text(app.export_screenshot(title="subnetsim tui"), encoding="utf-8")
    return path


def main() -> int:
    """Write the screenshots and list them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "default.toml")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--block", type=int, default=1200)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--only", choices=("all", "subnets"), default="all",
                        help="subnets: only the dTAO Subnets panel")
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    written = [] if args.only == "subnets" else asyncio.run(
        take(args.scenario, args.seed, args.block, args.out, (width, height)))
    written.append(asyncio.run(network_subnets(args.out, (width, height))))
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
