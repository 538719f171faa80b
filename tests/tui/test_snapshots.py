"""SVG snapshots of the main panels at 120x40 on canned data (goldens in __snapshots__).

Update on purpose only: ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from subnetsim.tui.app import DashboardApp
from tests.tui.canned import StubDriver, canned_snapshot


@pytest.mark.parametrize("keys", [("1",), ("2",), ("3",), ("4",), ("5",), ("6",), ("7",),
                                  ("question_mark",)],
                         ids=["overview", "metagraph", "weights", "charts", "parameters",
                              "governance", "log", "help"])
def test_panel_snapshot(snap_compare, keys: tuple[str, ...]) -> None:
    app = DashboardApp(StubDriver([canned_snapshot()]))
    assert snap_compare(app, press=keys, terminal_size=(120, 40))
