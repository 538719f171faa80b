"""The signing worker: where a simulation's Ed25519 work runs, beside the simulation.

Miners sign every reply and validators verify every scorable one (``subnet.provenance``);
libsodium takes about 30 us to sign and 90 us to verify, about as long as the rest of the
simulation spends on a reply. So the cryptography runs on a thread, on the machine's other
core, while the simulation goes on: each job is one batch (a query's signatures, a round's
verifications) handed to a compiled loop that holds no GIL while it runs (``subnet.sodium``),
so the thread needs the GIL only to pick a job up and put its result down.

``submit(job, *args, after=...)`` queues a function call; the thread runs jobs one at a time,
first in first out, and ``after`` names an earlier job whose result this one reads (a round's
verification reads the signatures its miners' job made). Jobs are pure functions of their
arguments, so results do not depend on when or where they run. ``Job.result()`` waits for a
job; if it has not started, the caller runs it, and every job queued before it, itself
(nobody idles while work waits), and while the thread is more than ``_BACKLOG`` jobs behind,
``submit`` runs the job at once in the caller (the simulation takes a share of the work when
the thread's core is the slower one). ``SUBNETSIM_SIGNING_WORKER`` (or ``use``) picks where
jobs run: ``thread`` (the default) or ``inline`` (in place, when submitted).

Locking: one condition guards the queue and the jobs' states; it is held only to move a job
between states, never while a job runs or while anyone waits (``Condition.wait`` releases
it), and a job waits only for an earlier one (its ``after``; run first by whoever runs the
job, if still queued), so no set of threads can wait on each other. A forked child gets a
fresh lock and runs any job the parent had not finished itself, when asked for its result.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["MODES", "Job", "stats", "submit", "use"]

T = TypeVar("T")

_BACKLOG = 16  # jobs the thread may be behind before ``submit`` runs one in the caller (4: more
#                spilled jobs, more CPU in all; 16, 64 and never: alike, measured 06:40)
MODES = ("thread", "inline")
_QUEUED, _RUNNING, _DONE = 0, 1, 2


class Job(Generic[T]):
    """A submitted call; ``result()`` waits for it (and raises what the call raised)."""

    __slots__ = ("_args", "_function", "_state", "_value", "after")

    def __init__(self, function: Callable[..., T], args: tuple[Any, ...],
                 after: Job[Any] | None) -> None:
        self._function = function
        self._args = args
        self.after = after
        self._state = _QUEUED
        self._value: Any = None

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def result(self) -> T:
        if self._state != _DONE:
            _lane().finish(self)
        if isinstance(self._value, _Failure):
            raise RuntimeError(f"signing worker job failed: {self._value.text}")
        return self._value

    def _run(self) -> None:
        """Run the call (its ``after`` job is running or done by now: wait for it)."""
        if self.after is not None and self.after._state != _DONE:
            _lane().finish(self.after)
        try:
            self._value = self._function(*self._args)
        except Exception as error:  # noqa: BLE001 - raised where the result is read
            self._value = _Failure(f"{type(error).__name__}: {error}")
        self._function = self._args = None  # type: ignore[assignment]  # free the inputs


class _Failure:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Lane:
    """The queue of jobs and the thread that runs them."""

    def __init__(self, jobs: collections.deque[Job[Any]] | None = None) -> None:
        self.changed = threading.Condition(threading.Lock())
        self.queue: collections.deque[Job[Any]] = jobs or collections.deque()
        self.running: dict[int, Job[Any]] = {}  # id -> job being run (by anyone)
        self.thread: threading.Thread | None = None

    def submit(self, job: Job[Any]) -> None:
        with self.changed:
            if self.thread is None:
                self.thread = threading.Thread(target=self._serve, name="subnetsim-signing",
                                               daemon=True)
                self.thread.start()
            self.queue.append(job)
            self.changed.notify_all()

    def behind(self) -> int:
        return len(self.queue)

    def finish(self, job: Job[Any]) -> None:
        """Return once ``job`` is done, running it (and every job queued before it) here if
        it has not started."""
        changed = self.changed
        with changed:
            while job._state == _QUEUED and self.queue:
                stats["here"] += 1
                self._run(self.queue.popleft())
            while job._state != _DONE:
                if job._state == _QUEUED:  # queued in a parent process (forked): run it here
                    self._run(job)
                else:
                    changed.wait()

    def _run(self, job: Job[Any]) -> None:
        """Run ``job`` (the lock held on entry and exit, not while it runs)."""
        job._state = _RUNNING
        self.running[id(job)] = job
        self.changed.release()
        try:
            job._run()
        finally:
            self.changed.acquire()
            job._state = _DONE
            del self.running[id(job)]
            self.changed.notify_all()

    def _serve(self) -> None:
        with self.changed:
            while True:
                while not self.queue:
                    self.changed.wait()
                self._run(self.queue.popleft())

    def after_fork(self) -> _Lane:
        """This lane as a forked child sees it: no thread, the unfinished jobs queued."""
        unfinished = sorted(self.running.values(), key=_order)  # never finished here
        for job in unfinished:
            job._state = _QUEUED
        return _Lane(collections.deque([*unfinished, *self.queue]))


def _order(job: Job[Any]) -> int:
    """Jobs that depend on others run after them (``after`` chains are short)."""
    depth = 0
    while job.after is not None and not job.after.done:
        job, depth = job.after, depth + 1
    return depth


_lanes: list[_Lane] = [_Lane()]  # this process's
_mode = os.environ.get("SUBNETSIM_SIGNING_WORKER", "thread")
stats = {"here": 0}  # jobs not run by the thread: it was behind when they were submitted,
#                       or had not started them when someone needed their results


def _lane() -> _Lane:
    return _lanes[0]


def use(mode: str) -> None:
    """Run the jobs submitted from now on in ``mode`` (one of ``MODES``)."""
    global _mode
    if mode not in MODES:
        raise ValueError(f"signing worker mode {mode!r}: one of {', '.join(MODES)}")
    _mode = mode


def submit(function: Callable[..., T], *args: Any, after: Job[Any] | None = None,
           here: bool = False) -> Job[T]:
    """Run ``function(*args)`` on the signing thread (in the caller, at once: with ``here``,
    while the thread is more than ``_BACKLOG`` jobs behind, or in mode ``inline``);
    ``after``: an earlier job whose result this one reads."""
    job = Job(function, args, after)
    lane = _lane()
    if not here and _mode == "thread" and lane.behind() <= _BACKLOG:
        lane.submit(job)
    else:
        stats["here"] += _mode == "thread" and not here
        with lane.changed:
            lane._run(job)
    return job


def _forget_after_fork() -> None:
    _lanes[0] = _lanes[0].after_fork()


os.register_at_fork(after_in_child=_forget_after_fork)
