"""Parameter sweeps and Monte Carlo: every (point, seed) of a sweep on any Executor.

``run_sweep(sweep, out_dir, executor)`` plans one task per (point, replicate) (or, on the
batched fast path, one per replicate that replays every point), skips the runs ``out_dir``
already holds when resuming, submits the rest to a ``concurrent.futures.Executor`` and writes
each run as it finishes. A run that raises goes to ``errors.csv`` and the sweep goes on. At
the end it merges the runs into ``epochs.parquet``, computes every run's metrics
(``runs.csv``), the per-point summary (``summary.csv``) and the plots.

Executors (``open_executor``): ``serial`` runs tasks in the calling thread (debugging),
``process`` is a process pool (default), ``dask`` uses ``Client(address).get_executor()`` on a
running scheduler, or on a LocalCluster started for the sweep. Each run is a pure function of
(scenario, seed) with one compute thread, so every executor gives identical tables.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import dataclasses
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from subnetsim.subnet.errors import ConfigError, SubnetSimError
from subnetsim.subnet.yuma import YumaParams
from subnetsim.sweep.config import Sweep
from subnetsim.sweep.replay import ReplayTask
from subnetsim.sweep.report import (
    per_run_metrics,
    per_run_trajectories,
    summarize,
    write_csv,
)
from subnetsim.sweep.results import ResultsDir
from subnetsim.sweep.task import RunOutput, RunTask
from subnetsim.sweep.trajectories import trajectory_bands, write_trajectories

__all__ = ["EXECUTORS", "SerialExecutor", "SweepOutcome", "SweepProgress", "open_executor",
           "plan_tasks", "run_sweep"]

EXECUTORS = ("serial", "process", "dask")
Task = RunTask | ReplayTask
PR_SET_PDEATHSIG = 1  # prctl(2) option: the signal a process gets when its parent ends
SCHEDULER_TIMEOUT_S = 10  # how long to try reaching a Dask scheduler before saying so


class SweepLost(SubnetSimError):
    """The executor went away mid-sweep (a lost Dask scheduler): finished runs are kept."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SweepProgress:
    """Where a sweep stands: runs finished now, failed, skipped (already on disk), total."""

    done: int
    failed: int
    skipped: int
    total: int
    elapsed_s: float

    @property
    def eta_s(self) -> float:
        """Seconds left at the rate seen so far (inf before the first run finishes)."""
        if self.done + self.failed == 0:
            return float("inf")
        rate = (self.done + self.failed) / max(self.elapsed_s, 1e-9)
        return (self.total - self.skipped - self.done - self.failed) / rate


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SweepOutcome:
    """What a sweep did and where its results are."""

    out_dir: Path
    ran: int
    skipped: int
    failed: int
    run_rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    files: dict[str, Path]
    warnings: list[str]


class SerialExecutor(concurrent.futures.Executor):
    """Runs each task at submission, in the calling thread; the result or the exception
    travels in a completed future, like any Executor's. ``run_sweep`` submits to it one task
    at a time (``max_in_flight``), writing each run before the next starts."""

    max_in_flight = 1

    def submit(self, fn: Callable[..., Any], /, *args: Any,
               **kwargs: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # noqa: BLE001 - the Executor contract: it goes in the future
            future.set_exception(error)
        return future


@contextlib.contextmanager
def open_executor(kind: str = "process", workers: int | None = None,
                  scheduler: str | None = None) -> Iterator[concurrent.futures.Executor]:
    """An executor of ``kind`` (serial, process, dask) with ``workers`` workers (default: one
    per CPU); for dask, ``scheduler`` is the address of a running scheduler (None: a
    LocalCluster with ``workers`` single-threaded worker processes)."""
    if kind not in EXECUTORS:
        raise ConfigError("--executor", kind, f"expected one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise ConfigError("--workers", workers, "must be >= 1")
    if scheduler is not None and kind != "dask":
        raise ConfigError("--scheduler", scheduler, "needs --executor dask")
    workers = workers or os.cpu_count() or 1
    if kind == "serial":
        yield SerialExecutor()
    elif kind == "process":
        # spawn: workers start clean (no copy of the parent's threads or torch state).
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=_exit_with_parent,
                initargs=(os.getpid(),)) as pool:
            try:
                yield pool
            except BaseException:  # Ctrl-C or an error: do not wait for the running runs
                _stop_workers(pool)
                raise
    else:
        with _dask_executor(workers, scheduler) as executor:
            yield executor


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: end the worker when the sweep's process is gone (even SIGKILLed,
    which runs no clean-up of its own), instead of leaving it computing for nobody.

    On Linux the kernel does it the moment the parent ends (PR_SET_PDEATHSIG); the watching
    thread is the portable fallback, and it can lag by seconds on a loaded machine."""
    _kernel_kills_us_with_parent()
    if os.getppid() != parent:  # the parent ended before the kernel was told
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _kernel_kills_us_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent thread ends (prctl(2),
    PR_SET_PDEATHSIG); elsewhere, or if libc will not say, do nothing."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _stop_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public handle
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    # A worker still starting (importing torch on a loaded machine) may outlive SIGTERM for a
    # while; the interpreter joins its children at exit, so make sure none is left behind.
    deadline = time.monotonic() + 5.0
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(5.0)


@contextlib.contextmanager
def _dask_executor(workers: int, scheduler: str | None) -> Iterator[Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--executor", "dask", "needs Dask: pip install 'subnetsim[dask]'") \
            from None
    scheduler = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None))
            scheduler = cluster.scheduler_address
        try:
            client = stack.enter_context(Client(scheduler, timeout=SCHEDULER_TIMEOUT_S))
        except (OSError, TimeoutError, ValueError) as error:
            raise ConfigError("--scheduler", scheduler, f"cannot reach the Dask scheduler"
                              f" ({type(error).__name__}: {error})") from None
        yield client.get_executor()


def plan_tasks(sweep: Sweep, finished: set[tuple[int, int]] | None = None) -> list[Task]:
    """The tasks still to run: one per (point, replicate), or with ``fast_path`` one per
    replicate replaying every point whose run is not finished."""
    finished = finished or set()
    tasks: list[Task] = []
    if sweep.file.fast_path:
        for replicate, seed in enumerate(sweep.run_seeds):
            todo = tuple((p.index, YumaParams.from_hyperparameters(p.scenario.hyperparameters))
                         for p in sweep.points if (p.index, replicate) not in finished)
            if todo:
                tasks.append(ReplayTask(replicate=replicate, seed=seed, scenario=sweep.base,
                                        blocks=sweep.points[0].blocks, points=todo))
        return tasks
    for point in sweep.points:
        for replicate, seed in enumerate(sweep.run_seeds):
            if (point.index, replicate) not in finished:
                tasks.append(RunTask(point=point.index, replicate=replicate, seed=seed,
                                     blocks=point.blocks, scenario=point.scenario))
    return tasks


def run_sweep(sweep: Sweep, out_dir: str | Path, executor: concurrent.futures.Executor,
              resume: bool = False,
              progress: Callable[[SweepProgress], None] | None = None,
              provenance: dict[str, Any] | None = None) -> SweepOutcome:
    """Run ``sweep`` into ``out_dir`` on ``executor`` and summarise it (see the module doc);
    ``provenance`` (``subnetsim.sweep.provenance``) goes into ``sweep.json``."""
    results = ResultsDir.prepare(out_dir, sweep, resume, provenance)
    finished = results.finished()
    tasks = plan_tasks(sweep, finished)
    tracker = _Tracker(total=sweep.runs, skipped=len(finished), progress=progress)
    # Queued tasks are not running yet; only a bounded executor (the serial one, which runs a
    # task inside submit) needs feeding one at a time so that each run is written at once.
    window = getattr(executor, "max_in_flight", None) or max(len(tasks), 1)
    waiting = iter(tasks)
    running: dict[concurrent.futures.Future, Task] = {}
    try:
        while True:
            for task in itertools.islice(waiting, window - len(running)):
                running[executor.submit(task)] = task
            if not running:
                break
            done, _ = concurrent.futures.wait(running, return_when="FIRST_COMPLETED")
            for future in done:
                if future.cancelled():  # nobody here cancels a running task: the executor died
                    raise SweepLost("lost the executor (Dask scheduler or workers gone); the"
                                    " finished runs are kept: rerun with --resume")
                _collect(results, running.pop(future), future, tracker)
    finally:
        for future in running:
            future.cancel()  # an interrupted sweep stops here; finished files stay
    return _finish(results, tracker)


def _collect(results: ResultsDir, task: Task, future: concurrent.futures.Future,
             tracker: _Tracker) -> None:
    error = future.exception()
    if error is not None:
        for point, replicate in task.keys:
            results.record_error(point, replicate, task.seed, error)
        tracker.add(failed=len(task.keys))
        return
    outputs: list[RunOutput] = future.result()
    for output in outputs:
        results.write_run(output)
    tracker.add(done=len(outputs))


def _finish(results: ResultsDir, tracker: _Tracker) -> SweepOutcome:
    results.sort_errors()
    files = {"epochs": results.merge(), "errors": results.errors_path}
    run_rows = per_run_metrics(results)
    summary = summarize(results.sweep, run_rows)
    files["runs"] = write_csv(results.path / "runs.csv", run_rows)
    files["summary"] = write_csv(results.path / "summary.csv", summary)
    trajectory = per_run_trajectories(results)
    files["trajectories"] = write_trajectories(results.path / "trajectories.parquet", trajectory,
                                               {"sweep": results.sweep.name})
    from subnetsim.sweep.plots import plot_summary, plot_trajectories

    for path in plot_summary(results.sweep, summary, results.path, run_rows):
        files[path.stem] = path
    sweep = results.sweep
    for path in plot_trajectories(sweep.name, [(p.index, p.values) for p in sweep.points],
                                  trajectory_bands(trajectory), results.path,
                                  sweep.file.warmup_epochs):
        files[path.stem] = path
    return SweepOutcome(out_dir=results.path, ran=tracker.done, skipped=tracker.skipped,
                        failed=tracker.failed, run_rows=run_rows, summary=summary, files=files,
                        warnings=_warnings(run_rows))


def _warnings(run_rows: list[dict[str, Any]]) -> list[str]:
    """What the user should know about the results (the fast path's limits, when hit; the
    CLI adds ``few_seeds_warning``)."""
    pruned = sorted({row["replicate"] for row in run_rows
                     if row["method"] == "replay" and row["prunings"]})
    if not pruned:
        return []
    replicates = ", ".join(map(str, pruned))
    return [f"fast path: the recorded run of replicate(s) {replicates} pruned "
            "uids; every setting replays the base run's prunings (pruning follows emission, "
            "so re-simulation could prune others): set fast_path = false to check"]


@dataclasses.dataclass(slots=True)
class _Tracker:
    """Counts finished and failed runs and reports progress (wall time is the harness's, never
    the simulation's)."""

    total: int
    skipped: int
    progress: Callable[[SweepProgress], None] | None
    done: int = 0
    failed: int = 0
    start: float = dataclasses.field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._report()

    def add(self, done: int = 0, failed: int = 0) -> None:
        self.done += done
        self.failed += failed
        self._report()

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(SweepProgress(done=self.done, failed=self.failed, skipped=self.skipped,
                                        total=self.total, elapsed_s=time.monotonic() - self.start))
