"""Per-uid history for the inspector (simulation side): what each uid got, epoch by epoch.

The session feeds every epoch record and every chain event in; ``detail(uid, ...)`` answers
the inspector with a frozen ``UidDetail``: stake, incentive, dividends, validator trust,
consensus, TAO paid and model loss over epochs, the weights it gives and receives now, and its
events (registration, pruning, rejected extrinsics, halts that stopped its pay). Only the
inspected uid travels in a snapshot.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import numpy as np

from subnetsim.subnet.records import EpochRecord, EventRecord
from subnetsim.tui.snapshot import LogEntry, UidDetail

__all__ = ["SERIES", "UidHistory"]

SERIES = ("stake", "incentive", "dividends", "validator_trust", "consensus", "emission_tao",
          "model_loss")
EVENTS_PER_UID = 60


class UidHistory:
    """Epoch series for every uid slot, and the last events that concern each uid."""

    def __init__(self) -> None:
        self.blocks: list[int] = []
        self.series: dict[str, list[np.ndarray]] = {name: [] for name in SERIES}
        self.events: dict[int, collections.deque[LogEntry]] = {}
        self._seq = 0

    def add_epoch(self, record: EpochRecord, model_loss: np.ndarray) -> None:
        """Keep the epoch's per-uid arrays (copies: the chain reuses nothing, but be safe)."""
        self.blocks.append(record.block)
        for name in SERIES:
            values = model_loss if name == "model_loss" else getattr(record, name)
            self.series[name].append(np.array(values, dtype=float, copy=True))

    def add_event(self, event: EventRecord, uid_of: Callable[[str], int | None],
                  text: str) -> None:
        """File the event under every uid it names: by uid (a registration, which names the
        pruned occupant too) or by hotkey (a rejected extrinsic)."""
        data = dict(event.data)
        uids = {int(data["uid"])} if isinstance(data.get("uid"), int) else set()
        uid = uid_of(str(data["hotkey"])) if "hotkey" in data else None
        if uid is not None:
            uids.add(uid)
        kind = "pruned" if "pruned_hotkey" in data else event.kind
        for uid in sorted(uids):
            self._seq += 1
            self.events.setdefault(uid, collections.deque(maxlen=EVENTS_PER_UID)).append(
                LogEntry(seq=self._seq, block=event.block, kind=kind, text=text))

    def detail(self, uid: int, who: tuple[str, str, str], weights: np.ndarray,
               halt_lines: tuple[LogEntry, ...], **extra: Any) -> UidDetail:
        """The inspector's view of ``uid``; ``who``: (hotkey, role, behaviour) now;
        ``halt_lines``: the session's halts and resumes (they concern every uid)."""
        series = tuple((name, tuple(float(v[uid]) if uid < len(v) else float("nan")
                                    for v in self.series[name])) for name in SERIES)
        given = _top(weights[uid, :], exclude=uid)
        received = _top(weights[:, uid], exclude=uid)
        events = tuple(sorted([*self.events.get(uid, ()), *halt_lines],
                              key=lambda e: (e.block, e.seq)))
        hotkey, role, behaviour = who
        return UidDetail(uid=uid, hotkey=hotkey, role=role, behaviour=behaviour,
                         blocks=tuple(self.blocks), series=series, weights_given=given,
                         weights_received=received, events=events[-EVENTS_PER_UID:], **extra)


def _top(row: np.ndarray, exclude: int, count: int = 12) -> tuple[tuple[int, float], ...]:
    """The largest non-zero normalised weights of a row or column, largest first."""
    values = np.asarray(row, dtype=float).copy()
    if exclude < len(values):
        values[exclude] = 0.0
    total = values.sum()
    if total <= 0:
        return ()
    order = np.argsort(-values, kind="stable")[:count]
    return tuple((int(u), float(values[u] / total)) for u in order if values[u] > 0)
