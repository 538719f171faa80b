"""A/B: the session forked at a block into two worlds that differ in one setting."""

from __future__ import annotations

import dataclasses
import queue
from pathlib import Path

import pytest
from textual.keys import _character_to_key
from textual.widgets import DataTable, Input

from subnetsim.catalog import resolve
from subnetsim.commands import replay
from subnetsim.subnet.config import Hyperparameters
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.scenario import load_scenario
from subnetsim.tui import messages
from subnetsim.tui.app import DashboardApp
from subnetsim.tui.driver import SPEEDS, SimulationDriver
from subnetsim.tui.widgets.ab import parse_ab
from tests.tui.canned import StubDriver, canned_ab, canned_snapshot

SMALL = Path(__file__).resolve().parents[1] / "data" / "small.toml"


def _run_ab(scenario, seed: int, fork: int, until: int, tmp_path, a=0.5, b=0.6):  # noqa: ANN001, ANN202
    driver = SimulationDriver(scenario, seed, budget=10**6, speed=SPEEDS.index(None),
                              paused=True, save_folder=tmp_path)
    inbox: queue.Queue = queue.Queue()

    def wait(check):  # noqa: ANN001, ANN202
        while not check(snapshot := inbox.get(timeout=120)):
            pass
        return snapshot

    driver.start(inbox.put)
    driver.send(messages.StepBlocks(count=fork))
    wait(lambda s: s.block == fork and s.state == "paused")
    driver.send(messages.StartAB(name="kappa", a=a, b=b))
    driver.send(messages.StepBlocks(count=until - fork))
    end = wait(lambda s: s.ab is not None and s.ab.block == until and s.state == "paused")
    driver.stop()
    return end


def test_side_a_is_the_session_with_its_setting_and_b_differs(tmp_path) -> None:
    scenario = load_scenario(SMALL)
    end = _run_ab(scenario, 3, 30, 130, tmp_path)
    a, b = end.ab.sides
    assert end.block == 30  # the session waited at the fork
    entry = {"block": 30, "command": "set_hyperparameter", "name": "kappa"}
    assert a.digest == replay(scenario, 3, [dict(entry, value=0.5)], 130)
    assert b.digest == replay(scenario, 3, [dict(entry, value=0.6)], 130)
    assert a.digest != b.digest and len(a.history) == len(b.history) == end.epoch_index + 5


@pytest.mark.slow
def test_ab_on_the_default_scenario_shows_both_metagraphs(tmp_path) -> None:
    end = _run_ab(load_scenario(resolve("default")), 7, 1, 400, tmp_path)
    a, b = end.ab.sides
    assert (a.value, b.value) == (0.5, 0.6)
    registered = int(end.metagraph.registered.sum())
    assert int(a.metagraph.registered.sum()) == int(b.metagraph.registered.sum()) == registered
    assert a.history and b.history and a.digest != b.digest


def test_parse_ab_checks_both_values() -> None:
    assert parse_ab("kappa 0.5 0.6", Hyperparameters()) == ("kappa", 0.5, 0.6)
    assert parse_ab("tempo=10,20", Hyperparameters()) == ("tempo", 10, 20)
    with pytest.raises(ConfigError, match="kappa"):
        parse_ab("kappa 0.5 1.5", Hyperparameters())
    with pytest.raises(ConfigError, match="two values"):
        parse_ab("kappa 0.5", Hyperparameters())


async def test_the_ab_panel_sends_the_fork_and_shows_both_sides() -> None:
    snapshot = canned_snapshot()
    driver = StubDriver([snapshot])
    app = DashboardApp(driver)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("8", "slash")
        box = app.query_one("#ab-input", Input)
        assert box.has_focus
        await pilot.press(*(_character_to_key(c) for c in "kappa 0.5 0.6"), "enter")
        assert driver.commands == [messages.StartAB(name="kappa", a=0.5, b=0.6)]
        driver.post(dataclasses.replace(snapshot, ab=canned_ab(), notice="A/B"))
        await pilot.pause(0.4)
        a, b = app.query_one("#ab-table-a", DataTable), app.query_one("#ab-table-b", DataTable)
        assert a.row_count == b.row_count == 12
        assert b.get_row_at(4)[2] == "+1.4e-01"  # B's incentive minus A's, second column
        await pilot.press("x")
        assert driver.commands[-1] == messages.StopAB()
