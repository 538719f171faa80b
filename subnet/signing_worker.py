"""The signing worker: where a simulation's Ed25519 work runs, beside the simulation.

Miners sign every reply and validators verify every scorable one (``subnet.provenance``);
libsodium takes about 25 us to sign and 60 us to verify, about as long as the rest of the
simulation spends on a reply. So the cryptography runs in a second process, on the machine's
other core, while the simulation goes on. (A thread would share the simulation's GIL: cffi
releases it during each libsodium call, but the thread must take it back between calls, and it
waits up to the switch interval, 5 ms, whenever the simulation runs Python; measured in
docs/performance.md.)

``submit(job, *args)`` sends a picklable module-level function and its arguments; the worker
runs jobs one at a time, first in first out, and keeps the last results so that a later job
may take an earlier one's result as an argument (``kept``): a round's verification reads the
signatures its miners' signing job made, without them coming back first. Jobs are pure
functions of their arguments, so results do not depend on when the worker runs them; whoever
needs one waits for it (``Job.result``). Messages are length-prefixed pickles over the child's
stdin and stdout; the child ends when its stdin closes (its parent ended, however it ended).
``SUBNETSIM_SIGNING_WORKER`` (or ``use``) picks where jobs run: ``process`` (the default),
``thread`` (a thread of this process, for comparison: see above) or ``inline`` (in place, when
submitted; also what happens if no process can be started).
"""

from __future__ import annotations

import atexit
import collections
import functools
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

__all__ = ["MODES", "Job", "kept", "stats", "submit", "use", "worker_cpu_seconds"]

T = TypeVar("T")

_HEADER = struct.Struct("<Q")
_KEPT = 4096  # results the worker keeps for later jobs (a round refers back a few jobs)
_CHUNK = 1 << 16
_SEND_EVERY = 2  # jobs: a round's signing and checking
_BACKLOG = 8  # jobs the worker may be behind before ``submit(..., spill=True)`` runs one here
MODES = ("process", "thread", "inline")


class Job(Generic[T]):
    """A submitted job; ``result()`` waits for it (and raises what the job raised)."""

    __slots__ = ("id", "_fetch", "_value")

    def __init__(self, job_id: int, fetch: Callable[[], Any] | None = None,
                 value: Any = None) -> None:
        self.id = job_id  # the worker process's number for it (-1 elsewhere)
        self._fetch = fetch  # None once the value is here
        self._value = value

    def result(self) -> T:
        if self._fetch is not None:
            self._value, self._fetch = self._fetch(), None
        if isinstance(self._value, _Failure):
            raise RuntimeError(f"signing worker job failed: {self._value.text}")
        return self._value


class _Failure:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Worker:
    """The parent's end: the child process, its pipes, jobs not yet sent and results not yet
    claimed. Waking a sleeping process costs tens of microseconds on a virtual machine, so
    jobs go out ``_SEND_EVERY`` at a time (or at once when someone waits for one), and the
    child sends its results two at a time (or when it has run every job it was sent)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "subnetsim.subnet.signing_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.writer, self.reader = self.process.stdin.fileno(), self.process.stdout.fileno()
        os.set_blocking(self.writer, False)
        os.set_blocking(self.reader, False)
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.next_id = 0
        self.outbox = bytearray()
        self.unsent = 0  # jobs in the outbox
        self.inbox = bytearray()
        self.results: dict[int, Any] = {}
        self.received = 0  # results read so far

    def submit(self, job: Callable[..., Any], args: tuple[Any, ...]) -> Job[Any]:
        with self.lock:
            job_id = self.next_id
            self.next_id += 1
            body = pickle.dumps((job_id, job, args), protocol=pickle.HIGHEST_PROTOCOL)
            self.outbox += _HEADER.pack(len(body))
            self.outbox += body
            self.unsent += 1
            if self.unsent >= _SEND_EVERY:
                self._send()
        return Job(job_id, functools.partial(self.wait, job_id))

    def behind(self) -> int:
        """Jobs submitted whose results have not come back yet."""
        with self.lock:
            self._receive()
            return self.next_id - self.received

    def wait(self, job_id: int) -> Any:
        with self.lock:
            self._send()
            while job_id not in self.results:
                select.select([self.reader], [], [])
                self._receive()
            return self.results.pop(job_id)

    def _send(self) -> None:
        """Write the outbox, reading whatever results come meanwhile (neither pipe can fill
        up and leave both ends waiting on each other)."""
        while self.outbox:
            try:
                del self.outbox[:os.write(self.writer, self.outbox[:_CHUNK])]
            except BlockingIOError:
                select.select([self.reader], [self.writer], [])
                self._receive()
        self.unsent = 0

    def _receive(self) -> None:
        """Read what has arrived and file whole messages."""
        try:
            chunk = os.read(self.reader, _CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            raise RuntimeError("signing worker ended")
        self.inbox += chunk
        while len(self.inbox) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self.inbox)
            if len(self.inbox) < _HEADER.size + size:
                break
            job_id, value = pickle.loads(self.inbox[_HEADER.size:_HEADER.size + size])
            del self.inbox[:_HEADER.size + size]
            self.results[job_id] = value
            self.received += 1

    def close(self) -> None:
        if os.getpid() != self.pid:
            return
        try:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=2.0)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()


_lock = threading.Lock()
_worker: _Worker | None = None
_thread: ThreadPoolExecutor | None = None
_mode = os.environ.get("SUBNETSIM_SIGNING_WORKER", "process")
stats = {"spilled": 0}  # jobs run here because the worker process was behind


def use(mode: str) -> None:
    """Run the jobs submitted from now on in ``mode`` (one of ``MODES``)."""
    global _mode
    if mode not in MODES:
        raise ValueError(f"signing worker mode {mode!r}: one of {', '.join(MODES)}")
    _mode = mode


def submit(job: Callable[..., T], *args: Any, spill: bool = False) -> Job[T]:
    """Run ``job(*args)`` in the signing worker (started on first use, one per process); with
    ``spill``, run it here instead while the worker is more than ``_BACKLOG`` jobs behind (the
    simulation takes a share of the work when the worker's core is the slower one)."""
    if _mode == "process":
        worker = _worker or _start_process()
        if worker is not None and not (spill and worker.behind() > _BACKLOG):
            return worker.submit(job, args)
        if worker is not None:
            stats["spilled"] += 1
    if _mode == "thread":
        future = (_thread or _start_thread()).submit(job, *args)
        return Job(-1, future.result)
    return Job(-1, value=job(*args))


def _start_process() -> _Worker | None:
    global _worker, _mode
    with _lock:
        if _worker is None:
            try:
                _worker = _Worker()
                atexit.register(_worker.close)
            except OSError:  # no process to be had: sign in place
                _mode = "inline"
        return _worker


def _start_thread() -> ThreadPoolExecutor:
    global _thread
    with _lock:
        if _thread is None:
            _thread = ThreadPoolExecutor(1, thread_name_prefix="subnetsim-signing")
        return _thread


def worker_cpu_seconds() -> float:
    """CPU seconds the signing worker process has used (0 without one: a thread's CPU time
    is its process's)."""
    return submit(time.process_time).result() if _worker is not None else 0.0


_kept: collections.OrderedDict[int, tuple[tuple[Any, ...], Any]] = collections.OrderedDict()


def kept(job_id: int) -> tuple[tuple[Any, ...], Any]:
    """In the worker: an earlier job's arguments and result (for a job that refers to it)."""
    return _kept[job_id]


def _serve() -> None:
    """The worker's loop: run the jobs in the order they came, keep their results, and send
    the results two at a time, or whenever no whole job is left to run; end at EOF."""
    writer = os.dup(1)
    os.dup2(2, 1)  # a stray print must not land in the results
    inbox, outbox = bytearray(), bytearray()
    done = 0  # results in the outbox
    while True:
        if done >= 2:  # a round's results: whoever waits for them need not
            while outbox:            # wait for every job queued behind them
                del outbox[:os.write(writer, outbox)]
            done = 0
        while len(inbox) < _HEADER.size or len(inbox) < _HEADER.size + _HEADER.unpack_from(
                inbox)[0]:
            while outbox:
                del outbox[:os.write(writer, outbox)]
            done = 0
            chunk = os.read(0, _CHUNK)
            if not chunk:
                return
            inbox += chunk
        (size,) = _HEADER.unpack_from(inbox)
        job_id, job, args = pickle.loads(inbox[_HEADER.size:_HEADER.size + size])
        del inbox[:_HEADER.size + size]
        try:
            value = job(*args)
        except Exception as error:  # noqa: BLE001 - reported to whoever waits for the job
            value = _Failure(f"{type(error).__name__}: {error}")
        _kept[job_id] = args, value
        if len(_kept) > _KEPT:
            _kept.popitem(last=False)
        body = pickle.dumps((job_id, value), protocol=pickle.HIGHEST_PROTOCOL)
        outbox += _HEADER.pack(len(body))
        outbox += body
        done += 1


def _forget_after_fork() -> None:
    """A forked child (a sweep's worker) starts its own signing worker if it needs one."""
    global _worker, _thread, _lock
    _worker, _thread, _lock = None, None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)

if __name__ == "__main__":
    from subnetsim.subnet import signing_worker

    signing_worker._serve()
