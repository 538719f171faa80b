"""The signing worker: where a simulation's Ed25519 work runs, beside the simulation.

Miners sign every reply and validators verify every one that earns a reward
(``subnet.provenance``); libsodium takes about 30 us to sign and 80 us to verify, about as long as
the rest of the simulation spends on a reply. So the cryptography runs on a native thread, on the
machine's other core, while the simulation goes on: each job is one batch (a query's signatures, a
round's verifications) of ``subnet.sodium``'s compiled loops, ``sign_replies`` or ``open_replies``,
and the thread runs it from the arrays' addresses, without Python and without the GIL
(``subnet.sodium``'s docstring says why it is not a Python thread).

``submit(function, *args, after=...)`` queues a batch; the thread runs jobs one at a time,
first in first out, and ``after`` names an earlier job whose result this one reads (a round's
verification reads the signatures its miners' job made). Jobs are pure functions of their
arguments, so results do not depend on when or where they run. ``Job.result()`` waits for a
job: its reader runs the job's rows not yet handed out, a chunk at a time beside the thread
(nobody idles while a result it waits for has work left, and a result needed at once is
made on both cores); while the thread is more than ``_BACKLOG`` jobs behind, ``submit`` runs
the job at once in the caller (the simulation takes a share of the work when the thread's
core is the slower one).
``SUBNETSIM_SIGNING_WORKER`` (or ``use``) picks where jobs run: ``thread`` (the default) or
``inline`` (in place, when submitted).

A queued job keeps its arrays alive until it has run (the thread reads them by address); at
exit the thread finishes what is queued before the arrays go. A forked child has no such
thread: it runs any job the parent had not finished itself, when asked for its result.
"""

from __future__ import annotations

import atexit
import collections
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np

from subnetsim.subnet.sodium import ROWS, Control, job_words

__all__ = ["MODES", "Job", "cpu", "drain", "rows", "stats", "submit", "thread_seconds", "use"]

T = TypeVar("T")

_BACKLOG = 16  # jobs the thread may be behind before ``submit`` runs one in the caller (4: more
#                spilled jobs, more CPU in all; 16, 64 and never: alike, measured 06:40)
MODES = ("thread", "inline")


class Job(Generic[T]):
    """A submitted batch; ``result()`` waits for it and returns the array it wrote."""

    __slots__ = ("_args", "_function", "_keep", "_lane", "_output", "_seq", "after")

    def __init__(self, function: Callable[..., T], args: tuple[Any, ...], output: T,
                 after: Job[Any] | None, keep: Any = None) -> None:
        self._function: Callable[..., T] | None = function  # None once it has run
        self._args = args
        self._keep = keep  # what the arguments point into (the tensors a digest reads)
        self._output = output
        self.after = after
        self._lane: _Lane | None = None  # the lane whose thread has it queued
        self._seq = -1

    @property
    def output(self) -> T:
        """The array the job writes (its address can be handed to a later job, ``after`` it;
        read its values through ``result()``)."""
        return self._output

    @property
    def done(self) -> bool:
        lane = self._lane
        if self._function is not None and lane is not None and lane.finished(self._seq):
            self._forget()
        return self._function is None

    def result(self) -> T:
        if self._function is not None:
            if self._lane is None:
                self._run()
            else:
                self._lane.finish(self)
        return self._output

    def _run(self) -> None:
        """Run it here (its ``after`` first)."""
        if self.after is not None:
            self.after.result()
        function = self._function
        if function is not None:
            function(*self._args)
        self._forget()

    def _forget(self) -> None:
        """It has run: drop the inputs (the output stays)."""
        self._function, self._args, self._keep, self._lane = None, (), None, None


class _Lane:
    """The native thread's control block and the jobs queued to it (kept until they have run:
    the thread reads their arrays by address)."""

    def __init__(self) -> None:
        self.control = Control()
        self.queued: collections.deque[Job[Any]] = collections.deque()
        self.forked = False  # this process is a fork of the one whose thread it was
        self.closed = False  # at exit: jobs run in place from then on
        self.guard = threading.Lock()  # for two Python threads starting the lane at once
        self.floor = 0  # every job below this seq has finished (as of the last publish)

    def submit(self, job: Job[Any], words: np.ndarray) -> bool:
        """Queue ``job`` to the thread; False if it should run in the caller instead (the
        thread is behind, or could not start)."""
        control = self.control
        if self.closed:
            return False
        if not control.started:
            with self.guard:
                if not control.started:
                    try:
                        control.start()
                    except OSError:
                        return False
        after = job.after
        if after is not None and after._lane is not self:  # run here, or another lane's
            after.result()
        seq, self.floor = control.publish(words, after._seq if after is not None
                                          and after._function is not None else -1, _BACKLOG)
        self._forget_below(self.floor)
        if seq < 0:
            return False
        job._lane, job._seq = self, seq
        self.queued.append(job)
        return True

    def _forget_below(self, floor: int) -> None:
        """Let go of the jobs below ``floor`` (finished: the thread no longer reads them)."""
        queued = self.queued
        if queued and queued[0]._seq < floor:
            with self.guard:  # two submitters must not drop each other's unfinished jobs
                while queued and queued[0]._seq < floor:
                    queued.popleft()._forget()

    def finished(self, seq: int) -> bool:
        if self.forked:
            return self.control.finished_in_copy(seq)
        return self.control.finished(seq)

    def finish(self, job: Job[Any]) -> None:
        """Return once ``job`` has run, running here the rows the thread has not started."""
        if self.forked:  # the parent's thread never finishes what it had not
            if not self.control.finished_in_copy(job._seq):
                job._lane = None
                _run_here(job)
        elif job._seq >= self.floor:  # below: known finished, its after too
            if job.after is not None:
                job.after.result()
            start = time.thread_time()
            if self.control.help(job._seq):
                stats["here"] += 1
            cpu["here"] += time.thread_time() - start
        job._forget()

    def close(self) -> None:
        """Finish every queued job and end the thread (at exit: before the arrays go)."""
        self.closed = True
        if not self.forked:
            self.control.stop()
        for job in self.queued:
            job.result()
        self.queued.clear()


_lanes: list[_Lane] = [_Lane()]  # this process's
_mode = os.environ.get("SUBNETSIM_SIGNING_WORKER", "thread")
stats = {"here": 0}  # jobs not run by the thread alone: it was behind when they were
#                       submitted, or someone needing their results ran some of their rows
rows: collections.Counter[str] = collections.Counter()  # rows submitted, per batch function:
#                       signatures made (sign_replies), replies checked (open_replies)
cpu = {"here": 0.0}  # CPU seconds the callers' threads spent running jobs' rows (jobs run at
#                      once or spilled, rows helped with); the signing thread's: thread_seconds()


def _lane() -> _Lane:
    return _lanes[0]


def use(mode: str) -> None:
    """Run the jobs submitted from now on in ``mode`` (one of ``MODES``)."""
    global _mode
    if mode not in MODES:
        raise ValueError(f"signing worker mode {mode!r}: one of {', '.join(MODES)}")
    _mode = mode


def submit(function: Callable[..., np.ndarray], *args: Any, after: Job[Any] | None = None,
           here: bool = False, keep: Any = None) -> Job[np.ndarray]:
    """Run ``function(*args)``, a ``subnet.sodium`` batch (``sign_replies``, ``open_replies``), on
    the signing thread (in the caller, at once: with ``here``, while the thread is more than
    ``_BACKLOG`` jobs behind, or in mode ``inline``); ``after``: an earlier job whose result
    this one reads; ``keep``: what the arrays' addresses point into, kept alive until the job
    has run. ValueError at once if the arrays do not fit the batch."""
    words, output = job_words(function, args)
    rows[function.__name__] += int(words[ROWS])
    job = Job(function, args, output, after, keep)
    if here or _mode != "thread" or not words[ROWS]:  # no rows: nothing to hand over
        _run_here(job)
    elif not _lane().submit(job, words):
        stats["here"] += 1
        _run_here(job)
    return job


def _run_here(job: Job[Any]) -> None:
    """Run ``job`` in the calling thread, counting its CPU time in ``cpu``."""
    start = time.thread_time()
    job._run()
    cpu["here"] += time.thread_time() - start


def thread_seconds() -> float | None:
    """CPU seconds the signing thread has run so far in this process (0.0 before it starts;
    None where threads have no CPU clock of their own to read, as on macOS). With ``cpu``,
    what the cryptography of a run costs where it ran (``benchmarks/bench_agents.py``)."""
    return _lane().control.cpu_seconds()


def drain() -> None:
    """Return once every job submitted so far has run (its rows left run here meanwhile)."""
    for job in list(_lane().queued):
        job.result()


def _forget_after_fork() -> None:
    _lanes[0].forked = True
    _lanes[0] = _Lane()


os.register_at_fork(after_in_child=_forget_after_fork)
atexit.register(lambda: _lanes[0].close())
