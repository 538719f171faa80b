"""Verify a stored run: its hash chain, block by block, and optionally every epoch recomputed.

What the hash chain covers: each block's number, time, parent hash, extrinsics, events and
epoch record (all rebuilt from the stored rows and re-hashed) and its state root. On top of
that, every epoch's outputs are recomputed from its stored inputs.

Only flushed rows are verified: a store still buffering blocks should ``flush`` first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from subnetsim.subnet.emission import settle_epoch
from subnetsim.subnet.errors import StoreError, VerificationError
from subnetsim.subnet.records import (
    EPOCH_RESULT_FIELDS,
    GENESIS_PARENT,
    BlockRecord,
    EpochRecord,
    EventRecord,
    block_hash,
    contents_hash,
    extrinsics_hash,
)
from subnetsim.subnet.store import RunStore
from subnetsim.subnet.yuma import epoch

__all__ = ["EPOCH_TOLERANCE", "EpochRecompute", "VerifyReport", "recompute_epoch", "verify_run"]

EPOCH_TOLERANCE = 1e-12
EpochRecompute = Callable[[EpochRecord], EpochRecord]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReport:
    """A run that verified.

    Attributes:
        blocks_checked: blocks whose links and hashes were recomputed.
        epochs_checked: epochs recomputed (0 without a recompute callback).
        digest: the head block's hash (``GENESIS_PARENT`` for a run without blocks).
    """

    blocks_checked: int
    epochs_checked: int
    digest: str


def verify_run(store: RunStore, run_id: int, recompute_epoch: EpochRecompute | None = None,
               *, tolerance: float = EPOCH_TOLERANCE) -> VerifyReport:
    """Recompute a run's hash chain and, given ``recompute_epoch``, its epochs.

    Args:
        store: the open run store.
        run_id: the run to verify.
        recompute_epoch: maps a stored epoch to freshly computed outputs, field -> per-uid
            values; each returned field must match the recorded one within ``tolerance``
            (max abs diff).
        tolerance: largest accepted absolute difference per value.

    Returns:
        The counts checked and the run digest.

    Raises:
        VerificationError: at the first difference, naming the block (or epoch) and what differs.
        StoreError: no such run.
    """
    store.run(run_id)
    blocks_checked, digest = _verify_chain(store, run_id)
    epochs_checked = 0
    if recompute_epoch is not None:
        epochs_checked = _verify_epochs(store, run_id, recompute_epoch, tolerance)
    return VerifyReport(blocks_checked=blocks_checked, epochs_checked=epochs_checked,
                        digest=digest)


def _verify_chain(store: RunStore, run_id: int) -> tuple[int, str]:
    """Walk the blocks in order; return (blocks checked, head hash)."""
    previous: BlockRecord | None = None
    count = 0
    events_by_block: dict[int, list[EventRecord]] = {}
    try:
        for event in store.events(run_id):
            events_by_block.setdefault(event.block, []).append(event)
        epoch_by_block = {epoch.block: epoch for epoch in store.epochs(run_id)}
    except StoreError as exc:  # a corrupt row is a failed verification, not a crash
        raise VerificationError(str(exc)) from exc
    for block in store.blocks(run_id):
        contents = contents_hash(events_by_block.get(block.number, []),
                                 epoch_by_block.get(block.number))
        _verify_block(store, run_id, block, previous, contents)
        previous = block
        count += 1
    return count, GENESIS_PARENT if previous is None else previous.hash


def _verify_block(store: RunStore, run_id: int, block: BlockRecord,
                  previous: BlockRecord | None, contents: str) -> None:
    where = f"block {block.number}"
    if previous is not None and block.number != previous.number + 1:
        raise VerificationError(f"{where}: follows block {previous.number} (blocks missing)")
    expected_parent = GENESIS_PARENT if previous is None else previous.hash
    if block.parent_hash != expected_parent:
        raise VerificationError(f"{where}: parent hash mismatch (stored {block.parent_hash},"
                                f" expected {expected_parent})")
    try:
        extrinsics = store.extrinsics(run_id, block.number)
    except StoreError as exc:  # a corrupt row is a failed verification, not a crash
        raise VerificationError(f"{where}: {exc}") from exc
    if extrinsics_hash(extrinsics) != block.extrinsics_hash:
        raise VerificationError(f"{where}: extrinsics hash mismatch")
    recomputed = block_hash(block.number, block.time, block.parent_hash, block.extrinsics_hash,
                            contents, block.state_root)
    if recomputed != block.hash:
        raise VerificationError(f"{where}: block hash mismatch (fields give {recomputed},"
                                f" stored {block.hash})")


def recompute_epoch(recorded: EpochRecord) -> EpochRecord:
    """Recompute a recorded epoch from its recorded inputs with the code the chain runs: Yuma
    Consensus (``yuma.epoch``), the payout (``emission.settle_epoch``) and the record
    (``EpochRecord.of``). Stake after the epoch is the recorded stake before it plus what was
    paid: the ledger's crediting must have added exactly the payout."""
    outputs = epoch(recorded.inputs, recorded.params)
    owner = recorded.inputs.owner_uid
    payout = settle_epoch(recorded.pending, outputs.server_emission, outputs.validator_emission,
                          owner_uid=owner)
    return EpochRecord.of(block=recorded.block, index=recorded.index, inputs=recorded.inputs,
                          params=recorded.params, pending=recorded.pending, outputs=outputs,
                          payout=payout,
                          stake=recorded.inputs.stake + payout.stake_credit(owner))


def _verify_epochs(store: RunStore, run_id: int, recompute: EpochRecompute,
                   tolerance: float) -> int:
    """Recompute every stored epoch in index order; return how many."""
    count = 0
    epochs = store.epochs(run_id)
    while True:
        try:
            epoch_record = next(epochs, None)
        except StoreError as exc:  # a corrupt epoch row is a failed verification
            raise VerificationError(str(exc)) from exc
        if epoch_record is None:
            return count
        _verify_epoch(epoch_record, recompute(epoch_record), tolerance)
        count += 1


def _verify_epoch(recorded: EpochRecord, fresh: EpochRecord, tolerance: float) -> None:
    """Compare every result field of the recomputed epoch with the recorded one."""
    where = f"epoch {recorded.index} (block {recorded.block})"
    for name in EPOCH_RESULT_FIELDS:
        stored = np.asarray(getattr(recorded, name), dtype=np.float64)  # (n,)
        again = np.asarray(getattr(fresh, name), dtype=np.float64)  # (n,)
        if stored.shape != again.shape:
            raise VerificationError(f"{where}: field {name!r} has shape {stored.shape} recorded,"
                                    f" {again.shape} recomputed")
        diff = float(np.max(np.abs(stored - again))) if stored.size else 0.0
        # `not <=` so that a NaN difference fails instead of slipping through `>`.
        if not diff <= tolerance:
            raise VerificationError(f"{where}: field {name!r} differs by {diff:.3g}"
                                    f" (tolerance {tolerance:g})")
