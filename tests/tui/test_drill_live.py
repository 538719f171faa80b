"""A drill file runs live in the dashboard: same world, same numbers as ``subnetsim drill``."""

from __future__ import annotations

import queue
from pathlib import Path

from textual.widgets import DataTable, Static

from subnetsim.commands import replay
from subnetsim.drill.config import load_drill
from subnetsim.drill.runner import run_drill
from subnetsim.subnet.scenario import load_scenario
from subnetsim.tui import messages
from subnetsim.tui.app import DashboardApp
from subnetsim.tui.driver import SPEEDS, SimulationDriver
from tests.tui.waiting import wait_for

DRILLS = Path(__file__).resolve().parents[2] / "scenarios" / "drills"
SMALL = Path(__file__).resolve().parents[1] / "data" / "small.toml"


async def test_the_cabal_drill_halts_live_at_the_block_the_drill_report_gives(tmp_path) -> None:
    path = DRILLS / "cabal.toml"
    expected = run_drill(load_drill(path), seed=1).as_json()["halt_block"]
    # Full speed, the drill's own budget: the session pauses on the halt so it can be seen.
    driver = SimulationDriver(load_scenario(path), 1, speed=SPEEDS.index(None),
                              save_folder=tmp_path)
    app = DashboardApp(driver)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("6")
        halt = app.query_one("#halt-state", Static)
        await wait_for(pilot, lambda: app.latest is not None and app.latest.state == "paused")
        await pilot.pause(0.4)
        assert app.latest.block == expected and "paused so you can look" in app.latest.notice
        assert f"HALTED at block {expected}" in str(halt.render())
        status = str(app.query_one("#status", Static).render())
        assert f"HALTED at block {expected}" in status
        council = app.query_one("#council-table", DataTable)
        assert council.row_count == 7 and council.get_row_at(0)[0] == "member-1"
        life = app.query_one("#lifecycle-table", DataTable)
        assert life.get_row_at(3)[:2] == ["applied", str(expected)]
        await pilot.press("space")  # runs on to the budget: the drill's verdict from this world
        await wait_for(pilot, lambda: app.latest.state == "finished")
        await pilot.pause(0.4)
        report = str(app.query_one("#drill-report", Static).render())
        assert f"PASSED (11 checks) · halt {expected} · resume 164" in report
        assert f"Was HALTED at block {expected}" in str(halt.render())
        await pilot.press("q")


def test_a_drill_picked_in_a_session_is_a_recorded_command_that_replays(tmp_path) -> None:
    scenario = load_scenario(SMALL)
    driver = SimulationDriver(scenario, 3, budget=10**6, speed=SPEEDS.index(None), paused=True,
                              save_folder=tmp_path)
    inbox: queue.Queue = queue.Queue()

    def until(check):  # noqa: ANN001, ANN202
        while not check(snapshot := inbox.get(timeout=60)):
            pass
        return snapshot

    driver.start(inbox.put)
    driver.send(messages.StepBlocks(count=5))
    until(lambda s: s.block == 5 and s.state == "paused")
    driver.send(messages.StartDrill(name="sybil_flood"))  # uid 28 does not exist here
    driver.send(messages.StartDrill(name="forged_halt"))
    driver.send(messages.StepBlocks(count=80))
    end = until(lambda s: s.block == 85 and s.state == "paused")
    driver.stop()
    assert [c["command"] for c in end.commands] == ["start_drill"]  # the refusal is not logged
    assert end.commands[0]["block"] == 5 and end.governance.has_council
    # The drill's scheduled alarm (block 30 of the drill) rings 30 blocks after injection.
    stages = {stage: block for stage, block, _ in end.governance.lifecycle}
    assert stages["detected"] == 35 and stages["applied"] == 36
    assert any("refused: drill sybil_flood" in e.text for e in end.events)
    assert replay(scenario, 3, end.commands, end.block) == end.digest
