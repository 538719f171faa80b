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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from subnetsim.subnet import schedule, weight_calls
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
from subnetsim.subnet.producer import BLOCK_SECONDS, BlockProducer, Recorder
from subnetsim.subnet.records import BlockRecord, EpochRecord, EventRecord, ExtrinsicRecord
from subnetsim.subnet.yuma import EpochInputs, EpochOutputs, YumaParams, epoch
from subnetsim.subnet.yuma_exact import epoch_exact

if TYPE_CHECKING:
    from subnetsim.subnet.governance_gate import GovernanceGate

OWNER_COLDKEY = "subnet-owner"
ADMIN_FREEZE_WINDOW = 10  # lib.rs : DefaultAdminFreezeWindow, blocks before a triggered epoch

__all__ = ["BLOCK_SECONDS", "Chain", "ExtrinsicResult", "Recorder", "compute_epoch"]



def compute_epoch(inputs: EpochInputs, params: YumaParams,
                  arithmetic: str) -> tuple[EpochOutputs, np.ndarray | None]:
    """Yuma Consensus as the chain computes it in ``arithmetic``: the float kernel
    (``yuma.epoch``), or subtensor's fixed point (``yuma_exact``), which also returns the u16
    bonds to store exactly as computed (None in float: the chain floors ``outputs.bonds``).
    ``verify`` recomputes recorded epochs with this same function."""
    if arithmetic == "exact":
        exact = epoch_exact(inputs, params)
        return exact.outputs, exact.bonds_u16
    return epoch(inputs, params), None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ExtrinsicResult:
    """What the submitter of an extrinsic learns when its block is produced."""

    block: int
    accepted: bool
    error: str | None = None
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)


class Chain(BlockProducer):
    """One subnet's chain. Agents read it and ``submit`` extrinsics; only its process writes."""

    def __init__(self, env: simpy.Environment, ledger: Ledger, emission: EmissionRules,
                 recorder: Recorder | None = None, netuid: int = 1,
                 owner_uid: int | None = None) -> None:
        super().__init__(env, recorder)
        self.ledger = ledger
        self.emission = emission
        self.netuid = netuid
        self.owner_uid = owner_uid
        if owner_uid is not None:
            ledger.owner_uid = owner_uid
        self.pending = PendingEmission()
        self.minted = 0.0
        self.halt_until: int | None = None
        self.last_epoch: EpochRecord | None = None  # the latest epoch, as the metagraph shows it
        self.last_epoch_block = 0
        self._mempool: list[tuple[Extrinsic, simpy.Event]] = []
        self._reset_bond_uids: list[int] = []
        self.governance: GovernanceGate | None = None  # registered by whoever sets up a council
        # Set by a dTAO network (``subnet/dtao/network.py``): the block's pending alpha from the
        # network's coinbase instead of ``block_split`` of a fixed TAO emission, and the stake
        # root holders add to Yuma's stake weights (tao_weight x root stake per uid).
        self.emission_source: Callable[[int], PendingEmission] | None = None
        self.extra_stake: Callable[[], np.ndarray] | None = None
        # Also set by a network: the validator pool is shared by each uid's alpha part of its
        # dividend (root stake earns root dividends instead), from Yuma's validator emission.
        self.dividend_weights: Callable[[np.ndarray], np.ndarray] | None = None
        # Set by the network for one block when MaxEpochsPerBlock epochs already ran in it: a due
        # epoch is deferred to the next block (``PendingEpochAt = block + 1``).
        self.defer_epoch = False
        self._share: tuple[Any, EmissionRules, float, PendingEmission] | None = None

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

    def produce_block(self) -> BlockRecord:
        """Produce the next block now (the process calls this; tests may call it directly)."""
        number, extrinsic_records, epoch_record = self.run_block()
        return self.seal_and_record(number, extrinsic_records, epoch_record)

    def run_block(self) -> tuple[int, list[ExtrinsicRecord], EpochRecord | None]:
        """Everything a block does but sealing it: a dTAO network runs its subnets' blocks with
        this and seals one network block over them (``subnet/dtao/network.py``)."""
        number = self.block + 1
        self._producing = number
        # A halt ends at the start of its until_block (like safe mode's EnteredUntil in
        # on_initialize), so that block's extrinsics and its emission both run unhalted.
        self.expire_halt(number)
        # on_initialize: everything below runs before the block's extrinsics.
        self.ledger.start_block(number)
        epoch_due = self.epoch_due(number)
        if epoch_due and self.defer_epoch:
            self.ledger.pending_epoch_at = number + 1
            self.log_event("epoch_deferred", to_block=number + 1)
            epoch_due = False
        if epoch_due:
            self._reveal_timelocked()
        if not self.ledger.is_halted("emissions"):
            if self.emission_source is not None:
                share = self.emission_source(number)
            else:
                share = self._block_share()
            self.pending = self.pending.plus(share)
            self.minted += share.total
        epoch_record = self._run_epoch(number) if epoch_due else None
        extrinsic_records = self._apply_mempool(number)
        if self.governance is not None:
            self.governance.track_serving(number, self.ledger.halted_scopes)
        self.block = number
        self.ledger.end_block(number)
        return number, extrinsic_records, epoch_record

    def _block_share(self) -> PendingEmission:
        """One block's split of the subnet's emission: a pure function of the emission rules,
        the owner cut and the arithmetic, kept while they are the same objects (a frozen
        dataclass, a float: identity means the very same values, ``-0.0`` included)."""
        hyper = self.hyper
        split = block_split_exact if hyper.arithmetic == "exact" else block_split
        rules, cut = self.emission, hyper.subnet_owner_cut
        kept = self._share
        if kept is None or kept[0] is not split or kept[1] is not rules or kept[2] is not cut:
            kept = self._share = (split, rules, cut, split(rules, cut))
        return kept[3]

    def take_events(self) -> list[EventRecord]:
        """The events logged since the last block was sealed (the network re-logs them)."""
        events, self._events = self._events, []
        self._producing = None
        return events

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
        for uid, error in weight_calls.reveal_timelocked(self.ledger,
                                                     self.ledger.epoch_index + 1):
            if error is None:
                self.log_event("weights_revealed", uid=uid)
            else:
                self.log_event("reveal_failed", uid=uid, error=error)

    def expire_halt(self, number: int) -> None:
        """Lift a halt whose ``until_block`` is ``number`` (at the start of that block)."""
        if self.halt_until is not None and number >= self.halt_until:
            self.ledger.halted_scopes = frozenset()
            self.halt_until = None
            self.log_event("halt_expired")

    def state_root(self) -> str:
        """The ledger's state root."""
        return self.ledger.state_root()

    # --- the epoch: gather, compute, apply ---------------------------------------------------

    def _run_epoch(self, number: int) -> EpochRecord:
        ledger = self.ledger
        ledger.epoch_index += 1
        expired = weight_calls.expire_commits(ledger)
        if expired:
            self.log_event("commits_expired", uids=expired)
        inputs = self.gather_epoch_inputs(number)
        params = YumaParams.from_hyperparameters(self.hyper)
        outputs, stored_bonds = compute_epoch(inputs, params, self.hyper.arithmetic)
        held = PendingEmission()
        if ledger.is_halted("emissions"):  # the pools wait for the halt to end: nothing is paid
            held, self.pending = self.pending, PendingEmission()
        pending = self.pending
        validator_share = outputs.validator_emission
        if self.dividend_weights is not None:
            validator_share = self.dividend_weights(validator_share)
        payout = settle_epoch(pending, outputs.server_emission, validator_share,
                              owner_uid=inputs.owner_uid)
        self._apply_epoch(inputs, outputs, payout, stored_bonds)
        self.pending = payout.carried.plus(held)
        self.last_epoch_block = number
        ledger.pending_epoch_at = 0  # the slot is consumed (run_coinbase.rs : drain_pending)
        record = EpochRecord.of(block=number, index=ledger.epoch_index, inputs=inputs,
                                params=params, pending=pending, outputs=outputs, payout=payout,
                                stake=ledger.stake, arithmetic=self.hyper.arithmetic)
        self.last_epoch = record
        return record

    def gather_epoch_inputs(self, number: int) -> EpochInputs:
        """Copies of what the epoch reads (rows: uids that hold a permit, weights or bonds)."""
        ledger = self.ledger
        has_row = ledger.validator_permit | ledger.weight_set.any(axis=1) | ledger.bonds.any(axis=1)
        rows = np.flatnonzero(has_row & ledger.registered)
        reset, self._reset_bond_uids = tuple(self._reset_bond_uids), []
        stake = ledger.stake if self.extra_stake is None else ledger.stake + self.extra_stake()
        return EpochInputs(
            stake=np.where(ledger.registered, stake, 0.0),
            weights=ledger.weights[rows] / U16_MAX,
            weight_set=ledger.weight_set[rows],
            bonds=ledger.bonds[rows] / U16_MAX,
            validator_uids=rows,
            validator_permit=ledger.validator_permit,
            last_update=ledger.last_update,
            block_at_registration=ledger.block_at_registration,
            current_block=number,
            recent_registration_block=self.last_epoch_block + 1,
            commit_block=weight_calls.earliest_commit_blocks(ledger)[rows],
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
        # Each uid's owners, in stake_by_owner's order, gathered once: paying one uid's
        # dividend only changes that uid's entries.
        owners: dict[int, dict[str, float]] = {}
        for (coldkey, staked_uid), stake in ledger.stake_by_owner.items():
            owners.setdefault(staked_uid, {})[coldkey] = stake
        for validator in np.flatnonzero(payout.dividends_tao > 0).tolist():
            self._pay_dividend(validator, float(payout.dividends_tao[validator]),
                               owners.get(validator, {}))
        ledger.last_emission[:] = payout.incentive_tao + payout.dividends_tao

    def _pay_dividend(self, uid: int, amount: float, owners: dict[str, float]) -> None:
        ledger = self.ledger
        shares = split_dividend(amount, owners, ledger.coldkey_of(uid), self.hyper.validator_take)
        for coldkey in sorted(shares):
            ledger.credit_stake(coldkey, uid, shares[coldkey])
