"""The simulation side of the dashboard: runs a session in chunks and posts snapshots.

DESIGN.md rule 7: the dashboard never touches the simulation. A ``SimulationWorker`` owns the
session (world, history, command log) and runs inside the simulation process that
``tui.driver`` starts; it runs blocks in chunks of at most ``CHUNK_SECONDS`` of wall time,
paced to the target speed, applies queued commands between chunks (so every command lands at
a block boundary, stamped with that block), and posts a frozen snapshot at most every
``POST_SECONDS`` (and at once after a command, a step or a pause). Saves and drills run in
helper threads with worlds of their own and report back through the same inbox.

Wall-clock time is used here, at the edge, only for pacing and the blocks/s readout; the
world inside never sees it.
"""

from __future__ import annotations

import collections
import dataclasses
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from subnetsim.commands import validated_hyperparameters
from subnetsim.sessions import save_session
from subnetsim.subnet.config import Hyperparameters
from subnetsim.subnet.dtao.scenario import NetworkScenario
from subnetsim.subnet.errors import SubnetSimError
from subnetsim.subnet.scenario import Scenario
from subnetsim.tui import messages
from subnetsim.tui.ab import ABRun
from subnetsim.tui.council_view import council_snapshot
from subnetsim.tui.drills import DRILL_FOLDER, list_drills, load_drill_scenario
from subnetsim.tui.network_session import NetworkSession
from subnetsim.tui.session import Session
from subnetsim.tui.snapshot import DrillStatus, Snapshot
from subnetsim.tui.tuning import parameter_diff

__all__ = ["DEFAULT_SPEED", "SPEEDS", "SimulationWorker", "WorkerSettings"]

SPEEDS: tuple[float | None, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, None)  # None: max
DEFAULT_SPEED = SPEEDS.index(100)
CHUNK_SECONDS = 0.015
POST_SECONDS = 0.25
IDLE_WAIT = 0.25


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WorkerSettings:
    """How a session starts: scenario, seed, block budget, speed level, and where files go."""

    scenario: Scenario | NetworkScenario
    seed: int
    budget: int  # the worker pauses once at this block
    speed: int = DEFAULT_SPEED  # index into SPEEDS
    paused: bool = False
    save_folder: Path = Path("runs")
    drill_folder: Path = DRILL_FOLDER
    file_hyper: Hyperparameters | None = None  # the scenario file's values, before --set


def open_session(number: int, scenario: Any, seed: int) -> Session | NetworkSession:
    """A session of the scenario's kind: one subnet, or a dTAO network (``[[subnets]]``)."""
    if isinstance(scenario, NetworkScenario):
        return NetworkSession(number, scenario, seed)
    return Session(number, scenario, seed)


# What a network session refuses, and why (the notice the dashboard shows).
NOT_IN_NETWORKS = {
    "SetHyperparameter": "hyperparameter edits are not offered for dTAO networks yet",
    "StartAB": "A/B forks are not offered for dTAO networks yet",
    "SaveRun": "saving a dTAO network session is not offered yet (subnetsim run records one)",
    "StartDrill": "drills run on single-subnet scenarios",
    "InspectUid": "the uid inspector is not offered for dTAO networks yet",
}


@dataclasses.dataclass(frozen=True, slots=True)
class _HelperDone:
    """A save thread finished (``session`` it was started from)."""

    session: int
    notice: str


class SimulationWorker:
    """Runs sessions of ``settings.scenario`` until ``messages.Stop`` arrives in ``inbox``."""

    def __init__(self, settings: WorkerSettings, inbox: queue.Queue[Any],
                 post: Callable[[Snapshot], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.scenario = settings.scenario
        # The scenario file's values, before --set and kept edits: the parameter diff's base.
        self.file_hyper = settings.file_hyper or getattr(settings.scenario, "hyperparameters",
                                                         None)
        self.budget = settings.budget
        self.save_folder = settings.save_folder
        self.drill_folder = settings.drill_folder
        self._inbox = inbox
        self._post = post
        self._clock = clock
        self._speed = max(0, min(settings.speed, len(SPEEDS) - 1))
        self._paused = settings.paused
        self._finished = False
        self._step_target: int | None = None
        self._session = open_session(0, settings.scenario, settings.seed)
        self._notice = ""
        self._drill = DrillStatus(state="idle")
        self._samples: collections.deque[tuple[float, int]] = collections.deque(maxlen=64)
        self._pace = (clock(), 0)  # (time, block) the target speed counts from
        self._last_post = float("-inf")
        self._dirty = True
        self._last_snapshot: Snapshot | None = None
        self._helpers: list[threading.Thread] = []
        self._inspected: int | None = None
        self._ab: ABRun | None = None

    def run(self) -> None:
        """Run until told to stop, then wait for any save in progress (drills are abandoned)."""
        try:
            self._post_snapshot()
            while self._next_commands():
                self._run_chunk()
                self._post_snapshot()
        except BaseException as error:
            # Keep the last picture on screen with the error; the caller reports it.
            if self._last_snapshot is not None:
                self._post(dataclasses.replace(self._last_snapshot, state="crashed",
                                               notice=f"simulation crashed: {error!r}"))
            raise
        for helper in self._helpers:
            if not helper.daemon:
                helper.join()

    # --- the loop ------------------------------------------------------------------------------

    def _next_commands(self) -> bool:
        """Wait as long as pacing allows, then apply every queued command; False to stop."""
        try:
            item = self._inbox.get(timeout=self._wait_seconds())
        except queue.Empty:
            return True
        while True:
            if isinstance(item, messages.Stop):
                return False
            self._apply(item)
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return True

    def _idle(self) -> bool:
        return self._paused and self._step_target is None

    def _wait_seconds(self) -> float:
        if self._step_target is not None:
            return 0.0
        if self._paused:
            return IDLE_WAIT
        rate = SPEEDS[self._speed]
        if rate is None:
            return 0.0  # full speed: the dashboard runs in another process, nothing to yield to
        start_time, start_block = self._pace
        due = start_time + (self._block + 1 - start_block) / rate
        return min(max(due - self._clock(), 0.0), IDLE_WAIT)

    def _run_chunk(self) -> None:
        target = self._target_block()
        session, started = self._session, self._clock()
        halts = len(session.halts)
        while self._block < target and self._clock() - started < CHUNK_SECONDS:
            if self._ab is not None:
                self._ab.step()  # the session waits while its A/B fork runs
                continue
            session.run_to_block(session.block + 1)
            if not halts and session.halts and not self._paused:
                # The first halt of a session: pause on it, or at full speed a drill's halt
                # would be over before anyone saw it.
                self._paused, self._step_target, self._dirty = True, None, True
                self._say(f"HALT took effect in block {session.block}: paused so you can "
                          "look (space runs on)", kind="halt")
                break
        self._samples.append((self._clock(), self._block))
        if self._step_target is not None and self._block >= self._step_target:
            self._step_target, self._dirty = None, True
        if self._ab is None and not self._paused and not self._finished and \
                session.block >= self.budget:
            self._paused, self._finished, self._dirty = True, True, True
            self._say(f"reached the scenario's budget of {self.budget} blocks: paused "
                      "(space runs on)")

    @property
    def _block(self) -> int:
        """The block the running world (the session, or its A/B fork) has reached."""
        return self._ab.block if self._ab is not None else self._session.block

    def _target_block(self) -> int:
        block = self._block
        if self._step_target is not None:
            return self._step_target
        if self._paused:
            return block
        target = self.budget if not self._finished and block < self.budget else block + 10**9
        rate = SPEEDS[self._speed]
        if rate is not None:
            start_time, start_block = self._pace
            target = min(target, start_block + int((self._clock() - start_time) * rate))
        return target

    # --- commands ------------------------------------------------------------------------------

    def _apply(self, command: Any) -> None:
        name = type(command).__name__
        handler = getattr(self, f"_on_{name}", None)
        if handler is None:
            raise TypeError(f"unknown driver command {command!r}")
        if isinstance(self._session, NetworkSession) and name in NOT_IN_NETWORKS:
            if name != "InspectUid" or command.uid is not None:
                self._say(f"refused: {NOT_IN_NETWORKS[name]}")
        else:
            handler(command)
        self._dirty = True  # answer every command with a fresh snapshot

    def _on_TogglePause(self, command: messages.TogglePause) -> None:
        self._paused = not self._paused
        self._step_target = None
        self._restart_pace()
        self._say("paused" if self._paused else "running")

    def _on_StepBlocks(self, command: messages.StepBlocks) -> None:
        self._paused = True
        self._step_target = self._block + max(1, command.count)

    def _on_StepEpoch(self, command: messages.StepEpoch) -> None:
        self._paused = True
        self._step_target = self._session.next_epoch_block()

    def _on_ChangeSpeed(self, command: messages.ChangeSpeed) -> None:
        self._speed = max(0, min(self._speed + command.steps, len(SPEEDS) - 1))
        self._restart_pace()
        self._say(f"speed {self.speed_label}")

    def _on_SelectSubnet(self, command: messages.SelectSubnet) -> None:
        session = self._session
        if not isinstance(session, NetworkSession):
            self._say("refused: a single-subnet scenario has no subnets to select")
        elif session.select(command.netuid):
            self._say(f"showing subnet {command.netuid} in the per-subnet panels")
        else:
            self._say(f"refused: no subnet {command.netuid}")

    def _on_Restart(self, command: messages.Restart) -> None:
        seed = self._session.seed + 1 if command.seed is None else command.seed
        if isinstance(self._session, NetworkSession):
            self._session = open_session(self._session.number + 1, self.scenario, seed)
            self._finished, self._step_target = False, None
            self._samples.clear()
            self._restart_pace()
            self._say(f"restarted with seed {seed}")
            return
        assert isinstance(self.scenario, Scenario)  # a network session is restarted above
        hyper = self._session.world.chain.ledger.hyper
        kept = [name for name, *_ in parameter_diff(hyper, self.scenario.hyperparameters, ())]
        if command.keep_edits and kept:
            # The edits become the new session's genesis values (its scenario, saved with it).
            self.scenario = dataclasses.replace(self.scenario, hyperparameters=hyper)
        self._session = Session(self._session.number + 1, self.scenario, seed)
        self._finished, self._step_target = False, None
        self._samples.clear()
        self._restart_pace()
        keeping = f", keeping {', '.join(kept)} from genesis" if command.keep_edits and kept \
            else ""
        self._say(f"restarted with seed {seed}{keeping}")

    def _on_SetHyperparameter(self, command: messages.SetHyperparameter) -> None:
        session = self._session
        assert isinstance(session, Session)  # refused for networks in _apply
        old = getattr(session.world.chain.hyper, command.name, None)
        try:
            session.simulation.set_hyperparameter(command.name, command.value)
        except SubnetSimError as error:
            self._say(f"rejected: {error}")
            return
        self._say(f"set {command.name} = {command.value!r} (was {old!r}) after block "
                  f"{session.block}", kind="command")

    def _on_StartAB(self, command: messages.StartAB) -> None:
        session = self._session
        assert isinstance(session, Session)  # refused for networks in _apply
        try:
            for value in (command.a, command.b):
                validated_hyperparameters(session.world.chain.ledger.hyper, command.name, value)
            self._ab = ABRun(session, command.name, command.a, command.b)
        except SubnetSimError as error:
            self._say(f"refused: A/B: {error}")
            return
        self._step_target = None
        self._restart_pace()
        self._say(f"A/B from block {session.block}: {command.name} = {command.a!r} (A) vs "
                  f"{command.b!r} (B), same seed; the session waits (x ends the A/B)")

    def _on_StopAB(self, command: messages.StopAB) -> None:
        if self._ab is not None:
            self._ab, self._step_target = None, None
            self._restart_pace()
            self._say(f"A/B ended; the session resumes at block {self._session.block}")

    def _on_InspectUid(self, command: messages.InspectUid) -> None:
        self._inspected = command.uid

    def _on_SaveRun(self, command: messages.SaveRun) -> None:
        session = self._session
        assert isinstance(session, Session)  # refused for networks in _apply
        assert isinstance(self.scenario, Scenario)
        job = (self.scenario, session.seed, list(session.commands), session.block,
               session.world.chain.head_hash, session.number)
        self._say(f"saving the session at block {session.block} ...")
        self._spawn(self._save, job, daemon=False)

    def _on_StartDrill(self, command: messages.StartDrill) -> None:
        session = self._session
        assert isinstance(session, Session)  # refused for networks in _apply
        try:
            session.start_drill(command.name, load_drill_scenario(command.name,
                                                                  self.drill_folder))
        except SubnetSimError as error:
            self._drill = DrillStatus(state="failed", name=command.name, error=str(error))
            self._say(f"refused: drill {command.name}: {error}")
            return
        self._drill = DrillStatus(state="running", name=command.name)
        self._say(f"drill {command.name} staged in this world after block {session.block}",
                  kind="drill")

    def _on__HelperDone(self, done: _HelperDone) -> None:
        if done.session == self._session.number:
            self._say(done.notice, kind="save")

    # --- helper threads (own worlds; they report through the inbox) ----------------------------

    def _spawn(self, target: Callable[..., None], job: tuple[Any, ...], daemon: bool) -> None:
        self._helpers = [helper for helper in self._helpers if helper.is_alive()]
        helper = threading.Thread(target=target, args=job, daemon=daemon)
        self._helpers.append(helper)
        helper.start()

    def _save(self, scenario: Scenario, seed: int, commands: list[dict[str, Any]], block: int,
              live_digest: str, session: int) -> None:
        try:
            saved = save_session(scenario, seed, commands, block, self.save_folder)
        except SubnetSimError as error:
            self._inbox.put(_HelperDone(session, f"save failed: {error}"))
            return
        check = "matches" if saved.digest == live_digest else "DIFFERS FROM"
        # The verdict first: a narrow status line cuts the end, the Log keeps the whole line.
        self._inbox.put(_HelperDone(session, f"saved: digest {saved.digest[:12]} {check} the "
                                    f"session · {saved.session_file.name} · {saved.db} (run "
                                    f"{saved.run_id})"))

    # --- snapshots -----------------------------------------------------------------------------

    @property
    def speed_label(self) -> str:
        """The target speed, e.g. ``100 blocks/s`` or ``max``."""
        rate = SPEEDS[self._speed]
        return "max" if rate is None else f"{rate:g} blocks/s"

    def _say(self, text: str, kind: str = "notice") -> None:
        self._notice = text
        self._session.log(self._session.block, kind, text)

    def _restart_pace(self) -> None:
        self._pace = (self._clock(), self._block)

    def _rate(self) -> float:
        if self._idle() or len(self._samples) < 2:
            return 0.0
        (first_time, first_block), (last_time, last_block) = self._samples[0], self._samples[-1]
        return (last_block - first_block) / max(last_time - first_time, 1e-9)

    def _state(self) -> str:
        if not self._idle():
            return "running"
        return "finished" if self._finished and self._session.block == self.budget else "paused"

    def _post_snapshot(self) -> None:
        """Post when a command or a step asked for it, else at most every POST_SECONDS and only
        if the block moved (a paused screen is not repainted for nothing)."""
        now, last = self._clock(), self._last_snapshot
        moved = last is None or (last.block, last.session) != (self._block,
                                                              self._session.number)
        if not self._dirty and not (moved and now - self._last_post >= POST_SECONDS):
            return
        self._dirty = False
        self._last_post = now
        self._last_snapshot = self.snapshot()
        self._post(self._last_snapshot)

    def snapshot(self) -> Snapshot:
        """A frozen snapshot of the session now (the worker's thread only)."""
        session = self._session
        while len(self._samples) > 2 and self._samples[-1][0] - self._samples[0][0] > 2.0:
            self._samples.popleft()
        governance = council_snapshot(session.world, self._drill, list_drills(self.drill_folder),
                                      session.halts, session.verdict())
        return Snapshot(
            session=session.number, scenario_name=self.scenario.name, seed=session.seed,
            budget=self.budget, state=self._state(), speed_label=self.speed_label,
            blocks_per_second=self._rate(), governance=governance, notice=self._notice,
            markers=session.markers(), scenario_hyper=self.file_hyper,
            inspected=session.inspect(self._inspected) if self._inspected is not None else None,
            ab=self._ab.view() if self._ab is not None else None,
            **session.views(),
        )
