"""Screenshots of every dashboard panel for the docs: ``python -m tui.screenshots``.

Runs the real driver on ``scenarios/default.toml`` (seed 7) up to a block, paused, and writes
one SVG per panel at 120x40 into ``docs/`` with Textual's own screenshot export.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from subnetsim.subnet.scenario import load_scenario
from subnetsim.tui import messages
from subnetsim.tui.app import PANELS, DashboardApp
from subnetsim.tui.driver import SimulationDriver

ROOT = Path(__file__).resolve().parents[1]


async def take(scenario_path: Path, seed: int, block: int, folder: Path,
               size: tuple[int, int]) -> list[Path]:
    """Step a paused session to ``block`` and export each panel (and the help screen)."""
    scenario = load_scenario(scenario_path)
    driver = SimulationDriver(scenario, seed, paused=True, save_folder=folder / "runs")
    app = DashboardApp(driver)
    written = []
    async with app.run_test(size=size) as pilot:
        driver.send(messages.StepBlocks(count=block))
        while app.latest is None or app.latest.block < block or app.latest.state != "paused":
            await pilot.pause(0.1)
        await pilot.pause(0.5)
        for number, (panel_id, _, _) in enumerate(PANELS, start=1):
            await pilot.press(str(number))
            await pilot.pause(0.5)
            if panel_id == "governance" and app.latest.governance.drills:
                await _run_a_drill(app, pilot)
            written.append(_save(app, folder / f"tui-{panel_id}.svg"))
        await pilot.press("question_mark")
        await pilot.pause(0.3)
        written.append(_save(app, folder / "tui-help.svg"))
    return written


async def _run_a_drill(app: DashboardApp, pilot: object) -> None:
    """Run the forged-HALT drill from the picker and wait for its report."""
    assert app.latest is not None, "the dashboard shows a snapshot before screenshots"
    drills = app.latest.governance.drills
    if "forged_halt" not in drills:
        return
    picker = app.query_one("#drill-list")
    picker.highlighted = drills.index("forged_halt")  # type: ignore[attr-defined]
    picker.focus()
    await pilot.press("enter")  # type: ignore[attr-defined]
    while app.latest is not None and app.latest.governance.drill.state in ("idle", "running"):
        await pilot.pause(0.1)  # type: ignore[attr-defined]
    await pilot.pause(0.5)  # type: ignore[attr-defined]


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
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    for path in asyncio.run(take(args.scenario, args.seed, args.block, args.out,
                                 (width, height))):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
