"""What every block producer shares: the 12-second SimPy loop, events, checkpoint commitments
and sealing a block into the run's hash chain.

A subnet's ``Chain`` and a dTAO ``Network`` (``subnet/dtao/network.py``) both produce blocks this
way; each says what its block does (``produce_block``) and what its state root is.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from subnetsim.subnet.records import (
    GENESIS_PARENT,
    BlockRecord,
    EpochRecord,
    EventRecord,
    ExtrinsicRecord,
    block_hash,
    contents_hash,
    extrinsics_hash,
)

BLOCK_SECONDS = 12.0

__all__ = ["BLOCK_SECONDS", "BlockProducer", "Recorder"]

Recorder = Callable[[BlockRecord, list[ExtrinsicRecord], list[EventRecord], EpochRecord | None],
                    None]


class BlockProducer:
    """Block number, head hash, the block's events, and how a block is sealed and recorded."""

    def __init__(self, env: simpy.Environment, recorder: Recorder | None = None) -> None:
        self.env = env
        self.recorder = recorder
        self.block = 0
        self.head_hash = GENESIS_PARENT
        self._events: list[EventRecord] = []
        self._producing: int | None = None  # number of the block being produced, if any
        # Called with each block's number just before it is sealed; a digest it returns is
        # logged as that block's ``checkpoint`` event, so the chain commits to the checkpoint.
        self.state_commitment: Callable[[int], str | None] | None = None
        # Told of every sealed block after the recorder (e.g. the serving network gossips its
        # governance calls to the nodes).
        self.observers: list[Recorder] = []

    def produce_block(self) -> BlockRecord:
        """Produce the next block now."""
        raise NotImplementedError

    def state_root(self) -> str:
        """Hash of the state after a block (part of the block hash)."""
        raise NotImplementedError

    def block_state_root(self, checkpointed: bool) -> str:
        """The state root a block is sealed with (``checkpointed``: the block commits to a
        checkpoint, whose restore is proven against this root). Default: ``state_root``."""
        return self.state_root()

    def log_event(self, kind: str, /, **data: Any) -> None:
        """Record an event in the block being produced (or the next one, between blocks)."""
        block = self._producing if self._producing is not None else self.block + 1
        self._events.append(EventRecord(block=block, kind=kind, data=data))

    def produce_blocks(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        """The producer's SimPy process: one block every 12 simulated seconds, forever."""
        while True:
            yield env.timeout(BLOCK_SECONDS * (self.block + 1) - env.now)
            self.produce_block()

    def seal_and_record(self, number: int, extrinsic_records: list[ExtrinsicRecord],
                        epoch_record: EpochRecord | None) -> BlockRecord:
        """The end of a block: commit to a checkpoint if one is due, seal the block over its
        extrinsics, events, epoch and state root, and hand it to the recorder."""
        committed = False
        if self.state_commitment is not None:
            state_digest = self.state_commitment(number)
            if state_digest is not None:
                self.log_event("checkpoint", state_digest=state_digest)
                committed = True
        events, self._events = self._events, []
        self._producing = None
        root = self.block_state_root(committed)
        ext_hash = extrinsics_hash(extrinsic_records)
        contents = contents_hash(events, epoch_record)
        own_hash = block_hash(number, self.env.now, self.head_hash, ext_hash, contents, root)
        record = BlockRecord(number=number, time=self.env.now, parent_hash=self.head_hash,
                             extrinsics_hash=ext_hash, state_root=root, hash=own_hash)
        self.head_hash = own_hash
        if self.recorder is not None:
            self.recorder(record, extrinsic_records, events, epoch_record)
        for observer in self.observers:
            observer(record, extrinsic_records, events, epoch_record)
        return record
