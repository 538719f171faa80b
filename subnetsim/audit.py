"""Verify a stored run: everything the run owns, against its own hash chain (and an anchor).

What is checked (docs/audit.md says what that proves, against whom, and what it cannot):

* the run row: block 1's parent is ``run_commitment`` of its scenario JSON, seed, scenario name
  and code version; a ``finished`` run's recorded head is the stored head;
* every block: consecutive numbers from 1, its parent link, and its hash recomputed from its
  stored extrinsics, events, epoch record and state root;
* no row names a block the run does not hold;
* every checkpoint's digest is the one its block's ``checkpoint`` event commits to;
* the command log equals the ``command`` events, in order;
* optionally every epoch recomputed from its inputs, and the head against an expected digest.

Readers run inside one snapshot transaction (``RunStore.snapshot``), so a store being written
verifies as of one commit, without false alarms.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from subnetsim.subnet.chain import BLOCK_SECONDS, compute_epoch
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
    digest,
    extrinsics_hash,
    run_commitment,
)
from subnetsim.subnet.store import RunStore
from subnetsim.subnet.store.state_codec import CheckpointError

__all__ = ["EPOCH_TOLERANCE", "EpochRecompute", "VerifyReport", "recompute_epoch",
           "verify_checkpoint", "verify_run"]

EPOCH_TOLERANCE = 1e-12
EpochRecompute = Callable[[EpochRecord], EpochRecord]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReport:
    """A run that verified.

    Attributes:
        blocks_checked: blocks whose links and hashes were recomputed.
        epochs_checked: epochs recomputed (0 without a recompute callback).
        checkpoints_checked: checkpoints matched against the digests their blocks commit to.
        commands_checked: command-log rows matched against the chain's command events.
        head_number: the head block's number (0 for a run without blocks).
        digest: the head block's hash (``GENESIS_PARENT`` for a run without blocks).
    """

    blocks_checked: int
    epochs_checked: int
    digest: str
    checkpoints_checked: int = 0
    commands_checked: int = 0
    head_number: int = 0


@dataclasses.dataclass(slots=True)
class _Chain:
    """What a walk over the stored blocks found."""

    count: int = 0
    head: BlockRecord | None = None
    events: dict[int, list[EventRecord]] = dataclasses.field(default_factory=dict)


def verify_run(store: RunStore, run_id: int, recompute_epoch: EpochRecompute | None = None,
               *, tolerance: float = EPOCH_TOLERANCE, expect: str | None = None
               ) -> VerifyReport:
    """Check everything a run owns against its hash chain and, given ``recompute_epoch``,
    recompute its epochs; with ``expect`` (a digest printed at the end of the run, kept
    elsewhere), the head must be that digest: the only check a rewrite cannot pass.

    Raises:
        VerificationError: at the first difference, naming the block (or row) and what differs.
        StoreError: no such run.
    """
    with store.snapshot():
        info = store.run(run_id)
        try:
            chain = _verify_chain(store, run_id)
            checkpoints = _verify_checkpoints(store, run_id, chain)
            commands = _verify_commands(store, run_id, chain)
            _verify_orphans(store, run_id)
            head_number, head_hash = _verify_head(info, chain, expect)
            epochs_checked = 0
            if recompute_epoch is not None:
                epochs_checked = _verify_epochs(store, run_id, recompute_epoch, tolerance)
        except StoreError as error:  # an unreadable row of an existing run: it does not verify
            raise VerificationError(str(error)) from None
    return VerifyReport(blocks_checked=chain.count, epochs_checked=epochs_checked,
                        digest=head_hash, checkpoints_checked=checkpoints,
                        commands_checked=commands, head_number=head_number)


def verify_checkpoint(store: RunStore, run_id: int, number: int, state: bytes) -> BlockRecord:
    """The stored block a checkpoint was taken at, once the chain up to it verifies and the
    block commits to the checkpoint's digest; CheckpointError otherwise (nothing is decoded)."""
    try:
        with store.snapshot():
            chain = _verify_chain(store, run_id, until=number)
            _check_checkpoint(chain, number, state)
    except VerificationError as error:
        raise CheckpointError(f"run {run_id}: checkpoint at block {number} cannot be trusted"
                              f" ({error}); refusing to resume") from None
    assert chain.head is not None
    return chain.head


def _verify_chain(store: RunStore, run_id: int, until: int | None = None) -> _Chain:
    """Walk the blocks in order (up to ``until``) from the run's commitment."""
    info = store.run(run_id)
    genesis = run_commitment(info.config_json, info.seed, info.scenario_name, info.code_version)
    chain = _Chain()
    try:
        for event in store.events(run_id):
            chain.events.setdefault(event.block, []).append(event)
        epoch_by_block = {epoch.block: epoch for epoch in store.epochs(run_id)}
    except StoreError as exc:  # a corrupt row is a failed verification, not a crash
        raise VerificationError(str(exc)) from exc
    for block in store.blocks(run_id):
        if until is not None and block.number > until:
            break
        contents = contents_hash(chain.events.get(block.number, []),
                                 epoch_by_block.get(block.number))
        _verify_block(store, run_id, block, chain.head, genesis, contents)
        chain.head = block
        chain.count += 1
    if until is not None and (chain.head is None or chain.head.number != until):
        raise VerificationError(f"block {until} is not in the store")
    return chain


def _verify_block(store: RunStore, run_id: int, block: BlockRecord,
                  previous: BlockRecord | None, genesis: str, contents: str) -> None:
    where = f"block {block.number}"
    expected_number = 1 if previous is None else previous.number + 1
    if block.number != expected_number:
        after = "the run's start" if previous is None else f"block {previous.number}"
        raise VerificationError(f"{where}: follows {after} (blocks missing)")
    expected_parent = genesis if previous is None else previous.hash
    if block.parent_hash != expected_parent:
        what = "the run's commitment (scenario, seed, name, code version)" if previous is None \
            else "its parent's hash"
        raise VerificationError(f"{where}: parent hash is not {what} (stored"
                                f" {block.parent_hash}, expected {expected_parent})")
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


def _committed_digests(chain: _Chain, number: int) -> list[str]:
    return [str(event.data.get("state_digest")) for event in chain.events.get(number, [])
            if event.kind == "checkpoint"]


def _check_checkpoint(chain: _Chain, number: int, state: bytes) -> None:
    committed = _committed_digests(chain, number)
    if not committed:
        raise VerificationError(f"checkpoint at block {number}: its block commits to no"
                                " checkpoint")
    if digest(state) not in committed:
        raise VerificationError(f"checkpoint at block {number}: its bytes are not the state its"
                                " block commits to")


def _verify_checkpoints(store: RunStore, run_id: int, chain: _Chain) -> int:
    """Every stored checkpoint is one its block commits to, and the latest committed one (the
    one a resume starts from) is stored: older ones are pruned by design (``keep_checkpoints``)."""
    checkpoints = store.checkpoints(run_id)
    for number, state in checkpoints:
        _check_checkpoint(chain, number, state)
    committed = [number for number in sorted(chain.events) if _committed_digests(chain, number)]
    if committed and committed[-1] not in {number for number, _ in checkpoints}:
        raise VerificationError(f"checkpoint at block {committed[-1]}: committed by its block"
                                " but missing from the store")
    return len(checkpoints)


def _verify_commands(store: RunStore, run_id: int, chain: _Chain) -> int:
    logged = [event for number in sorted(chain.events) for event in chain.events[number]
              if event.kind == "command"]
    try:
        stored = store.commands(run_id)
    except StoreError as exc:
        raise VerificationError(str(exc)) from exc
    if len(stored) != len(logged):
        raise VerificationError(f"command log: {len(stored)} rows, the chain logged"
                                f" {len(logged)} commands")
    for index, ((sim_time, command), event) in enumerate(zip(stored, logged, strict=True)):
        if command != event.data.get("entry") or sim_time != (event.block - 1) * BLOCK_SECONDS:
            raise VerificationError(f"command {index}: differs from the command the chain"
                                    f" logged in block {event.block}")
    return len(stored)


def _verify_orphans(store: RunStore, run_id: int) -> None:
    orphans = store.orphan_rows(run_id)
    if orphans:
        listed = ", ".join(f"{count} {table}" for table, count in sorted(orphans.items()))
        raise VerificationError(f"rows for blocks the run does not hold: {listed}")


def _verify_head(info: object, chain: _Chain, expect: str | None) -> tuple[int, str]:
    number = 0 if chain.head is None else chain.head.number
    hash_ = GENESIS_PARENT if chain.head is None else chain.head.hash
    status = getattr(info, "status", None)
    recorded = (getattr(info, "head_number", None), getattr(info, "head_hash", None))
    if status == "finished" and recorded != (number, hash_):
        raise VerificationError(f"run finished at block {recorded[0]} ({recorded[1]}), the store"
                                f" holds blocks up to {number} ({hash_})")
    if status != "finished" and recorded != (None, None):
        raise VerificationError(f"run is {status} but records a final head")
    if expect is not None and (expect.lower() not in (hash_, f"{number}:{hash_}")
                               or status != "finished"):
        raise VerificationError(f"head is block {number} with digest {hash_} ({status}),"
                                f" expected the finished run's {expect}")
    return number, hash_


def recompute_epoch(recorded: EpochRecord) -> EpochRecord:
    """Recompute a recorded epoch from its recorded inputs with the code the chain runs: Yuma
    Consensus in the epoch's recorded arithmetic (``chain.compute_epoch``: the float kernel or
    the exact fixed-point epoch), the payout (``emission.settle_epoch``) and the record
    (``EpochRecord.of``). Stake after the epoch is the recorded stake before it plus what was
    paid: the ledger's crediting must have added exactly the payout."""
    outputs, _ = compute_epoch(recorded.inputs, recorded.params, recorded.arithmetic)
    owner = recorded.inputs.owner_uid
    payout = settle_epoch(recorded.pending, outputs.server_emission, outputs.validator_emission,
                          owner_uid=owner)
    return EpochRecord.of(block=recorded.block, index=recorded.index, inputs=recorded.inputs,
                          params=recorded.params, pending=recorded.pending, outputs=outputs,
                          payout=payout, arithmetic=recorded.arithmetic,
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
