"""Run this folder's ``async def`` tests (Textual pilots) on a fresh asyncio loop each, and let
every simulated key press settle before the test looks at the screen."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from textual.pilot import Pilot

# Message hops a key takes before its binding's action has run: app -> screen -> focused widget.
KEY_HOPS = 3


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture(autouse=True)
def settled_key_presses(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Pilot.press`` waits for the message queues as they were when the key was sent, then for
    an idle CPU slice; on a loaded machine (two test workers on two cores) the key can still be
    on its way to the focused widget when the test reads the screen. One more drain of the
    queues per hop makes the wait depend on messages, not on the machine's speed."""
    press = Pilot.press

    async def settled_press(self: Pilot, *keys: str) -> None:
        await press(self, *keys)
        for _ in range(KEY_HOPS):
            await self.pause()

    monkeypatch.setattr(Pilot, "press", settled_press)
