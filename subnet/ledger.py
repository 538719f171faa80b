"""The chain's only mutable state: uid-indexed arrays and balances, and the extrinsic rules.

``Ledger.apply(extrinsic, block)`` checks one call against subtensor's rules and either changes
the state or raises ``ExtrinsicError`` with the pallet's error code; it never half-applies.
Storage mirrors the chain: weights and bonds as u16 (weights max-upscaled at ``set_weights``),
stake in TAO. The weights calls (``set_weights``, commit-reveal) and their row checks are in
``subnet/weight_calls.py``, registration's burn and pruning rules in ``subnet/registration.py``,
emission accounting in ``subnet/emission.py``; the chain process that drives blocks and epochs
is ``subnet/chain.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Collection, Iterator
from typing import Any

import numpy as np

from subnetsim.subnet import registration, weight_calls
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
)
from subnetsim.subnet.state_root import StateRoot

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
    def writing(self, *names: str, row: int | None = None,
                rows: Collection[int] | None = None) -> Iterator[None]:
        """Unlock matrices for one write of row ``row`` (or of ``rows``; neither: any row) and
        lock them again, telling the state root which rows to rehash. The matrices stay
        read-only otherwise, so a write from outside the ledger fails loudly instead of
        leaving a stale root."""
        written = (row,) if row is not None else rows
        touched: dict[str, Collection[int] | None] = {}
        for name in names:
            matrix = getattr(self, name)
            # Already writeable: something else may have written it too; rehash it whole.
            touched[name] = None if written is None or matrix.flags.writeable else written
            try:
                matrix.flags.writeable = True
            except ValueError:  # memory it does not own, e.g. unpickled from a checkpoint
                setattr(self, name, matrix.copy())
        try:
            yield
        finally:
            for name in names:
                self._root.touched(name, touched[name])
                getattr(self, name).flags.writeable = False

    def set_bonds(self, rows: np.ndarray, values: np.ndarray) -> None:
        """Store an epoch's bonds: ``values`` for ``rows``, every other row empty."""
        # Only these rows can change (the rest were empty and stay so): the state root
        # rehashes them instead of all n rows.
        changed = set(np.flatnonzero(self.bonds.any(axis=1)).tolist()) | set(rows.tolist())
        with self.writing("bonds", rows=changed):
            self.bonds[:] = 0
            self.bonds[rows] = values

    def add_commit(self, uid: int, commit_hash: str, block: int, uids: tuple[int, ...] = (),
                   weights: tuple[float, ...] = ()) -> None:
        """Keep a weight commitment made at ``block`` in this epoch (``subnet/weight_calls.py``)."""
        self.commits.setdefault(uid, []).append(Commit(
            commit_hash=commit_hash, block=block, epoch=self.epoch_index, uids=uids,
            weights=weights))

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
        with self.writing("weights"):  # subtensor clear_neuron: weights FOR the uid set to 0
            self.weights[uid] = 0
            self.weights[:, uid] = 0
        with self.writing("weight_set", "bonds", row=uid):
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

    # --- epoch-time upkeep -------------------------------------------------------------------

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
            self.burn = _decayed_burn(self.burn, rules.burn_half_life, rules.min_burn,
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


# The burn decays every block until it rests on min_burn (within ~11 half-lives of the last
# registration), then the same value goes in every block: the pure function's result is kept.
_decayed_burn = functools.lru_cache(maxsize=16)(registration.decay_burn)

_HANDLERS: dict[type[Extrinsic], Callable[[Ledger, Any, int], dict[str, object]]] = {
    Register: Ledger._register,
    AddStake: Ledger._add_stake,
    RemoveStake: Ledger._remove_stake,
    SetWeights: weight_calls.set_weights,
    CommitWeights: weight_calls.commit_weights,
    CommitTimelockedWeights: weight_calls.commit_timelocked,
    RevealWeights: weight_calls.reveal_weights,
}
