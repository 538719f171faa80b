"""The real driver: commands between chunks, the budget pause, saves, and replays."""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import pytest

from subnetsim.commands import replay
from subnetsim.run import run
from subnetsim.subnet.scenario import load_scenario
from subnetsim.subnet.store import RunStore
from subnetsim.tui import messages
from subnetsim.tui.app import DashboardApp
from subnetsim.tui.driver import SPEEDS, SimulationDriver
from subnetsim.tui.snapshot import Snapshot

SMALL = Path(__file__).resolve().parents[1] / "data" / "small.toml"
MAX = SPEEDS.index(None)


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SMALL)


class Inbox:
    """Collects posted snapshots; ``until`` waits (bounded) for one that satisfies a check."""

    def __init__(self) -> None:
        self.snapshots: queue.Queue[Snapshot] = queue.Queue()
        self.last: Snapshot | None = None

    def __call__(self, snapshot: Snapshot) -> None:
        self.snapshots.put(snapshot)

    def until(self, check) -> Snapshot:  # noqa: ANN001
        while True:
            self.last = self.snapshots.get(timeout=60)
            if check(self.last):
                return self.last


def finished_session(scenario, seed: int, budget: int, folder) -> Snapshot:  # noqa: ANN001
    """Run a full-speed session to its budget; its last snapshot, the driver stopped."""
    driver = SimulationDriver(scenario, seed, budget=budget, speed=MAX, save_folder=folder)
    inbox = Inbox()
    driver.start(inbox)
    finished = inbox.until(lambda s: s.state == "finished")
    driver.stop()
    return finished


def test_stop_returns_while_another_process_holds_the_snapshot_pipe(scenario, tmp_path) -> None:
    # As if a process forked by another thread of the app before ``start`` closed the child's
    # ends still held a copy of the pipe's write end: the pipe never reads as closed.
    driver = SimulationDriver(scenario, 3, speed=MAX, paused=True, save_folder=tmp_path)
    held = os.dup(driver._child_ends[1].fileno())
    try:
        inbox = Inbox()
        driver.start(inbox)
        inbox.until(lambda snapshot: snapshot.state == "paused")
        stopping = threading.Thread(target=driver.stop, daemon=True)
        stopping.start()
        stopping.join(60)
        assert not stopping.is_alive(), "stop() waited on a pipe that never closes"
        assert driver.failure is None
    finally:
        os.close(held)  # lets a stuck stop() (the failure above) finish


def test_pause_at_budget_gives_the_headless_digest(scenario, tmp_path) -> None:
    finished = finished_session(scenario, 3, 45, tmp_path)
    assert finished.block == 45
    assert finished.digest == run(scenario, 3, blocks=45).digest


def test_session_with_commands_replays_to_the_same_digest(scenario, tmp_path) -> None:
    driver = SimulationDriver(scenario, 3, budget=10**6, speed=MAX, paused=True,
                              save_folder=tmp_path)
    inbox = Inbox()
    driver.start(inbox)
    driver.send(messages.StepBlocks(count=7))
    inbox.until(lambda s: s.block == 7)
    driver.send(messages.SetHyperparameter(name="kappa", value=0.8))
    driver.send(messages.StepEpoch())
    epoch = inbox.until(lambda s: s.epoch_index == 1 and s.state == "paused")
    driver.send(messages.SetHyperparameter(name="weights_rate_limit", value=2))
    driver.send(messages.SetHyperparameter(name="tempo", value=13))
    driver.send(messages.StepBlocks(count=40))
    end = inbox.until(lambda s: s.block == epoch.block + 40)
    driver.stop()
    assert [c["block"] for c in end.commands] == [7, epoch.block, epoch.block]
    assert end.hyper.tempo == 13 and end.hyper.kappa == 0.8
    session_digest = end.digest
    assert replay(scenario, 3, end.commands, end.block) == session_digest
    # The log matters: without it (or with another value) the trajectory differs.
    assert run(scenario, 3, blocks=end.block).digest != session_digest
    changed = [dict(end.commands[0], value=0.9), *end.commands[1:]]
    assert replay(scenario, 3, changed, end.block) != session_digest


def test_invalid_value_is_refused_and_not_logged(scenario, tmp_path) -> None:
    driver = SimulationDriver(scenario, 3, speed=MAX, paused=True, save_folder=tmp_path)
    inbox = Inbox()
    driver.start(inbox)
    driver.send(messages.SetHyperparameter(name="kappa", value=1.5))
    refused = inbox.until(lambda s: "refused" in s.notice or "rejected" in s.notice)
    driver.send(messages.SetHyperparameter(name="max_allowed_uids", value=8))
    fixed = inbox.until(lambda s: "max_allowed_uids" in s.notice)
    driver.stop()
    assert "kappa" in refused.notice and "<= 1" in refused.notice
    assert "fixed at genesis" in fixed.notice
    assert fixed.commands == () and fixed.hyper.kappa == scenario.hyperparameters.kappa


def test_save_writes_a_run_store_and_session_file_matching_the_session(scenario,
                                                                        tmp_path) -> None:
    driver = SimulationDriver(scenario, 3, speed=MAX, paused=True, save_folder=tmp_path)
    inbox = Inbox()
    driver.start(inbox)
    driver.send(messages.SetHyperparameter(name="kappa", value=0.7))
    driver.send(messages.StepBlocks(count=30))
    session = inbox.until(lambda s: s.block == 30)
    driver.send(messages.SaveRun())
    saved = inbox.until(lambda s: s.notice.startswith("saved"))
    driver.stop()
    assert "matches the session" in saved.notice
    db = tmp_path / "tui-small-seed3-block30.db"
    with RunStore.open(db, create=False) as store:
        run_id = store.latest_run_id()
        assert store.head(run_id).hash == session.digest
        assert [command for _, command in store.commands(run_id)] == list(session.commands)
    assert (tmp_path / "tui-small-seed3-block30.session.json").exists()


def test_restart_starts_a_new_session_with_the_next_seed(scenario, tmp_path) -> None:
    driver = SimulationDriver(scenario, 3, speed=MAX, paused=True, save_folder=tmp_path)
    inbox = Inbox()
    driver.start(inbox)
    driver.send(messages.StepBlocks(count=5))
    inbox.until(lambda s: s.block == 5)
    driver.send(messages.Restart())
    restarted = inbox.until(lambda s: s.session == 1)
    driver.stop()
    assert (restarted.seed, restarted.block, restarted.commands) == (4, 0, ())


def test_speed_keys_move_the_target_speed(scenario, tmp_path) -> None:
    driver = SimulationDriver(scenario, 3, speed=0, paused=True, save_folder=tmp_path)
    inbox = Inbox()
    driver.start(inbox)
    driver.send(messages.ChangeSpeed(steps=2))
    faster = inbox.until(lambda s: s.speed_label != "1 blocks/s")
    driver.send(messages.ChangeSpeed(steps=99))
    fastest = inbox.until(lambda s: s.speed_label == "max")
    driver.stop()
    assert faster.speed_label == "5 blocks/s" and fastest.state == "paused"


async def test_dashboard_pause_edit_kappa_and_step_an_epoch(scenario, tmp_path) -> None:
    """With the real driver: pause, set kappa in the Parameters panel, step one epoch, and the
    epoch that ran used the new kappa."""
    driver = SimulationDriver(scenario, 3, budget=10**6, speed=MAX, save_folder=tmp_path)
    app = DashboardApp(driver)

    async def wait_for(pilot, check) -> Snapshot:  # noqa: ANN001
        for _ in range(600):
            await pilot.pause(0.05)
            if app.latest is not None and check(app.latest):
                return app.latest
        raise AssertionError(f"no snapshot satisfied the check; last: {app.latest}")

    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda s: s.block > 0 and s.state == "running")
        await pilot.press("space")
        paused = await wait_for(pilot, lambda s: s.state == "paused")
        await pilot.press("5")
        app.query_one("#parameter-input").focus()
        await pilot.press(*"kappa=0.7", "enter")
        edited = await wait_for(pilot, lambda s: s.hyper.kappa == 0.7)
        assert edited.block == paused.block  # applied between chunks, while paused
        await pilot.press("escape")
        app.query_one("#parameters-table").focus()
        await pilot.press("e")
        stepped = await wait_for(pilot, lambda s: s.epoch_index == paused.epoch_index + 1)
        assert stepped.state == "paused"
        assert stepped.history[-1].block == stepped.block  # stopped on the epoch block
        assert stepped.history[-1].kappa == 0.7  # the epoch ran with the new kappa
        assert "kappa" in str(app.query_one("#parameters-table").get_row_at(1)[0])
        assert app.query_one("#parameters-table").get_row_at(1)[1] == "0.7"
        assert stepped.commands[-1]["value"] == 0.7
