"""Safe input: while an input has focus no key is a command; Esc hands the keys back."""

from __future__ import annotations

import dataclasses
import string

import pytest
from textual.keys import _character_to_key
from textual.widgets import Footer, Input, TabbedContent
from textual.widgets._footer import FooterKey

from subnetsim.tui import messages
from subnetsim.tui.app import DashboardApp
from subnetsim.tui.widgets.help import HelpScreen
from tests.tui.canned import StubDriver, canned_snapshot, pause_answer

# Every printable character a user can type, the digits and the command keys among them (into
# the filter); the other inputs get every character that is a command anywhere, plus a few
# letters (typing all 95 into all three took half a minute of the suite's budget).
EVERY = string.ascii_letters + string.digits + string.punctuation + " "
COMMANDS = "einoqrsxy" + "adhjkl" + string.digits + string.punctuation + " "  # bound: e..y
INPUTS = [("2", "#metagraph-filter", "metagraph-table", EVERY),
          ("5", "#parameter-input", "parameters-table", COMMANDS),
          ("8", "#ab-input", "ab-table-a", COMMANDS)]


@pytest.mark.parametrize(("panel", "selector", "home", "typed"), INPUTS,
                         ids=["filter", "parameter", "ab"])
async def test_typing_into_an_input_never_fires_a_command(panel, selector, home, typed) -> None:
    driver = StubDriver([canned_snapshot()], answer=pause_answer)
    app = DashboardApp(driver)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(panel)
        box = app.query_one(selector, Input)
        box.focus()
        await pilot.press(*(_character_to_key(c) for c in typed))
        assert driver.commands == []  # no pause, step, speed, restart, save, quit or drill
        panels = {"2": "metagraph", "5": "parameters", "8": "ab"}
        assert app.query_one(TabbedContent).active == panels[panel]
        assert not isinstance(app.screen, HelpScreen) and app.is_running
        assert box.value.endswith(typed)
        await pilot.press("escape")
        assert not box.has_focus and app.focused is not None and app.focused.id == home
        await pilot.press("space")  # the keys are commands again
        assert driver.commands == [messages.TogglePause()]


async def test_typing_a_word_on_the_metagraph_table_filters_instead_of_commands() -> None:
    driver = StubDriver([canned_snapshot()], answer=pause_answer)
    app = DashboardApp(driver)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2", *"trainer")
        box = app.query_one("#metagraph-filter", Input)
        # "t" is no command: it starts the filter, and the rest of the word lands there too
        # ("r", "n", "e" and "i" would have restarted, stepped and inverted the sort).
        assert box.has_focus and box.value == "trainer"
        assert driver.commands == []


async def test_slash_focuses_the_filter_and_escape_leaves_it() -> None:
    app = DashboardApp(StubDriver([canned_snapshot()]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2", "slash")
        assert app.query_one("#metagraph-filter", Input).has_focus
        await pilot.press("v", "a", "l", "escape")
        assert app.focused is not None and app.focused.id == "metagraph-table"


async def test_the_log_scrolls_by_keys() -> None:
    many = canned_snapshot()
    entries = tuple(type(many.events[0])(seq=i, block=i, kind="epoch", text=f"line {i}")
                    for i in range(1, 200))
    app = DashboardApp(StubDriver([dataclasses.replace(many, events=entries)]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("7")
        log = app.query_one("#log-pane")
        await pilot.pause(0.3)
        bottom = log.scroll_y
        await pilot.press("pageup", "up")
        assert log.scroll_y < bottom
        await pilot.press("end")
        assert log.scroll_y == bottom


async def test_footer_keeps_save_quit_and_help_at_80_columns() -> None:
    app = DashboardApp(StubDriver([canned_snapshot()]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = app.query_one(Footer)
        shown = [key for key in footer.query(FooterKey) if key.region.right <= 80
                 and key.region.width > 0]
        labels = {key.description for key in shown}
        assert {"Save", "Quit", "Help"} <= labels
