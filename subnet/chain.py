"""The chain as a SimPy process: 12-second blocks, extrinsics, emission, epochs, halts.

``Chain.produce_blocks`` is the only process that mutates the ledger. Each block first does what
subtensor does in ``on_initialize`` (``block_step.rs : block_step``): the registration burn's
per-block decay, the chain's own reveal of timelocked weight commits when an epoch is due,
emission accrual, and on epoch blocks Yuma Consensus in three visible steps: *gather* (copies
of the ledger), *compute* (``yuma.epoch``, or ``yuma_exact`` in exact arithmetic), *apply*
(bonds, permits, payouts). Only then are the extrinsics submitted since the previous block
applied, in submission order, as the chain applies a block's extrinsics after its
``on_initialize``. Every block is hashed into the run's hash chain and handed to the recorder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from subnetsim.subnet import schedule
from subnetsim.subnet.config import U16_MAX
from subnetsim.subnet.emission import (
    EmissionRules,
    EpochPayout,
    PendingEmission,
    block_split,
    block_split_exact,
    settle_epoch,
    split_dividend,
)
from subnetsim.subnet.errors import ExtrinsicError
from subnetsim.subnet.extrinsics import Extrinsic, GovernanceCall, TriggerEpoch
from subnetsim.subnet.ledger import SCOPES, Ledger
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
from subnetsim.subnet.yuma import EpochInputs, EpochOutputs, YumaParams, epoch
from subnetsim.subnet.yuma_exact import epoch_exact

if TYPE_CHECKING:
    from subnetsim.subnet.governance_gate import GovernanceGate

BLOCK_SECONDS = 12.0
OWNER_COLDKEY = "subnet-owner"
ADMIN_FREEZE_WINDOW = 10  # lib.rs : DefaultAdminFreezeWindow, blocks before a triggered epoch

__all__ = ["BLOCK_SECONDS", "Chain", "ExtrinsicResult", "Recorder"]

Recorder = Callable[[BlockRecord, list[ExtrinsicRecord], list[EventRecord], EpochRecord | None],
                    None]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ExtrinsicResult:
    """What the submitter of an extrinsic learns when its block is produced."""

    block: int
    accepted: bool
    error: str | None = None
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)


class Chain:
    """One subnet's chain. Agents read it and ``submit`` extrinsics; only its process writes."""

    def __init__(self, env: simpy.Environment, ledger: Ledger, emission: EmissionRules,
                 recorder: Recorder | None = None, netuid: int = 1,
                 owner_uid: int | None = None) -> None:
        self.env = env
        self.ledger = ledger
        self.emission = emission
        self.netuid = netuid
        self.owner_uid = owner_uid
        if owner_uid is not None:
            ledger.owner_uid = owner_uid
        self.recorder = recorder
        self.block = 0
        self.head_hash = GENESIS_PARENT
        self.pending = PendingEmission()
        self.minted = 0.0
        self.halt_until: int | None = None
        self.last_epoch: EpochRecord | None = None  # the latest epoch, as the metagraph shows it
        self.last_epoch_block = 0
        self._mempool: list[tuple[Extrinsic, simpy.Event]] = []
        self._events: list[EventRecord] = []
        self._reset_bond_uids: list[int] = []
        self._producing: int | None = None  # number of the block being produced, if any
        self.governance: GovernanceGate | None = None  # registered by whoever sets up a council
        # Called with each block's number just before it is sealed; a digest it returns is
        # logged as that block's ``checkpoint`` event, so the chain commits to the checkpoint.
        self.state_commitment: Callable[[int], str | None] | None = None
        # Told of every sealed block after the recorder (e.g. the serving network gossips its
        # governance calls to the nodes).
        self.observers: list[Recorder] = []

    # --- for agents --------------------------------------------------------------------------

    def submit(self, extrinsic: Extrinsic) -> simpy.Event:
        """Queue an extrinsic for the next block; the event's value is an ExtrinsicResult."""
        done = self.env.event()
        self._mempool.append((extrinsic, done))
        return done

    @property
    def hyper(self):  # -> Hyperparameters
        """Current hyperparameters (they may change between blocks, e.g. from the TUI)."""
        return self.ledger.hyper

    @property
    def epoch_index(self) -> int:
        """Number of epochs run so far."""
        return self.ledger.epoch_index

    def uid_of(self, hotkey: str) -> int | None:
        """The uid of a registered hotkey, or None."""
        return self.ledger.hotkeys.index(hotkey) if hotkey in self.ledger.hotkeys else None

    def blocks_until_next_epoch(self, block: int | None = None) -> int:
        """Blocks until the next epoch at or after ``block`` under ``epoch_schedule``
        (``subnet/schedule.py``: subtensor HEAD's ``block - LastEpochBlock >= tempo``, or the
        classic ``(block + netuid + 1) % (tempo + 1) == tempo``)."""
        block = self.block if block is None else block
        hyper = self.hyper
        return schedule.blocks_until_next_epoch(hyper.epoch_schedule, block, hyper.tempo,
                                                self.netuid, self.last_epoch_block)

    def epoch_due(self, block: int) -> bool:
        """Whether the epoch runs at ``block`` (``run_coinbase.rs : should_run_epoch``)."""
        hyper = self.hyper
        return schedule.epoch_due(hyper.epoch_schedule, block, hyper.tempo, self.netuid,
                                  self.last_epoch_block, self.ledger.pending_epoch_at)

    def owner_coldkey(self) -> str:
        """The subnet owner's coldkey: its hotkey's, or the placeholder owner without one."""
        if self.owner_uid is not None and self.ledger.registered[self.owner_uid]:
            return self.ledger.coldkey_of(self.owner_uid)
        return OWNER_COLDKEY

    def log_event(self, kind: str, /, **data: Any) -> None:
        """Record an event in the block being produced (or the next one, between blocks)."""
        block = self._producing if self._producing is not None else self.block + 1
        self._events.append(EventRecord(block=block, kind=kind, data=data))

    # --- governance hook ---------------------------------------------------------------------

    def set_halt(self, scopes: tuple[str, ...], until_block: int | None) -> None:
        """Halt the given scopes (``all`` for everything) until ``until_block`` (None: until a
        resume). Staking exits and governance calls stay open whatever the scope."""
        unknown = set(scopes) - set(SCOPES) - {"all"}
        if unknown:
            raise ValueError(f"unknown halt scope(s): {sorted(unknown)}")
        self.ledger.halted_scopes = frozenset(scopes)
        self.halt_until = until_block
        self.log_event("halt", scopes=sorted(scopes), until_block=until_block)

    def resume(self) -> None:
        """Lift every halt."""
        self.ledger.halted_scopes = frozenset()
        self.halt_until = None
        self.log_event("resume")

    def reset_bonds(self, uid: int) -> None:
        """Queue ``do_reset_bonds(uid)`` for the next epoch (needs bonds_reset_enabled)."""
        if self.hyper.bonds_reset_enabled:
            self._reset_bond_uids.append(uid)

    # --- the process -------------------------------------------------------------------------

    def produce_blocks(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        """The chain's SimPy process: one block every 12 simulated seconds, forever."""
        while True:
            yield env.timeout(BLOCK_SECONDS * (self.block + 1) - env.now)
            self.produce_block()

    def produce_block(self) -> BlockRecord:
        """Produce the next block now (the process calls this; tests may call it directly)."""
        number = self.block + 1
        self._producing = number
        # A halt ends at the start of its until_block (like safe mode's EnteredUntil in
        # on_initialize), so that block's extrinsics and its emission both run unhalted.
        self._expire_halt(number)
        # on_initialize: everything below runs before the block's extrinsics.
        self.ledger.start_block(number)
        epoch_due = self.epoch_due(number)
        if epoch_due:
            self._reveal_timelocked()
        if not self.ledger.is_halted("emissions"):
            split = block_split_exact if self.hyper.arithmetic == "exact" else block_split
            share = split(self.emission, self.hyper.subnet_owner_cut)
            self.pending = self.pending.plus(share)
            self.minted += share.total
        epoch_record = self._run_epoch(number) if epoch_due else None
        extrinsic_records = self._apply_mempool(number)
        if self.governance is not None:
            self.governance.track_serving(number, self.ledger.halted_scopes)
        self.block = number
        self.ledger.end_block(number)
        if self.state_commitment is not None:
            state_digest = self.state_commitment(number)
            if state_digest is not None:
                self.log_event("checkpoint", state_digest=state_digest)
        events, self._events = self._events, []
        self._producing = None
        record = self._seal(number, extrinsic_records, contents_hash(events, epoch_record))
        if self.recorder is not None:
            self.recorder(record, extrinsic_records, events, epoch_record)
        for observer in self.observers:
            observer(record, extrinsic_records, events, epoch_record)
        return record

    def _apply_mempool(self, number: int) -> list[ExtrinsicRecord]:
        queue, self._mempool = self._mempool, []
        records = []
        for index, (extrinsic, done) in enumerate(queue):
            try:
                facts = self._apply_call(extrinsic, number)
                result = ExtrinsicResult(block=number, accepted=True, facts=facts)
            except ExtrinsicError as error:
                result = ExtrinsicResult(block=number, accepted=False, error=error.code)
            self._note_facts(extrinsic, result)
            records.append(ExtrinsicRecord(
                block=number, index=index, kind=extrinsic.kind, hotkey=extrinsic.hotkey,
                payload=dict(extrinsic.payload()), accepted=result.accepted, error=result.error,
            ))
            done.succeed(result)
        return records

    def _apply_call(self, extrinsic: Extrinsic, number: int) -> dict[str, Any]:
        """Ledger calls go to the ledger; governance calls to the gate, open in any halt."""
        if isinstance(extrinsic, TriggerEpoch):
            return self._trigger_epoch(extrinsic, number)
        if not isinstance(extrinsic, GovernanceCall):
            return self.ledger.apply(extrinsic, number)
        if self.governance is None:
            raise ExtrinsicError("GovernanceNotConfigured")
        admission = self.governance.admit(extrinsic, self.ledger, self.halt_until, number)
        if admission.halt is not None and admission.halt.scopes:
            self.set_halt(admission.halt.scopes, admission.halt.until_block)
        elif admission.halt is not None:
            self.resume()
        return admission.facts

    def _trigger_epoch(self, call: TriggerEpoch, number: int) -> dict[str, Any]:
        """``tempo_control.rs : do_trigger_epoch``: the owner only, not with commit-reveal on,
        one pending trigger, not when the automatic epoch is under ADMIN_FREEZE_WINDOW blocks
        away; the epoch then fires ADMIN_FREEZE_WINDOW blocks from now. (The owner's
        hyperparameter rate limit is not modelled.)"""
        hyper, ledger = self.hyper, self.ledger
        if call.coldkey != self.owner_coldkey():
            raise ExtrinsicError("NotSubnetOwner", call.coldkey)
        if hyper.epoch_schedule != "last_epoch_block":
            raise ExtrinsicError("EpochTriggerUnavailable", "the modulo schedule has none")
        if hyper.commit_reveal_weights_enabled:
            raise ExtrinsicError("DynamicTempoBlockedByCommitReveal")
        if ledger.pending_epoch_at != 0:
            raise ExtrinsicError("EpochTriggerAlreadyPending")
        remaining = self.last_epoch_block + hyper.tempo - number
        if remaining < ADMIN_FREEZE_WINDOW:
            raise ExtrinsicError("AutoEpochAlreadyImminent", f"{remaining} blocks away")
        ledger.pending_epoch_at = number + ADMIN_FREEZE_WINDOW
        return {"fires_at": ledger.pending_epoch_at}

    def _note_facts(self, extrinsic: Extrinsic, result: ExtrinsicResult) -> None:
        if not result.accepted:
            self.log_event("rejected", kind=extrinsic.kind, hotkey=extrinsic.hotkey,
                           error=result.error)
        elif extrinsic.kind == "register":
            self.log_event("registered", hotkey=extrinsic.hotkey, **result.facts)
        elif extrinsic.kind == "evidence":
            self.log_event("penalised", **result.facts)

    def _reveal_timelocked(self) -> None:
        """Open the timelocked commits due in the epoch about to run (its index, looked ahead
        as ``current_epoch_with_lookahead`` does)."""
        hyper = self.hyper
        if not (hyper.commit_reveal_weights_enabled and hyper.commit_reveal_version == "timelock"):
            return
        if self.ledger.is_halted("weights"):
            return
        for uid, error in self.ledger.reveal_timelocked(self.ledger.epoch_index + 1):
            if error is None:
                self.log_event("weights_revealed", uid=uid)
            else:
                self.log_event("reveal_failed", uid=uid, error=error)

    def _expire_halt(self, number: int) -> None:
        if self.halt_until is not None and number >= self.halt_until:
            self.ledger.halted_scopes = frozenset()
            self.halt_until = None
            self.log_event("halt_expired")

    def _seal(self, number: int, extrinsic_records: list[ExtrinsicRecord],
              contents: str) -> BlockRecord:
        root = self.ledger.state_root()
        ext_hash = extrinsics_hash(extrinsic_records)
        own_hash = block_hash(number, self.env.now, self.head_hash, ext_hash, contents, root)
        record = BlockRecord(number=number, time=self.env.now, parent_hash=self.head_hash,
                             extrinsics_hash=ext_hash, state_root=root, hash=own_hash)
        self.head_hash = own_hash
        return record

    # --- the epoch: gather, compute, apply ---------------------------------------------------

    def _run_epoch(self, number: int) -> EpochRecord:
        ledger = self.ledger
        ledger.epoch_index += 1
        expired = ledger.expire_commits()
        if expired:
            self.log_event("commits_expired", uids=expired)
        inputs = self.gather_epoch_inputs(number)
        params = YumaParams.from_hyperparameters(self.hyper)
        stored_bonds = None
        if self.hyper.arithmetic == "exact":  # subtensor's fixed point: u16 bonds as computed
            exact = epoch_exact(inputs, params)
            outputs, stored_bonds = exact.outputs, exact.bonds_u16
        else:
            outputs = epoch(inputs, params)
        held = PendingEmission()
        if ledger.is_halted("emissions"):  # the pools wait for the halt to end: nothing is paid
            held, self.pending = self.pending, PendingEmission()
        pending = self.pending
        payout = settle_epoch(pending, outputs.server_emission, outputs.validator_emission,
                              owner_uid=inputs.owner_uid)
        self._apply_epoch(inputs, outputs, payout, stored_bonds)
        self.pending = payout.carried.plus(held)
        self.last_epoch_block = number
        ledger.pending_epoch_at = 0  # the slot is consumed (run_coinbase.rs : drain_pending)
        record = EpochRecord.of(block=number, index=ledger.epoch_index, inputs=inputs,
                                params=params, pending=pending, outputs=outputs, payout=payout,
                                stake=ledger.stake)
        self.last_epoch = record
        return record

    def gather_epoch_inputs(self, number: int) -> EpochInputs:
        """Copies of what the epoch reads (rows: uids that hold a permit, weights or bonds)."""
        ledger = self.ledger
        has_row = ledger.validator_permit | ledger.weight_set.any(axis=1) | ledger.bonds.any(axis=1)
        rows = np.flatnonzero(has_row & ledger.registered)
        reset, self._reset_bond_uids = tuple(self._reset_bond_uids), []
        return EpochInputs(
            stake=np.where(ledger.registered, ledger.stake, 0.0),
            weights=ledger.weights[rows] / U16_MAX,
            weight_set=ledger.weight_set[rows],
            bonds=ledger.bonds[rows] / U16_MAX,
            validator_uids=rows,
            validator_permit=ledger.validator_permit,
            last_update=ledger.last_update,
            block_at_registration=ledger.block_at_registration,
            current_block=number,
            recent_registration_block=self.last_epoch_block + 1,
            commit_block=ledger.earliest_commit_blocks()[rows],
            owner_uid=self.owner_uid,
            reset_bond_uids=reset,
        )

    def _apply_epoch(self, inputs: EpochInputs, outputs: EpochOutputs, payout: EpochPayout,
                     stored_bonds: np.ndarray | None = None) -> None:
        ledger = self.ledger
        rows = inputs.validator_uids
        if stored_bonds is None:
            stored_bonds = np.floor(outputs.bonds * U16_MAX)
        ledger.set_bonds(rows, stored_bonds.astype(np.int32))
        ledger.validator_permit[:] = outputs.validator_permit & ledger.registered
        owner = inputs.owner_uid
        if owner is not None and ledger.registered[owner]:
            # run_coinbase.rs : distribute_dividends_and_incentives stakes the owner cut to the
            # owner's hotkey.
            ledger.credit_stake(ledger.coldkey_of(owner), owner, payout.owner_tao)
        else:  # a world without an owner hotkey: the cut goes to the owner's free balance
            owner_balance = ledger.balances.get(OWNER_COLDKEY, 0.0)
            ledger.balances[OWNER_COLDKEY] = owner_balance + payout.owner_tao
        ledger.burned += payout.recycled
        for uid in np.flatnonzero(payout.incentive_tao > 0):
            ledger.credit_stake(ledger.coldkey_of(int(uid)), int(uid),
                                float(payout.incentive_tao[uid]))
        for uid in np.flatnonzero(payout.dividends_tao > 0):
            self._pay_dividend(int(uid), float(payout.dividends_tao[uid]))
        ledger.last_emission[:] = payout.incentive_tao + payout.dividends_tao

    def _pay_dividend(self, uid: int, amount: float) -> None:
        ledger = self.ledger
        owners = {coldkey: stake for (coldkey, staked_uid), stake in ledger.stake_by_owner.items()
                  if staked_uid == uid}
        shares = split_dividend(amount, owners, ledger.coldkey_of(uid), self.hyper.validator_take)
        for coldkey in sorted(shares):
            ledger.credit_stake(coldkey, uid, shares[coldkey])
