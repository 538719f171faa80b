"""SVG snapshots of every view at 120x40 and 80x24 on canned data (goldens in __snapshots__).

Update on purpose only: ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import dataclasses

import pytest
from textual.pilot import Pilot

from subnetsim.tui.app import DashboardApp
from tests.tui.canned import StubDriver, canned_ab, canned_snapshot, inspect_answer
from tests.tui.waiting import wait_for

VIEWS = {
    "overview": ("1",), "metagraph": ("2",), "weights": ("3", "right", "right", "down"),
    "charts": ("4",), "parameters": ("5",), "governance": ("6",), "log": ("7",),
    "ab": ("8",), "help": ("question_mark",), "inspector": ("2", "down", "down", "enter"),
    "restart": ("r",),
}
SIZES = {"120x40": (120, 40), "80x24": (80, 24)}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", VIEWS)
def test_view_snapshot(snap_compare, view: str, size: str) -> None:
    snapshot = dataclasses.replace(canned_snapshot(), ab=canned_ab() if view == "ab" else None)
    app = DashboardApp(StubDriver([snapshot], answer=inspect_answer))
    app.animation_level = "none"  # the tab underline slides: a busy machine caught it mid-way

    async def snapshot_shown(pilot: Pilot) -> None:
        # The keys go in after the canned snapshot is on screen, as on an idle machine; a busy
        # one could otherwise open the panel first and size its columns to other contents.
        await wait_for(pilot, lambda: app.latest is not None)
        await pilot.pause()

    assert snap_compare(app, press=VIEWS[view], terminal_size=SIZES[size],
                        run_before=snapshot_shown)
