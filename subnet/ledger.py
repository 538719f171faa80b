"""The chain's only mutable state: uid-indexed arrays and balances, and the extrinsic rules.

``Ledger.apply(extrinsic, block)`` checks one call against subtensor's rules and either changes
the state or raises ``ExtrinsicError`` with the pallet's error code; it never half-applies.
Storage mirrors the chain: weights and bonds as u16 (weights max-upscaled at ``set_weights``),
stake in TAO. Emission accounting lives in ``subnet/emission.py``; the chain process that drives
blocks and epochs is ``subnet/chain.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from subnetsim.subnet import registration
from subnetsim.subnet.config import U16_MAX, Hyperparameters, choice, param
from subnetsim.subnet.errors import ExtrinsicError
from subnetsim.subnet.extrinsics import (
    AddStake,
    CommitTimelockedWeights,
    CommitWeights,
    Extrinsic,
    Register,
    RemoveStake,
    RevealWeights,
    SetWeights,
    weights_commit_hash,
)
from subnetsim.subnet.state_root import StateRoot

MAX_UNREVEALED_COMMITS = 10  # subtensor: TooManyUnrevealedCommits past 10 per hotkey
# "serving" is the AI service itself: the chain keeps no serving state, every node halts its
# own serving when it has verified the HALT (``subnet.serving``).
SCOPES = ("emissions", "weights", "registrations", "staking", "serving")

__all__ = ["Commit", "Ledger", "RegistrationRules", "SCOPES", "U16_MAX"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationRules:
    """Burned registration (subtensor's burn; the rules are in ``subnet/registration.py``).

    ``burn_model = "decay"`` is subtensor HEAD: the burn halves every ``burn_half_life`` blocks
    and rises by ``burn_increase_mult`` per registration, with no registration cap. ``"interval"``
    is the rule until 2026-01 (target per interval, at most 3 x target per interval and
    ``max_registrations_per_block`` per block); the interval fields only apply to it.
    """

    burn_model: str = choice("decay", ("decay", "interval"), "HEAD decay/bump or legacy interval")
    initial_burn: float = param(1.0, 0.0, None, "TAO burned by the first registration")
    min_burn: float = param(0.0005, 0.0, None, "floor of the burn (chain: 500,000 rao)")
    max_burn: float = param(100.0, 0.0, None, "ceiling of the burn")
    burn_half_life: int = param(360, 0, 36_100, "blocks for the burn to halve (decay)")
    burn_increase_mult: float = param(1.26, 1.0, None, "burn factor per registration (decay)")
    min_non_immune_uids: int = param(10, 0, None, "non-immune uids pruning must leave")
    target_registrations_per_interval: int = param(1, 1, None, "interval: the burn's target")
    adjustment_interval: int = param(360, 1, None, "interval: blocks between adjustments")
    max_registrations_per_interval: int = param(3, 1, None, "interval: cap (chain 3 x target)")
    max_registrations_per_block: int = param(1, 1, None, "interval: cap per block")
    adjustment_alpha: float = param(0.0, 0.0, 1.0, "interval: weight on the old burn")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Commit:
    """A weight commitment waiting for its reveal (timelocked ones carry their sealed row)."""

    commit_hash: str
    block: int
    epoch: int
    uids: tuple[int, ...] = ()
    weights: tuple[float, ...] = ()


@dataclasses.dataclass(slots=True)
class Ledger:
    """State of one subnet; uids ``0..capacity-1``. Mutated only by ``apply`` and the chain."""

    hyper: Hyperparameters
    rules: RegistrationRules
    hotkeys: list[str | None] = dataclasses.field(init=False)
    coldkeys: list[str | None] = dataclasses.field(init=False)
    registered: np.ndarray = dataclasses.field(init=False)  # (n,) bool
    block_at_registration: np.ndarray = dataclasses.field(init=False)  # (n,) block
    stake: np.ndarray = dataclasses.field(init=False)  # (n,) TAO on each hotkey
    stake_by_owner: dict[tuple[str, int], float] = dataclasses.field(default_factory=dict)
    balances: dict[str, float] = dataclasses.field(default_factory=dict)  # coldkey -> TAO
    last_update: np.ndarray = dataclasses.field(init=False)  # (n,) block
    weights: np.ndarray = dataclasses.field(init=False)  # (n, n) u16
    weight_set: np.ndarray = dataclasses.field(init=False)  # (n, n) entries present
    bonds: np.ndarray = dataclasses.field(init=False)  # (n, n) u16
    validator_permit: np.ndarray = dataclasses.field(init=False)  # (n,) bool
    last_emission: np.ndarray = dataclasses.field(init=False)  # (n,) TAO paid at last epoch
    commits: dict[int, list[Commit]] = dataclasses.field(default_factory=dict)
    # Hashes of expired commits per uid, kept (as subtensor keeps them in storage) until the
    # uid's next accepted commit or reveal, so a late reveal reads ExpiredWeightCommit.
    expired_commits: dict[int, list[str]] = dataclasses.field(default_factory=dict)
    epoch_index: int = 0
    burn: float = 0.0
    registrations_this_interval: int = 0
    registrations_this_block: int = 0
    owner_uid: int | None = None  # the subnet owner's hotkey: never pruned
    pending_epoch_at: int = 0  # owner-triggered epoch block (PendingEpochAt), 0: none
    halted_scopes: frozenset[str] = frozenset()
    burned: float = 0.0  # TAO destroyed by registration burns
    # What the state root reuses between blocks (``subnet/state_root.py``): it is recomputed
    # every block and rehashing everything dominated the engine's profile.
    _root: StateRoot = dataclasses.field(default_factory=StateRoot, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = self.hyper.max_allowed_uids
        self.hotkeys = [None] * n
        self.coldkeys = [None] * n
        self.registered = np.zeros(n, dtype=bool)
        self.block_at_registration = np.zeros(n, dtype=np.int64)
        self.stake = np.zeros(n)
        self.last_update = np.zeros(n, dtype=np.int64)
        self.weights = np.zeros((n, n), dtype=np.int32)
        self.weight_set = np.zeros((n, n), dtype=bool)
        self.bonds = np.zeros((n, n), dtype=np.int32)
        self.validator_permit = np.zeros(n, dtype=bool)
        self.last_emission = np.zeros(n)
        self.burn = self.rules.initial_burn

    # --- reading -----------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        """Maximum number of uids (``max_allowed_uids``)."""
        return len(self.hotkeys)

    def uid_of(self, hotkey: str) -> int:
        """The uid of a registered hotkey, or ExtrinsicError HotKeyNotRegisteredInSubNet."""
        try:
            return self.hotkeys.index(hotkey)
        except ValueError:
            raise ExtrinsicError("HotKeyNotRegisteredInSubNet", hotkey) from None

    def is_halted(self, scope: str) -> bool:
        """Whether ``scope`` (or everything) is halted by governance."""
        return scope in self.halted_scopes or "all" in self.halted_scopes

    def total_stake(self) -> float:
        """All stake on the subnet, TAO."""
        return float(self.stake.sum())

    def total_balance(self) -> float:
        """All free balances, TAO."""
        return float(sum(self.balances.values()))

    def state_root(self) -> str:
        """Hash of the consensus-relevant state after a block (part of the block hash)."""
        return self._root.of(self)

    @contextlib.contextmanager
    def _writing(self, *names: str, row: int | None = None) -> Iterator[None]:
        """Unlock matrices for one write of row ``row`` (None: any row) and lock them again,
        telling the state root which rows to rehash. The matrices stay read-only otherwise,
        so a write from outside the ledger fails loudly instead of leaving a stale root."""
        rows: dict[str, tuple[int, ...] | None] = {}
        for name in names:
            matrix = getattr(self, name)
            # Already writeable: something else may have written it too; rehash it whole.
            rows[name] = None if row is None or matrix.flags.writeable else (row,)
            try:
                matrix.flags.writeable = True
            except ValueError:  # memory it does not own, e.g. unpickled from a checkpoint
                setattr(self, name, matrix.copy())
        try:
            yield
        finally:
            for name in names:
                self._root.touched(name, rows[name])
                getattr(self, name).flags.writeable = False

    def set_bonds(self, rows: np.ndarray, values: np.ndarray) -> None:
        """Store an epoch's bonds: ``values`` for ``rows``, every other row empty."""
        with self._writing("bonds"):
            self.bonds[:] = 0
            self.bonds[rows] = values

    def __getstate__(self) -> dict[str, object]:
        # Checkpoints carry the state, not the digest cache (it is rebuilt on first use).
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "_root"}

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self._root = StateRoot()

    # --- extrinsics --------------------------------------------------------------------------

    def apply(self, extrinsic: Extrinsic, block: int) -> dict[str, object]:
        """Apply one extrinsic at ``block``; returns facts for the event log (e.g. the uid).

        Raises:
            ExtrinsicError: the chain's rule that rejects the call; the state is unchanged.
        """
        handler = _HANDLERS[type(extrinsic)]
        return handler(self, extrinsic, block)

    def _register(self, call: Register, block: int) -> dict[str, object]:
        if self.is_halted("registrations"):
            raise ExtrinsicError("SubnetHalted", "registrations")
        if call.hotkey in self.hotkeys:
            raise ExtrinsicError("HotKeyAlreadyRegisteredInSubNet", call.hotkey)
        self._check_registration_caps()
        if self.balances.get(call.coldkey, 0.0) < self.burn:
            raise ExtrinsicError("NotEnoughBalanceToPayRegistration", f"burn {self.burn:.4f}")
        facts: dict[str, object] = {"burn": self.burn}
        uid, pruned = self._free_uid(block)
        if pruned is not None:
            facts["pruned_hotkey"] = self.hotkeys[uid]
            self._deregister(uid)
        self.balances[call.coldkey] -= self.burn
        self.burned += self.burn
        self.registrations_this_interval += 1
        self.registrations_this_block += 1
        rules = self.rules
        if rules.burn_model == "decay":
            self.burn = registration.bump_burn(self.burn, rules.burn_increase_mult,
                                               rules.min_burn, rules.max_burn)
        self.hotkeys[uid], self.coldkeys[uid] = call.hotkey, call.coldkey
        self.registered[uid] = True
        self.block_at_registration[uid] = block
        self.last_update[uid] = block
        facts["uid"] = uid
        return facts

    def _check_registration_caps(self) -> None:
        """The legacy caps (HEAD enforces none): per block, and 3 x target per interval."""
        rules = self.rules
        if rules.burn_model != "interval":
            return
        if self.registrations_this_block >= rules.max_registrations_per_block:
            raise ExtrinsicError("TooManyRegistrationsThisBlock")
        if self.registrations_this_interval >= rules.max_registrations_per_interval:
            raise ExtrinsicError("TooManyRegistrationsThisInterval")

    def _free_uid(self, block: int) -> tuple[int, int | None]:
        """The uid a registration takes: a free one, else the one to prune."""
        free = np.flatnonzero(~self.registered)
        if len(free):
            return int(free[0]), None
        uid = self.uid_to_prune(block)
        if uid is None:
            raise ExtrinsicError("NoNeuronIdAvailable")
        return uid, uid

    def uid_to_prune(self, block: int) -> int | None:
        """subtensor ``get_neuron_to_prune`` (``subnet/registration.py``): lowest emission, then
        older registration, then lower uid; the owner's uid never; an immune uid only when no
        more than ``min_non_immune_uids`` non-immune uids remain. None: nothing to prune."""
        immortal = np.zeros(self.capacity, dtype=bool)
        if self.owner_uid is not None:
            immortal[self.owner_uid] = True
        return registration.neuron_to_prune(
            self.registered, self.last_emission, self.block_at_registration, block,
            self.hyper.immunity_period, immortal, self.rules.min_non_immune_uids)

    def slash(self, uid: int, fraction: float) -> float:
        """Burn ``fraction`` of the stake on ``uid`` (every owner pro rata); returns the TAO."""
        total = 0.0
        for coldkey, staked_uid in sorted(key for key in self.stake_by_owner if key[1] == uid):
            cut = self.stake_by_owner[(coldkey, staked_uid)] * fraction
            self.credit_stake(coldkey, uid, -cut)
            total += cut
        self.burned += total
        return total

    def deregister(self, uid: int) -> None:
        """Remove the neuron on ``uid`` (a governance penalty): as pruning frees a uid."""
        self._deregister(uid)
        self.registered[uid] = False
        self.hotkeys[uid] = self.coldkeys[uid] = None

    def _deregister(self, uid: int) -> None:
        """Free a uid: its stake goes back to its owners' balances; rows and columns reset."""
        for key in [key for key in self.stake_by_owner if key[1] == uid]:
            self.balances[key[0]] = self.balances.get(key[0], 0.0) + self.stake_by_owner.pop(key)
        self.stake[uid] = 0.0
        with self._writing("weights"):  # subtensor clear_neuron: weights FOR the uid set to 0
            self.weights[uid] = 0
            self.weights[:, uid] = 0
        with self._writing("weight_set", "bonds", row=uid):
            self.weight_set[uid] = False
            # clear_neuron removes the uid's own bond row only; bonds *to* it stay and are
            # masked at the next epoch if it was registered since the last one (uids.rs :
            # clear_neuron).
            self.bonds[uid] = 0
        self.validator_permit[uid] = False
        self.commits.pop(uid, None)
        self.expired_commits.pop(uid, None)
        self.last_emission[uid] = 0.0

    def _add_stake(self, call: AddStake, block: int) -> dict[str, object]:
        if self.is_halted("staking"):
            raise ExtrinsicError("SubnetHalted", "staking")
        uid = self.uid_of(call.hotkey)
        if not call.amount > 0:
            raise ExtrinsicError("AmountTooLow", f"{call.amount}")
        if self.balances.get(call.coldkey, 0.0) < call.amount:
            raise ExtrinsicError("NotEnoughBalanceToStake", call.coldkey)
        self.balances[call.coldkey] -= call.amount
        self.credit_stake(call.coldkey, uid, call.amount)
        return {"uid": uid}

    def _remove_stake(self, call: RemoveStake, block: int) -> dict[str, object]:
        # Deliberately open during a halt: holders can always exit (docs/killswitch.md).
        uid = self.uid_of(call.hotkey)
        held = self.stake_by_owner.get((call.coldkey, uid), 0.0)
        if not call.amount > 0:
            raise ExtrinsicError("AmountTooLow", f"{call.amount}")
        if held < call.amount:
            raise ExtrinsicError("NotEnoughStakeToWithdraw", f"{held:.6f} < {call.amount}")
        self.credit_stake(call.coldkey, uid, -call.amount)
        self.balances[call.coldkey] = self.balances.get(call.coldkey, 0.0) + call.amount
        return {"uid": uid}

    def credit_stake(self, coldkey: str, uid: int, amount: float) -> None:
        """Add (or with a negative amount, remove) ``coldkey``'s stake on ``uid``."""
        key = (coldkey, uid)
        remaining = self.stake_by_owner.get(key, 0.0) + amount
        if remaining > 1e-12:
            self.stake_by_owner[key] = remaining
        else:
            self.stake_by_owner.pop(key, None)
        self.stake[uid] = max(self.stake[uid] + amount, 0.0)

    def _set_weights(self, call: SetWeights, block: int) -> dict[str, object]:
        uid = self._check_weight_caller(call.hotkey)
        if self.hyper.commit_reveal_weights_enabled:
            raise ExtrinsicError("CommitRevealEnabled", "use commit_weights and reveal_weights")
        self._check_rate_limit(uid, block)
        self._store_weights(uid, call.uids, call.weights, block)
        self.last_update[uid] = block
        return {"uid": uid}

    def _check_weight_caller(self, hotkey: str) -> int:
        if self.is_halted("weights"):
            raise ExtrinsicError("SubnetHalted", "weights")
        return self.uid_of(hotkey)

    def _check_rate_limit(self, uid: int, block: int, code: str = "SettingWeightsTooFast") -> None:
        # Registration sets last_update, so a new uid waits out the limit too (subtensor
        # check_rate_limit); only a uid that never set weights at genesis (block 0) is free.
        # Commits are limited the same way, on LastUpdate (weights.rs : do_commit_weights).
        last = self.last_update[uid]
        if last != 0 and block - last < self.hyper.weights_rate_limit:
            raise ExtrinsicError(code, f"last at {last}, now {block}")

    def _store_weights(self, uid: int, uids: tuple[int, ...], values: tuple[float, ...],
                       block: int) -> None:
        row, columns = self._checked_row(uid, uids, values)
        with self._writing("weights", "weight_set", row=uid):
            weights, present = self.weights[uid], self.weight_set[uid]  # views of the row
            weights[:] = 0
            present[:] = False
            weights[columns] = row
            present[columns] = True

    def checked_weight_row(self, uid: int, uids: tuple[int, ...],
                           values: tuple[float, ...]) -> np.ndarray:
        """subtensor's ``set_weights`` checks; returns the row max-upscaled to u16."""
        return self._checked_row(uid, uids, values)[0]

    def _checked_row(self, uid: int, uids: tuple[int, ...],
                     values: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray | list[int]]:
        """``checked_weight_row`` and the uids as a numpy index (``_columns``)."""
        if len(uids) != len(values):
            raise ExtrinsicError("WeightVecNotEqualSize",
                                 f"{len(uids)} uids, {len(values)} weights")
        if len(set(uids)) != len(uids):
            raise ExtrinsicError("DuplicateUids")
        columns = _columns(uids)
        if uids and not self._registered_uids(uids, columns):
            raise ExtrinsicError("UidVecContainsInvalidOne")
        array = np.asarray(values, dtype=np.float64)
        total = array.sum()
        # All >= 0 rules out NaN and negatives; a non-finite sum then means +inf (or an
        # overflow of finite weights, which the entry-by-entry test lets through).
        if not ((array >= 0).all() and (np.isfinite(total) or np.isfinite(array).all())):
            raise ExtrinsicError("InvalidWeights", "weights must be finite and non-negative")
        self_only = len(uids) == 1 and uids[0] == uid
        minimum = min(self.hyper.min_allowed_weights, int(np.count_nonzero(self.registered)))
        if not self_only and len(uids) < minimum:  # subtensor check_length counts entries
            raise ExtrinsicError("WeightVecLengthIsLow", f"{len(uids)} < {minimum}")
        if not self_only and not self.validator_permit[uid] and self.epoch_index > 0:
            raise ExtrinsicError("NeuronNoValidatorPermit")
        peak = array.max(initial=0.0)
        if total > 0 and not self_only and peak / total > self.hyper.max_weights_limit:
            raise ExtrinsicError("MaxWeightExceeded", f"{peak / total:.4f}")
        if peak == 0:
            return np.zeros(len(uids), dtype=np.int32), columns
        return np.rint(array / peak * U16_MAX).astype(np.int32), columns  # max-upscale, nearest

    def _registered_uids(self, uids: tuple[int, ...], columns: np.ndarray | list[int]) -> bool:
        """Whether every uid is a registered uid below capacity (one numpy lookup when they
        are all ints, as they are from any agent; one by one otherwise)."""
        if isinstance(columns, np.ndarray):
            return (columns.min() >= 0 and columns.max() < self.capacity
                    and bool(self.registered[columns].all()))
        return all(0 <= target < self.capacity and self.registered[target] for target in uids)

    def _commit_weights(self, call: CommitWeights, block: int) -> dict[str, object]:
        uid = self._check_commit(call.hotkey, "v2", block)
        pending = self.commits.setdefault(uid, [])
        pending.append(Commit(commit_hash=call.commit_hash, block=block, epoch=self.epoch_index))
        self.expired_commits.pop(uid, None)
        self.last_update[uid] = block  # weights.rs : do_commit_weights sets LastUpdate at commit
        return {"uid": uid}

    def _commit_timelocked(self, call: CommitTimelockedWeights, block: int) -> dict[str, object]:
        uid = self._check_commit(call.hotkey, "timelock", block)
        digest = weights_commit_hash(call.hotkey, call.uids, call.weights, f"tlock-{block}")
        self.commits.setdefault(uid, []).append(Commit(
            commit_hash=digest, block=block, epoch=self.epoch_index, uids=call.uids,
            weights=call.weights))
        # weights.rs : internal_commit_timelocked_weights sets LastUpdate at the commit.
        self.last_update[uid] = block
        return {"uid": uid}

    def _check_commit(self, hotkey: str, version: str, block: int) -> int:
        """The checks both commit calls share; returns the committer's uid."""
        uid = self._check_weight_caller(hotkey)
        if not self.hyper.commit_reveal_weights_enabled:
            raise ExtrinsicError("CommitRevealDisabled")
        if self.hyper.commit_reveal_version != version:
            raise ExtrinsicError("IncorrectCommitRevealVersion",
                                 f"this subnet runs {self.hyper.commit_reveal_version}")
        self._check_rate_limit(uid, block, "CommittingWeightsTooFast")
        if len(self.commits.get(uid, [])) >= MAX_UNREVEALED_COMMITS:
            raise ExtrinsicError("TooManyUnrevealedCommits")
        return uid

    def _reveal_weights(self, call: RevealWeights, block: int) -> dict[str, object]:
        uid = self._check_weight_caller(call.hotkey)
        if not self.hyper.commit_reveal_weights_enabled:
            raise ExtrinsicError("CommitRevealDisabled")
        expected = weights_commit_hash(call.hotkey, call.uids, call.weights, call.salt)
        pending = self.commits.get(uid, [])
        match = next((c for c in pending if c.commit_hash == expected), None)
        if match is None:
            if expected in self.expired_commits.get(uid, ()):
                raise ExtrinsicError("ExpiredWeightCommit", "its reveal epoch has passed")
            raise ExtrinsicError("InvalidRevealCommitHashNotMatch")
        reveal_epoch = match.epoch + self.hyper.commit_reveal_period
        if self.epoch_index < reveal_epoch:
            raise ExtrinsicError("RevealTooEarly", f"reveal in epoch {reveal_epoch}")
        if self.epoch_index > reveal_epoch:
            raise ExtrinsicError("ExpiredWeightCommit", f"was due in epoch {reveal_epoch}")
        # No LastUpdate here: with commit-reveal on, set_weights leaves it to the commit
        # (weights.rs : internal_set_weights, step 18).
        self._store_weights(uid, call.uids, call.weights, block)
        self.commits[uid] = [c for c in pending if c.block > match.block]
        self.expired_commits.pop(uid, None)
        return {"uid": uid}

    # --- epoch-time upkeep -------------------------------------------------------------------

    def expire_commits(self) -> list[int]:
        """Drop commits whose reveal epoch has passed (subtensor ``is_commit_expired``)."""
        expired = []
        period = self.hyper.commit_reveal_period
        for uid, pending in self.commits.items():
            keep = [c for c in pending if self.epoch_index <= c.epoch + period]
            if len(keep) != len(pending):
                expired.append(uid)
                self.expired_commits.setdefault(uid, []).extend(
                    c.commit_hash for c in pending if self.epoch_index > c.epoch + period)
            self.commits[uid] = keep
        return expired

    def reveal_timelocked(self, epoch: int) -> list[tuple[int, str | None]]:
        """The chain's own reveal at the first block of ``epoch`` (``reveal_commits.rs :
        reveal_crv3_commits_for_subnet``, before that block's epoch runs): commits made in
        ``epoch - commit_reveal_period`` are opened and stored as ``set_weights`` would (no
        LastUpdate, no rate limit); older ones are dropped. Returns (uid, error or None)."""
        due_epoch = epoch - self.hyper.commit_reveal_period
        outcome: list[tuple[int, str | None]] = []
        for uid in sorted(self.commits):
            pending = self.commits[uid]
            for commit in [c for c in pending if c.epoch == due_epoch and c.uids]:
                try:
                    self._store_weights(uid, commit.uids, commit.weights, epoch)
                    outcome.append((uid, None))
                except ExtrinsicError as error:
                    outcome.append((uid, error.code))
            self.commits[uid] = [c for c in pending if c.epoch > due_epoch or not c.uids]
        return outcome

    def earliest_commit_blocks(self) -> np.ndarray:
        """(n,) block of each uid's earliest unexpired commit, -1 where none (the CR mask)."""
        blocks = np.full(self.capacity, -1, dtype=np.int64)
        for uid, pending in self.commits.items():
            if pending:
                blocks[uid] = min(c.block for c in pending)
        return blocks

    def coldkey_of(self, uid: int) -> str:
        """The coldkey owning registered ``uid`` (a ValueError for an empty slot: a bug)."""
        coldkey = self.coldkeys[uid]
        if coldkey is None:
            raise ValueError(f"uid {uid} has no coldkey (not registered)")
        return coldkey

    def start_block(self, block: int) -> None:
        """on_initialize's registration upkeep (``update_registration_prices_for_networks``):
        the burn's per-block decay after block 1 (decay model), the per-block counter reset."""
        rules = self.rules
        if rules.burn_model == "decay" and block > 1:
            self.burn = registration.decay_burn(self.burn, rules.burn_half_life, rules.min_burn,
                                                rules.max_burn)
        self.registrations_this_block = 0

    def end_block(self, block: int) -> None:
        """The legacy interval adjustment, every ``adjustment_interval`` blocks."""
        if self.rules.burn_model == "interval" and block % self.rules.adjustment_interval == 0:
            self.adjust_burn()

    def adjust_burn(self) -> float:
        """The legacy interval rule (``registration.interval_burn``); resets the counter."""
        rules = self.rules
        self.burn = registration.interval_burn(
            self.burn, self.registrations_this_interval, rules.target_registrations_per_interval,
            rules.adjustment_alpha, rules.min_burn, rules.max_burn)
        self.registrations_this_interval = 0
        return self.burn


def _columns(uids: tuple[int, ...]) -> np.ndarray | list[int]:
    """Checked uids as a numpy index: an integer array when they are all ints (a list of
    anything else indexes as numpy reads it, e.g. bools as a mask)."""
    if set(map(type, uids)) == {int}:
        try:
            return np.array(uids, dtype=np.int64)
        except OverflowError:  # beyond int64: not a uid anyway, checked one by one
            pass
    return list(uids)


_HANDLERS: dict[type[Extrinsic], Callable[[Ledger, Any, int], dict[str, object]]] = {
    Register: Ledger._register,
    AddStake: Ledger._add_stake,
    RemoveStake: Ledger._remove_stake,
    SetWeights: Ledger._set_weights,
    CommitWeights: Ledger._commit_weights,
    CommitTimelockedWeights: Ledger._commit_timelocked,
    RevealWeights: Ledger._reveal_weights,
}
