"""One sweep run inside a worker: simulate (scenario, seed), return its per-epoch table.

``RunTask`` is a picklable callable, so any ``concurrent.futures.Executor`` (a process pool,
Dask's ``Client.get_executor()``, or the caller's own thread) can run it. It builds the world
with a recorder that keeps, per epoch, the outputs of every registered uid (a few arrays, no
run store), runs it for the point's block budget and returns a ``RunOutput``: long-format
columns (epoch, block, uid, hotkey, role, behaviour, the epoch's outputs, model_loss) and the
run's facts (digest, blocks, epochs, halt block). The parent writes it to disk.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from subnetsim.subnet.records import BlockRecord, EpochRecord, EventRecord, ExtrinsicRecord
from subnetsim.subnet.scenario import Scenario

__all__ = ["OUTPUT_FIELDS", "EpochColumns", "RunOutput", "RunTask", "build_columns",
           "limit_threads"]

# Per-uid epoch results kept in the sweep table (attributes of EpochRecord).
OUTPUT_FIELDS = ("stake", "incentive", "dividends", "consensus", "validator_trust",
                 "emission_share", "incentive_tao", "dividends_tao", "validator_permit")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EpochColumns:
    """What one epoch left: the registered uids, their hotkeys and outputs (indexed like
    ``uids``), and for the fast path the epoch's recorded inputs and params."""

    index: int
    block: int
    uids: np.ndarray  # (m,) registered uids
    hotkeys: tuple[str, ...]  # (m,)
    outputs: dict[str, np.ndarray]  # name -> (m,)
    record: EpochRecord | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RunOutput:
    """A finished run: its long-format columns and run-level facts."""

    point: int
    replicate: int
    seed: int
    columns: dict[str, np.ndarray]
    info: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunTask:
    """Simulate one (point, replicate) of a sweep."""

    point: int
    replicate: int
    seed: int
    blocks: int
    scenario: Scenario

    @property
    def keys(self) -> tuple[tuple[int, int], ...]:
        """The (point, replicate) pairs this task produces."""
        return ((self.point, self.replicate),)

    def __call__(self) -> list[RunOutput]:
        limit_threads()
        recording = record_run(self.scenario, self.seed, self.blocks)
        columns = build_columns(recording.snapshots, recording.neurons, recording.model_loss)
        return [RunOutput(point=self.point, replicate=self.replicate, seed=self.seed,
                          columns=columns, info={**recording.info, "method": "simulate"})]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SimulatedRun:
    """A simulated run as the sweep keeps it."""

    snapshots: list[EpochColumns]
    neurons: dict[str, Any]  # hotkey -> Neuron (role, behaviour)
    model_loss: dict[str, float]  # hotkey -> final model loss, for miners that report one
    info: dict[str, Any]


def record_run(scenario: Scenario, seed: int, blocks: int,
               keep_inputs: bool = False) -> SimulatedRun:
    """Run ``scenario`` with ``seed`` for ``blocks``, keeping every epoch's outputs (and its
    full record when ``keep_inputs``)."""
    from subnetsim.world import build_world

    collector = _Collector(keep_inputs)
    world = build_world(scenario, seed, recorder=collector)
    collector.world = world
    world.run_to_block(blocks)
    result = world.result()
    planned = [*world.neurons, *world.joiners]  # late joiners are planned up front
    neurons = {neuron.hotkey: neuron for neuron in planned}
    hotkeys = world.chain.ledger.hotkeys
    info = {"digest": result.digest, "blocks": result.blocks, "epochs": result.epochs,
            "halt_block": collector.halt_block, "prunings": collector.prunings}
    return SimulatedRun(snapshots=collector.snapshots, neurons=neurons,
                     model_loss=_model_losses(result.model_loss, hotkeys),
                     info=info)


class _Collector:
    """The chain's recorder: keeps per-epoch outputs of registered uids, the first halt and
    the number of prunings."""

    def __init__(self, keep_inputs: bool) -> None:
        self.keep_inputs = keep_inputs
        self.world: Any = None
        self.snapshots: list[EpochColumns] = []
        self.halt_block: int | None = None
        self.prunings = 0  # registrations that replaced a uid (the fast path cannot follow)

    def __call__(self, block: BlockRecord, extrinsics: list[ExtrinsicRecord],
                 events: list[EventRecord], epoch: EpochRecord | None) -> None:
        if self.halt_block is None and any(event.kind == "halt" for event in events):
            self.halt_block = block.number
        self.prunings += sum(1 for event in events
                             if event.kind == "registered" and "pruned_hotkey" in event.data)
        if epoch is None:
            return
        ledger = self.world.chain.ledger
        uids = np.flatnonzero(ledger.registered)
        outputs = {name: getattr(epoch, name)[uids] for name in OUTPUT_FIELDS}
        self.snapshots.append(EpochColumns(
            index=epoch.index, block=epoch.block, uids=uids,
            hotkeys=tuple(ledger.hotkeys[uid] for uid in uids), outputs=outputs,
            record=epoch if self.keep_inputs else None))


def build_columns(snapshots: Sequence[EpochColumns], neurons: Mapping[str, Any],
                  model_loss: Mapping[str, float]) -> dict[str, np.ndarray]:
    """Long-format columns, one row per (epoch, registered uid), in epoch then uid order."""
    hotkeys = [hotkey for snapshot in snapshots for hotkey in snapshot.hotkeys]
    sizes = [len(snapshot.uids) for snapshot in snapshots]
    columns: dict[str, np.ndarray] = {
        "epoch": np.repeat([s.index for s in snapshots], sizes).astype(np.int64),
        "block": np.repeat([s.block for s in snapshots], sizes).astype(np.int64),
        "uid": _concatenate([s.uids for s in snapshots], np.int64),
        "hotkey": np.array(hotkeys, dtype=object),
        "role": np.array([_attribute(neurons, h, "role") for h in hotkeys], dtype=object),
        "behaviour": np.array([_attribute(neurons, h, "behaviour") for h in hotkeys],
                              dtype=object),
    }
    for name in OUTPUT_FIELDS:
        dtype = bool if name == "validator_permit" else np.float64
        columns[name] = _concatenate([s.outputs[name] for s in snapshots], dtype)
    columns["model_loss"] = np.array([model_loss.get(h, np.nan) for h in hotkeys], dtype=float)
    return columns


@functools.cache
def limit_threads() -> None:
    """One compute thread per worker (torch and BLAS), so that parallel runs do not fight over
    cores and every executor sums in the same order. Done once per process."""
    import torch

    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: scikit-learn brings it; without it BLAS keeps its default
        return
    threadpool_limits(1)


def _concatenate(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def _attribute(neurons: Mapping[str, Any], hotkey: str, name: str) -> str:
    neuron = neurons.get(hotkey)
    return str(getattr(neuron, name, "")) if neuron is not None else ""


def _model_losses(losses: np.ndarray, hotkeys: Sequence[str | None]) -> dict[str, float]:
    """hotkey -> final model loss of every uid that reports a finite one (NaN: no model)."""
    found = {}
    for uid in np.flatnonzero(np.isfinite(losses)).tolist():
        hotkey = hotkeys[uid] if uid < len(hotkeys) else None
        if hotkey:
            found[hotkey] = float(losses[uid])
    return found
