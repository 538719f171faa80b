"""Pilot tests: every panel and every key of the dashboard, on a stub driver."""

from __future__ import annotations

import dataclasses
import gc

from textual.widgets import DataTable, Input, OptionList, RichLog, Static, TabbedContent

import subnetsim.tui.app
from subnetsim.tui import messages
from subnetsim.tui.app import PANELS, DashboardApp
from subnetsim.tui.widgets.confirm import ConfirmScreen
from subnetsim.tui.widgets.help import HelpScreen
from tests.tui.canned import StubDriver, canned_snapshot, pause_answer
from tests.tui.waiting import wait_for

SIZE = (120, 40)


def _text(app: DashboardApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def test_first_snapshot_fills_status_and_overview() -> None:
    app = DashboardApp(StubDriver([canned_snapshot()]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        status = _text(app, "#status")
        assert "RUNNING" in status and "block 117/240" in status
        assert "HALTED at block 95: weights (until 200)" in status
        figures = _text(app, "#overview-figures")
        assert "12 registered, 4 with a validator permit" in figures
        assert app.query_one("#halt-banner").display
        assert "until block 200" in _text(app, "#halt-banner")


async def test_number_keys_switch_panels() -> None:
    app = DashboardApp(StubDriver([canned_snapshot()]))
    async with app.run_test(size=SIZE) as pilot:
        for number, (panel_id, _, _) in reversed(list(enumerate(PANELS, start=1))):
            await pilot.press(str(number))
            assert app.query_one(TabbedContent).active == panel_id


async def test_metagraph_lists_registered_uids_with_filter_and_sort() -> None:
    app = DashboardApp(StubDriver([canned_snapshot()]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        table = app.query_one("#metagraph-table", DataTable)
        assert table.row_count == 12  # the two empty slots are not listed
        assert [str(c.label) for c in table.ordered_columns][-2:] == ["BEHAVIOUR", "SERVING"]
        assert table.get_row_at(3)[11] == "cabal"
        assert table.get_row_at(3)[12] == "serving"  # no council in the canned world
        await pilot.press("i")  # invert: highest uid first
        assert table.get_row_at(0)[0] == "11"
        await pilot.press("i", "o", "o")  # sort by STAKE ascending: the smallest miner first
        assert table.get_row_at(0)[1] == "miner-4"
        app.query_one("#metagraph-filter", Input).focus()
        await pilot.press(*"lazy")
        assert table.row_count == 2
        assert {table.get_row_at(i)[11] for i in range(2)} == {"lazy"}


async def test_keys_typed_in_a_box_do_not_reach_the_simulation() -> None:
    driver = StubDriver([canned_snapshot()])
    app = DashboardApp(driver)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "slash", "n", "e", "space", "s")
        await pilot.pause()
        assert app.query_one("#metagraph-filter", Input).value == "ne s"
        assert driver.commands == []


async def test_weights_panel_shows_heatmaps_and_consensus() -> None:
    app = DashboardApp(StubDriver([canned_snapshot()]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        text = _text(app, "#heatmap")
        assert "Weights" in text and "Bonds" in text and "Consensus per miner" in text
        assert "v3" in text and "percentile" in text
        # Columns by consensus, highest first: the read-out starts on the top miner.
        readout = _text(app, "#weights-readout")
        assert "miner 11" in readout and "rank 1 of 8" in readout
        await pilot.press("right", "down")
        readout = _text(app, "#weights-readout")
        assert readout.startswith("v1 → miner 10") and "rank 2 of 8" in readout


async def test_charts_panel_plots_each_group() -> None:
    app = DashboardApp(StubDriver([canned_snapshot()]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        incentive = app.query_one("#incentive-plot")
        rendered = str(incentive.render())
        assert "miner:honest" in rendered and "miner:lazy" in rendered


async def test_parameters_refuse_bad_values_and_send_good_ones() -> None:
    driver = StubDriver([canned_snapshot()])
    app = DashboardApp(driver)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        table = app.query_one("#parameters-table", DataTable)
        assert table.get_row_at(1)[:4] == ["kappa", "0.6", "0.5", "100"]
        box = app.query_one("#parameter-input", Input)
        box.focus()
        for text in ("kappa=1.5", "max_allowed_uids=8", "alpha_low=0.95", "kapa=0.6"):
            box.value = text
            await pilot.press("enter")
            assert "refused" in _text(app, "#parameter-error"), text
        assert driver.commands == []
        box.value = "kappa=0.6"
        await pilot.press("enter")
        assert driver.commands == [messages.SetHyperparameter(name="kappa", value=0.6)]
        assert "kappa 0.5 → 0.6 (block 100)" in _text(app, "#parameter-log")


async def test_enter_on_a_parameter_row_starts_an_edit() -> None:
    app = DashboardApp(StubDriver([canned_snapshot()]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        app.query_one("#parameters-table", DataTable).focus()
        await pilot.press("down", "enter")
        box = app.query_one("#parameter-input", Input)
        assert box.value == "kappa=0.6" and box.has_focus
        # Nothing selected: Backspace deletes one character, typing appends.
        await pilot.press("backspace", "7")
        assert box.value == "kappa=0.7"


async def test_governance_panel_shows_halt_council_and_drills() -> None:
    driver = StubDriver([canned_snapshot()])
    app = DashboardApp(driver)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await wait_for(pilot, lambda: "HALTED" in _text(app, "#halt-state"))
        assert "block 200" in _text(app, "#halt-state")
        assert app.query_one("#council-table", DataTable).row_count == 5
        assert app.query_one("#proposal-table", DataTable).get_row_at(0)[3] == "2/4"
        assert "PASSED" in _text(app, "#drill-report")
        assert "excluded 5" in _text(app, "#signing-rounds")
        states = [app.query_one("#council-table", DataTable).get_row_at(i)[1] for i in (3, 4)]
        assert states == ["OFFLINE", "CHEATING"]
        life = app.query_one("#lifecycle-table", DataTable)
        assert [life.get_row_at(i)[:2] for i in range(4)] == [
            ["detected", "90"], ["proposed", "93"], ["signed", "94"], ["applied", "95"]]
        assert "HALTED at block 95" in _text(app, "#status")
        picker = app.query_one(OptionList)
        picker.focus()
        picker.highlighted = 1
        await pilot.press("enter")
        assert driver.commands == [messages.StartDrill(name="forged_halt")]


async def test_log_panel_appends_each_entry_once() -> None:
    first = canned_snapshot()
    later = dataclasses.replace(first, events=(*first.events, dataclasses.replace(
        first.events[0], seq=6, block=120, text="epoch 6: paid 17.000 TAO")))
    driver = StubDriver([first])
    app = DashboardApp(driver)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("7")
        log = app.query_one(RichLog)
        assert len(log.lines) == 5
        driver.post(later)
        await pilot.pause(0.5)
        assert len(log.lines) == 6


async def test_control_keys_send_commands() -> None:
    driver = StubDriver([canned_snapshot()])
    app = DashboardApp(driver)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "n", "e", "plus", "minus", "r")
        assert isinstance(app.screen, ConfirmScreen)  # a restart discards the world: asked
        await pilot.press("n", "r", "y", "s")
        assert driver.commands == [
            messages.TogglePause(), messages.StepBlocks(count=1), messages.StepEpoch(),
            messages.ChangeSpeed(steps=1), messages.ChangeSpeed(steps=-1), messages.Restart(),
            messages.SaveRun(),
        ]


async def test_pause_answer_shows_at_once_in_the_status_bar() -> None:
    app = DashboardApp(StubDriver([canned_snapshot()], answer=pause_answer))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        await pilot.pause()
        assert "PAUSED" in _text(app, "#status")
        await pilot.press("space")
        await pilot.pause()
        assert "RUNNING" in _text(app, "#status")


async def test_help_screen_opens_and_closes() -> None:
    app = DashboardApp(StubDriver([canned_snapshot()]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "step one epoch" in str(app.screen.query_one("#help-text", Static).render())
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_quit_stops_the_driver_and_returns_the_last_snapshot() -> None:
    driver = StubDriver([canned_snapshot(block=5), canned_snapshot(block=9)])
    app = DashboardApp(driver)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
    assert driver.stopped
    assert app.return_value is not None and app.return_value.block == 9


async def test_garbage_collection_waits_while_a_key_is_answered(monkeypatch) -> None:
    """A collection falling due while a key's answer renders would delay it: after a key the
    collector is held for a moment, then runs again; on exit the process gets it back."""
    # A longer hold than the app's 0.25 s, so a loaded machine cannot end it before we look.
    hold = 3.0
    monkeypatch.setattr(subnetsim.tui.app, "QUIET_SECONDS", hold)
    app = DashboardApp(StubDriver([canned_snapshot()], answer=pause_answer))
    async with app.run_test(size=SIZE) as pilot:
        assert gc.isenabled()
        await pilot.press("space")
        assert not gc.isenabled()
        await pilot.pause(hold * 2)
        assert gc.isenabled()
        await pilot.press("space")
    assert gc.isenabled()
