"""Waiting on the dashboard in pilot tests: a condition, not a fixed pause.

A loaded machine (CI runs two test workers on two cores) can render a panel a few frames later
than an idle one; a test that checks right after a key press would then fail for no fault of
the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot


async def wait_for(pilot: Pilot, check: Callable[[], bool], seconds: float = 60.0) -> None:
    """Let the app run until ``check()`` holds; fail after ``seconds``."""
    for _ in range(int(seconds / 0.1)):
        if check():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"timed out after {seconds} s waiting for the dashboard")
