"""The simulation runs in a process of its own, and never outlives the dashboard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import subnetsim.simulation
import subnetsim.world
from subnetsim.run import run
from subnetsim.subnet.scenario import load_scenario
from subnetsim.tui import messages
from subnetsim.tui.app import DashboardApp
from subnetsim.tui.driver import SimulationCrashed, SimulationDriver
from subnetsim.tui.widgets.help import HelpScreen
from subnetsim.tui.widgets.status import StatusBar
from tests.tui.test_driver import MAX, SMALL, Inbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SMALL)


def _gone(pid: int) -> bool:
    """The process has ended (a zombie nobody reaped yet counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _wait_gone(pids: list[int], seconds: float = 20.0) -> list[int]:
    """The pids still running after waiting up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(_gone(pid) for pid in pids):
        time.sleep(0.05)
    return [pid for pid in pids if not _gone(pid)]


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc's parent links)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def test_stop_ends_the_simulation_process(scenario, tmp_path) -> None:
    driver = SimulationDriver(scenario, 3, speed=MAX, budget=10**6, save_folder=tmp_path)
    inbox = Inbox()
    driver.start(inbox)
    running = inbox.until(lambda s: s.block > 0)
    pid = driver.process_id
    assert pid is not None and pid != os.getpid() and not _gone(pid)
    assert driver.snapshot().block >= running.block
    driver.stop()
    assert _gone(pid)
    driver.stop()  # a second stop (q, then the app's unmount) is harmless
    assert driver.failure is None


def test_the_dashboard_process_never_runs_the_simulation(scenario, tmp_path,
                                                         monkeypatch) -> None:
    expected = run(scenario, 3, blocks=12).digest

    def forbidden(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("simulation code ran in the dashboard's process")

    monkeypatch.setattr(subnetsim.world, "build_world", forbidden)
    monkeypatch.setattr(subnetsim.simulation, "build_world", forbidden)
    monkeypatch.setattr(subnetsim.world.World, "run_to_block", forbidden)
    driver = SimulationDriver(scenario, 3, paused=True, save_folder=tmp_path)
    inbox = Inbox()
    driver.start(inbox)
    driver.send(messages.StepBlocks(count=12))
    stepped = inbox.until(lambda s: s.block == 12)
    driver.stop()
    assert stepped.digest == expected
    assert not stepped.metagraph.stake.flags.writeable  # still read-only after the pipe


def test_ctrl_c_in_the_terminal_does_not_reach_the_simulation(scenario, tmp_path) -> None:
    """A terminal's Ctrl+C signals the whole process group; only the dashboard decides."""
    driver = SimulationDriver(scenario, 3, paused=True, save_folder=tmp_path)
    inbox = Inbox()
    driver.start(inbox)
    inbox.until(lambda s: s.block == 0)
    os.kill(driver.process_id, signal.SIGINT)
    driver.send(messages.StepBlocks(count=3))
    assert inbox.until(lambda s: s.block == 3).state == "paused"
    driver.stop()
    assert driver.failure is None


def test_a_failure_in_the_simulation_is_shown_and_raised(scenario, tmp_path) -> None:
    driver = SimulationDriver(scenario, 3, paused=True, save_folder=tmp_path)
    inbox = Inbox()
    driver.start(inbox)
    driver.send(messages.StepBlocks(count="two"))  # type: ignore[arg-type]  # a bug's stand-in
    crashed = inbox.until(lambda s: s.state == "crashed")
    driver.stop()
    assert "TypeError" in crashed.notice
    assert isinstance(driver.failure, SimulationCrashed)
    assert "_on_StepBlocks" in str(driver.failure)  # the simulation's own traceback
    assert _gone(driver.process_id)


def test_a_killed_simulation_process_is_reported(scenario, tmp_path) -> None:
    driver = SimulationDriver(scenario, 3, paused=True, save_folder=tmp_path)
    inbox = Inbox()
    driver.start(inbox)
    inbox.until(lambda s: s.block == 0)
    os.kill(driver.process_id, signal.SIGKILL)
    lost = inbox.until(lambda s: s.state == "crashed")
    driver.send(messages.TogglePause())  # nobody listens: dropped, not an error
    driver.stop()
    assert "ended unexpectedly" in lost.notice
    assert "exit code -9" in str(driver.failure)


async def test_a_crashing_dashboard_stops_the_simulation(scenario, tmp_path) -> None:
    class Broken(DashboardApp):
        CSS_PATH = str(ROOT / "tui" / "app.tcss")  # relative paths follow the subclass

        def action_help(self) -> None:
            raise ValueError("a bug in the dashboard")

    driver = SimulationDriver(scenario, 3, speed=MAX, budget=10**6, save_folder=tmp_path)
    app = Broken(driver)
    with pytest.raises(ValueError, match="a bug in the dashboard"):
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(200):
                await pilot.pause(0.05)
                if app.latest is not None and app.latest.block > 0:
                    break
            assert not _gone(driver.process_id)
            await pilot.press("question_mark")
            await pilot.pause(0.5)
    assert _gone(driver.process_id)


async def test_help_screen_holds_renders_until_it_closes(scenario, tmp_path) -> None:
    """Under the help screen the panels wait (re-tinting the background would delay keys);
    closing it shows the latest snapshot."""
    driver = SimulationDriver(scenario, 3, paused=True, save_folder=tmp_path)
    app = DashboardApp(driver)

    def status() -> str:
        return str(app.screen_stack[0].query_one(StatusBar).render())

    async with app.run_test(size=(120, 40)) as pilot:
        while app.latest is None:
            await pilot.pause(0.05)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        driver.send(messages.StepBlocks(count=5))
        while app.latest.block < 5:
            await pilot.pause(0.05)
        await pilot.pause(0.4)  # longer than the refresh period
        assert "block 0/" in status()
        await pilot.press("escape")
        await pilot.pause()
        assert "block 5/" in status()


PARENT = """
import sys, time
from pathlib import Path
from subnetsim.subnet.scenario import load_scenario
from subnetsim.tui.app import DashboardApp
from subnetsim.tui.driver import SPEEDS, SimulationDriver

async def main():
    driver = SimulationDriver(load_scenario(sys.argv[1]), 3, speed=SPEEDS.index(None),
                              budget=10**6, save_folder=Path(sys.argv[2]))
    app = DashboardApp(driver)
    async with app.run_test(size=(80, 24)) as pilot:
        while app.latest is None or app.latest.block == 0:
            await pilot.pause(0.05)
        print(driver.process_id, flush=True)
        await pilot.pause(600)

if __name__ == "__main__":
    import asyncio
    asyncio.run(main())
"""


def test_a_killed_dashboard_leaves_no_process_behind(tmp_path) -> None:
    """The dashboard is killed outright (no cleanup runs): the simulation process and
    multiprocessing's helpers notice their pipes close and end."""
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script), str(SMALL), str(tmp_path)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        simulation = int(parent.stdout.readline())
        family = _descendants(parent.pid)
        assert simulation in family
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
    assert _wait_gone(family) == []
