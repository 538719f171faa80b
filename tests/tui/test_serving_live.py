"""The serving halt in the dashboard, from a live world: each uid's serving state on the
metagraph (serving / halted / rogue) and the serving halt on the governance timeline."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from subnetsim.subnet.scenario import load_scenario
from subnetsim.tui.app import DashboardApp
from subnetsim.tui.driver import SPEEDS, SimulationDriver
from subnetsim.tui.widgets.metagraph import COLUMNS
from tests.tui.waiting import wait_for

DRILL = Path(__file__).resolve().parents[1] / "data" / "serving_halt.toml"
SERVING = COLUMNS.index("SERVING")


def _serving_column(app: DashboardApp) -> dict[int, str]:
    table = app.query_one("#metagraph-table", DataTable)
    rows = [table.get_row_at(index) for index in range(table.row_count)]
    return {int(row[0]): row[SERVING] for row in rows}


async def test_metagraph_and_timeline_show_who_stopped_serving_and_who_did_not(tmp_path) -> None:
    driver = SimulationDriver(load_scenario(DRILL), 6, speed=SPEEDS.index(None),
                              save_folder=tmp_path)
    app = DashboardApp(driver)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: app.latest is not None and app.latest.state == "paused",
                       seconds=120.0)
        halt_block = app.latest.governance.halt_block
        assert halt_block is not None  # paused on the block that carried the HALT
        await pilot.press("n")  # one block on: every node has had the HALT for seconds
        await wait_for(pilot, lambda: app.latest.block == halt_block + 1, seconds=120.0)
        await pilot.pause(0.4)
        assert _serving_column(app) == {0: "halted", 1: "halted", 2: "halted", 3: "rogue"}
        await pilot.press("6")
        await pilot.pause(0.2)
        life = app.query_one("#lifecycle-table", DataTable)
        stages = {life.get_row_at(i)[0]: life.get_row_at(i) for i in range(life.row_count)}
        assert stages["serving halted"][1] == str(halt_block)
        assert "2/2 miners stopped" in stages["serving halted"][2]
        assert "still serving: uid 3" in stages["serving halted"][2]
        await pilot.press("space")  # on to the budget: the RESUME reopens serving
        await wait_for(pilot, lambda: app.latest.state == "finished", seconds=120.0)
        await pilot.press("2")
        await pilot.pause(0.4)
        assert set(_serving_column(app).values()) == {"serving"}
        assert "serving back" in {life.get_row_at(i)[0] for i in range(life.row_count)}
        await pilot.press("q")
