"""Who writes a run: one process at a time, named by pid, host and process start time.

A claim is a row in the store's ``writers`` table, taken inside the same ``BEGIN IMMEDIATE``
transaction that checks for another claim, so two processes cannot both win. A claim whose
process is gone (no such pid, a zombie, or a pid reused by a process started at another time)
is stale and taken over; a claim from another host cannot be checked and is honoured.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

__all__ = ["Claim", "holder_alive", "own_claim"]

Claim = tuple[int, str, str | None]  # pid, host, process start time (None where unknown)


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].startswith("Z")


def own_claim() -> Claim:
    """This process's claim."""
    return os.getpid(), socket.gethostname(), _start_time(os.getpid())


def holder_alive(claim: Claim) -> bool:
    """Whether the process behind ``claim`` may still be writing."""
    pid, host, started = claim
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's live process
    if _zombie(pid):
        return False
    return started is None or _start_time(pid) in (None, started)
