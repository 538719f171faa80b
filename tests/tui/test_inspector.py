"""The uid inspector: Enter on a metagraph row, series with data, Esc back to the table."""

from __future__ import annotations

import queue
from pathlib import Path

from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from subnetsim.subnet.scenario import load_scenario
from subnetsim.tui import messages
from subnetsim.tui.app import DashboardApp
from subnetsim.tui.driver import SPEEDS, SimulationDriver
from subnetsim.tui.widgets.inspector import CHARTS, InspectorScreen
from tests.tui.canned import StubDriver, canned_snapshot, inspect_answer

SMALL = Path(__file__).resolve().parents[1] / "data" / "small.toml"


async def test_enter_on_a_metagraph_row_opens_the_inspector_and_esc_closes_it() -> None:
    driver = StubDriver([canned_snapshot()], answer=inspect_answer)
    app = DashboardApp(driver)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2", "down", "down", "enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, InspectorScreen) and app.screen.uid == 2
        assert driver.commands[-1] == messages.InspectUid(uid=2)
        title = str(app.screen.query_one("#inspector-title", Static).render())
        assert "uid 2" in title and "model loss now 0.2000" in title
        plotted = [name for name, _, _ in CHARTS
                   if app.screen.query_one(f"#inspect-{name}", PlotextPlot).plt._active.monitor
                   .y]  # noqa: SLF001 - the series each chart holds
        assert len(plotted) >= 4
        received = app.screen.query_one("#weights-received", DataTable)
        assert received.get_row_at(0) == ["0", "0.400"]
        assert "pay continues" in str(app.screen.query_one("#inspector-events", Static).render())
        await pilot.press("escape")
        assert not isinstance(app.screen, InspectorScreen)
        assert driver.commands[-1] == messages.InspectUid(uid=None)
        assert app.focused is not None and app.focused.id == "metagraph-table"


def test_the_worker_sends_the_inspected_uid_history(tmp_path) -> None:
    driver = SimulationDriver(load_scenario(SMALL), 3, budget=10**6, speed=SPEEDS.index(None),
                              paused=True, save_folder=tmp_path)
    inbox: queue.Queue = queue.Queue()
    driver.start(inbox.put)
    driver.send(messages.InspectUid(uid=5))
    driver.send(messages.StepBlocks(count=70))
    while (snapshot := inbox.get(timeout=60)).block < 70 or snapshot.state != "paused":
        pass
    driver.stop()
    detail = snapshot.inspected
    assert detail is not None and detail.uid == 5 and detail.role == "miner"
    series = dict(detail.series)
    assert len(detail.blocks) == snapshot.epoch_index >= 3
    assert all(len(series[name]) == len(detail.blocks) for name, _, _ in CHARTS)
    assert series["incentive"][-1] == snapshot.metagraph.incentive[5]
    assert {uid for uid, _ in detail.weights_received} <= {0, 1, 2, 3}


async def test_a_render_due_after_the_app_closed_does_nothing() -> None:
    # A snapshot's render timer can fire while the app shuts down: the screens are gone.
    app = DashboardApp(StubDriver([canned_snapshot()], answer=inspect_answer))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
    assert not app.screen_stack
    app.render_latest()
