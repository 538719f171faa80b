"""The dashboard's driver: the simulation runs in a process of its own; snapshots come back.

DESIGN.md rule 7, across a process boundary. ``SimulationDriver.start`` starts a simulation
process (``multiprocessing``, start method ``START_METHOD``) in which a
``subnetsim.tui.worker.SimulationWorker`` owns the session; commands go down one pipe and frozen
snapshots come up another, both pickled. The dashboard's process never runs simulation code,
so the two no longer share an interpreter lock (the thread driver did: the simulation ran
~1.5x slower at full speed, see docs/performance.md).

Shutdown: ``stop()`` asks the process to end, waits for it (a save in progress finishes
first, for at most ``STOP_SECONDS``), then terminates it. The process is a daemon (ended when
the dashboard's interpreter exits), ignores Ctrl+C (the dashboard decides), and ends by itself
when the dashboard's end of a pipe closes (the dashboard died).
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import signal
import sys
import threading
import time
import traceback
import typing
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from subnetsim.subnet.config import Hyperparameters
from subnetsim.subnet.dtao.scenario import NetworkScenario
from subnetsim.subnet.scenario import Scenario
from subnetsim.tui import messages
from subnetsim.tui.drills import DRILL_FOLDER
from subnetsim.tui.snapshot import Snapshot
from subnetsim.tui.worker import DEFAULT_SPEED, SPEEDS, SimulationWorker, WorkerSettings

__all__ = ["SPEEDS", "START_METHOD", "SimulationCrashed", "SimulationDriver"]

# forkserver: a clean single-threaded server imports the simulation once and forks each
# simulation process from it; fork would copy the dashboard's threads and locks, and spawn
# pays the imports again for every driver (benchmarks: docs/performance.md).
START_METHOD = "forkserver"
PRELOAD = ["subnetsim.tui.worker"]
SIMULATION_NICENESS = 5
STOP_SECONDS = 60.0  # how long stop() waits for a save in progress before terminating
KILL_SECONDS = 5.0


class SimulationCrashed(RuntimeError):
    """The simulation process failed; the message carries its traceback."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Crashed:
    """Sent up instead of a snapshot when the worker failed (after the 'crashed' snapshot)."""

    traceback: str


def _dumps(item: Any) -> bytes:
    # Protocol 5 keeps read-only numpy arrays read-only on the other side.
    return pickle.dumps(item, protocol=5)


class SimulationDriver:
    """Runs ``scenario`` from genesis with ``seed`` in a simulation process; pauses once at the
    block ``budget``. ``start``, ``send``, ``stop`` and ``snapshot`` are the dashboard's API."""

    def __init__(self, scenario: Scenario | NetworkScenario, seed: int, *,
                 budget: int | None = None, speed: int = DEFAULT_SPEED, paused: bool = False,
                 save_folder: Path = Path("runs"), drill_folder: Path = DRILL_FOLDER,
                 clock: Callable[[], float] = time.monotonic,
                 start_method: str = START_METHOD,
                 file_hyper: Hyperparameters | None = None) -> None:
        self.scenario = scenario
        self.budget = scenario.blocks if budget is None else budget
        self.save_folder = save_folder
        self.drill_folder = drill_folder
        self.failure: BaseException | None = None
        settings = WorkerSettings(scenario=scenario, seed=seed, budget=self.budget, speed=speed,
                                  paused=paused, save_folder=save_folder,
                                  drill_folder=drill_folder, file_hyper=file_hyper)
        context = multiprocessing.get_context(start_method)
        if isinstance(context, multiprocessing.context.ForkServerContext):
            context.set_forkserver_preload(PRELOAD)  # no effect once the server runs
        commands_out, self._commands = context.Pipe(duplex=False)
        self._snapshots, snapshots_in = context.Pipe(duplex=False)
        self._child_ends = (commands_out, snapshots_in)
        # Every start method's context has Process; typeshed's BaseContext does not say so.
        self._process = typing.cast(Any, context).Process(
            target=_simulation_process, args=(settings, clock, commands_out, snapshots_in),
            name="subnetsim-simulation", daemon=True)
        self._send_lock = threading.Lock()
        self._latest: Snapshot | None = None
        self._first = threading.Event()
        self._receiver: threading.Thread | None = None
        self._stopping = False
        self._lost = False

    # --- the app's side ------------------------------------------------------------------------

    @property
    def process_id(self) -> int | None:
        """The simulation process's id once started (for diagnostics and tests)."""
        return self._process.pid

    def start(self, post: Callable[[Snapshot], None]) -> None:
        """Start the simulation process; ``post`` receives every snapshot (from a thread)."""
        # multiprocessing hands its helper processes this process's stderr, which a running
        # Textual app replaces with a capture that has no file descriptor: give them the real one.
        with contextlib.redirect_stderr(sys.__stderr__):
            self._process.start()
        for end in self._child_ends:
            end.close()  # the process holds its own: when it ends, the pipe reads as closed
        self._receiver = threading.Thread(target=self._receive, args=(post,), daemon=True,
                                          name="simulation-snapshots")
        self._receiver.start()

    def send(self, command: messages.Command | messages.Stop) -> None:
        """Queue a command for the next chunk boundary (any thread; also before ``start``)."""
        with self._send_lock:
            try:
                self._commands.send_bytes(_dumps(command))
            except OSError:
                return  # the process is gone; its end was reported by the receiver

    def stop(self) -> None:
        """Stop the simulation, wait for it (and a save in progress), and reap its process."""
        if self._stopping:
            return
        self._stopping = True
        self.send(messages.Stop())
        if self._receiver is None:  # never started
            self._close()
            return
        self._process.join(STOP_SECONDS)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(KILL_SECONDS)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._receiver.join()  # the pipe reads as closed now that the process is gone
        self._close()
        if self._lost and self.failure is None:
            self.failure = SimulationCrashed("the simulation process ended unexpectedly "
                                             f"(exit code {self._process.exitcode})")

    def snapshot(self, timeout: float = 60.0) -> Snapshot:
        """The latest snapshot the simulation posted; waits (bounded) for the first one."""
        if self._receiver is None:
            raise RuntimeError("start the driver before asking for a snapshot")
        if not self._first.wait(timeout):
            raise TimeoutError(f"no snapshot from the simulation within {timeout:g} s")
        assert self._latest is not None
        return self._latest

    # --- the receiving thread ------------------------------------------------------------------

    def _receive(self, post: Callable[[Snapshot], None]) -> None:
        # Ends when the process has ended and nothing is left to read, not only at the pipe's
        # EOF: a process forked by any thread of ours before ``start`` closed the child's ends
        # holds a copy of the write end, and EOF would then never come (``stop`` joins this).
        sentinel = self._process.sentinel
        while True:
            if self._snapshots not in multiprocessing.connection.wait([self._snapshots, sentinel]):
                break
            try:
                item = pickle.loads(self._snapshots.recv_bytes())
            except (EOFError, OSError):
                break
            if isinstance(item, _Crashed):
                self.failure = SimulationCrashed(f"the simulation failed:\n{item.traceback}")
                continue
            self._latest = item
            self._first.set()
            post(item)
        if not self._stopping and self.failure is None:
            self._lost = True  # killed, or died in C code: no report came
            if self._latest is not None:
                post(dataclasses.replace(self._latest, state="crashed",
                                         notice="simulation process ended unexpectedly"))

    def _close(self) -> None:
        for connection in (self._commands, self._snapshots, *self._child_ends):
            connection.close()


# --- the simulation process ----------------------------------------------------------------------


def _simulation_process(settings: WorkerSettings, clock: Callable[[], float],
                        commands: Connection, snapshots: Connection) -> None:
    """The simulation process's main: run a worker fed by ``commands`` until it stops."""
    # Ctrl+C in a terminal signals the whole process group; the dashboard decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Where the simulation shares a core with the dashboard or the terminal, they go first
    # (measured: `space` answered ~10 ms sooner at the median, blocks/s unchanged).
    os.nice(SIMULATION_NICENESS)
    _silence_terminal()
    inbox: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=_relay, args=(commands, inbox), daemon=True,
                     name="commands").start()

    def post(item: Any) -> None:
        try:
            snapshots.send_bytes(_dumps(item))
        except OSError:
            inbox.put(messages.Stop())  # the dashboard is gone: nobody to run for

    worker = SimulationWorker(settings, inbox, post, clock)
    try:
        worker.run()
    except BaseException:
        post(_Crashed(traceback=traceback.format_exc()))  # the dashboard raises it on exit
        raise


def _relay(commands: Connection, inbox: queue.Queue[Any]) -> None:
    """Move commands from the dashboard's pipe to the worker; a closed pipe means stop."""
    while True:
        try:
            item = pickle.loads(commands.recv_bytes())
        except (EOFError, OSError):
            item = messages.Stop()
        inbox.put(item)
        if isinstance(item, messages.Stop):
            return


def _silence_terminal() -> None:
    """Send this process's stdout and stderr to /dev/null: the terminal is the dashboard's, and
    a warning printed over it would garble the screen (failures are reported up the pipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
