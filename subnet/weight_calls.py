"""The weights pallet's rules on one ledger: ``set_weights``, commit-reveal (v2 hashes and
timelocked rows), the row checks every stored row passes, and the epoch-time commit upkeep.

Functions of a ledger (``subnet/ledger.py`` dispatches these extrinsics here and keeps the
state); each either changes the state or raises ``ExtrinsicError`` with subtensor's error code.
References are to subtensor's ``pallets/subtensor/src/subnets/weights.rs``.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

import numpy as np

from subnetsim.subnet.config import U16_MAX, Hyperparameters
from subnetsim.subnet.errors import ExtrinsicError
from subnetsim.subnet.extrinsics import (
    CommitTimelockedWeights,
    CommitWeights,
    RevealWeights,
    SetWeights,
    weights_commit_hash,
)

__all__ = ["MAX_UNREVEALED_COMMITS", "checked_weight_row", "commit_timelocked", "commit_weights",
           "earliest_commit_blocks", "expire_commits", "reveal_timelocked", "reveal_weights",
           "set_weights", "store_weights"]

MAX_UNREVEALED_COMMITS = 10  # subtensor: TooManyUnrevealedCommits past 10 per hotkey


class WeightLedger(Protocol):
    """What these rules read and write of ``subnet.ledger.Ledger`` (which holds the state and
    dispatches the calls here; a protocol, so the two modules do not import each other)."""

    hyper: Hyperparameters
    registered: np.ndarray
    validator_permit: np.ndarray
    last_update: np.ndarray
    weights: np.ndarray
    weight_set: np.ndarray
    epoch_index: int
    commits: dict[int, list[Any]]
    expired_commits: dict[int, list[str]]

    @property
    def capacity(self) -> int: ...

    def is_halted(self, scope: str) -> bool: ...

    def uid_of(self, hotkey: str) -> int: ...

    def writing(self, *names: str,
                row: int | None = None) -> contextlib.AbstractContextManager[None]: ...

    def add_commit(self, uid: int, commit_hash: str, block: int, uids: tuple[int, ...] = (),
                   weights: tuple[float, ...] = ()) -> None: ...


def set_weights(ledger: WeightLedger, call: SetWeights, block: int) -> dict[str, object]:
    """``set_weights`` (refused while commit-reveal is on)."""
    uid = _check_weight_caller(ledger, call.hotkey)
    if ledger.hyper.commit_reveal_weights_enabled:
        raise ExtrinsicError("CommitRevealEnabled", "use commit_weights and reveal_weights")
    _check_rate_limit(ledger, uid, block)
    store_weights(ledger, uid, call.uids, call.weights, block)
    ledger.last_update[uid] = block
    return {"uid": uid}


def _check_weight_caller(ledger: WeightLedger, hotkey: str) -> int:
    if ledger.is_halted("weights"):
        raise ExtrinsicError("SubnetHalted", "weights")
    return ledger.uid_of(hotkey)


def _check_rate_limit(ledger: WeightLedger, uid: int, block: int,
                      code: str = "SettingWeightsTooFast") -> None:
    # Registration sets last_update, so a new uid waits out the limit too (subtensor
    # check_rate_limit); only a uid that never set weights at genesis (block 0) is free.
    # Commits are limited the same way, on LastUpdate (weights.rs : do_commit_weights).
    last = ledger.last_update[uid]
    if last != 0 and block - last < ledger.hyper.weights_rate_limit:
        raise ExtrinsicError(code, f"last at {last}, now {block}")


def store_weights(ledger: WeightLedger, uid: int, uids: tuple[int, ...], values: tuple[float, ...],
                   block: int) -> None:
    row, columns = _checked_row(ledger, uid, uids, values)
    with ledger.writing("weights", "weight_set", row=uid):
        weights, present = ledger.weights[uid], ledger.weight_set[uid]  # views of the row
        weights[:] = 0
        present[:] = False
        weights[columns] = row
        present[columns] = True


def checked_weight_row(ledger: WeightLedger, uid: int, uids: tuple[int, ...],
                       values: tuple[float, ...]) -> np.ndarray:
    """subtensor's ``set_weights`` checks; returns the row max-upscaled to u16."""
    return _checked_row(ledger, uid, uids, values)[0]


def _checked_row(ledger: WeightLedger, uid: int, uids: tuple[int, ...],
                 values: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray | list[int]]:
    """``checked_weight_row`` and the uids as a numpy index (``_columns``)."""
    if len(uids) != len(values):
        raise ExtrinsicError("WeightVecNotEqualSize",
                             f"{len(uids)} uids, {len(values)} weights")
    if len(set(uids)) != len(uids):
        raise ExtrinsicError("DuplicateUids")
    columns = _columns(uids)
    if uids and not _registered_uids(ledger, uids, columns):
        raise ExtrinsicError("UidVecContainsInvalidOne")
    array = np.asarray(values, dtype=np.float64)
    total = array.sum()
    # All >= 0 rules out NaN and negatives; a non-finite sum then means +inf (or an
    # overflow of finite weights, which the entry-by-entry test lets through).
    if not ((array >= 0).all() and (np.isfinite(total) or np.isfinite(array).all())):
        raise ExtrinsicError("InvalidWeights", "weights must be finite and non-negative")
    self_only = len(uids) == 1 and uids[0] == uid
    minimum = min(ledger.hyper.min_allowed_weights, int(np.count_nonzero(ledger.registered)))
    if not self_only and len(uids) < minimum:  # subtensor check_length counts entries
        raise ExtrinsicError("WeightVecLengthIsLow", f"{len(uids)} < {minimum}")
    if not self_only and not ledger.validator_permit[uid] and ledger.epoch_index > 0:
        raise ExtrinsicError("NeuronNoValidatorPermit")
    peak = array.max(initial=0.0)
    if total > 0 and not self_only and peak / total > ledger.hyper.max_weights_limit:
        raise ExtrinsicError("MaxWeightExceeded", f"{peak / total:.4f}")
    if peak == 0:
        return np.zeros(len(uids), dtype=np.int32), columns
    return np.rint(array / peak * U16_MAX).astype(np.int32), columns  # max-upscale, nearest


def _registered_uids(ledger: WeightLedger, uids: tuple[int, ...],
                     columns: np.ndarray | list[int]) -> bool:
    """Whether every uid is a registered uid below capacity (one numpy lookup when they
    are all ints, as they are from any agent; one by one otherwise)."""
    if isinstance(columns, np.ndarray):
        return (columns.min() >= 0 and columns.max() < ledger.capacity
                and bool(ledger.registered[columns].all()))
    return all(0 <= target < ledger.capacity and ledger.registered[target] for target in uids)


def commit_weights(ledger: WeightLedger, call: CommitWeights, block: int) -> dict[str, object]:
    """``commit_weights`` (v2: a hash of the row, revealed later)."""
    uid = _check_commit(ledger, call.hotkey, "v2", block)
    ledger.add_commit(uid, call.commit_hash, block)
    ledger.expired_commits.pop(uid, None)
    ledger.last_update[uid] = block  # weights.rs : do_commit_weights sets LastUpdate at commit
    return {"uid": uid}


def commit_timelocked(ledger: WeightLedger, call: CommitTimelockedWeights,
                      block: int) -> dict[str, object]:
    """``commit_timelocked_weights``: the sealed row, opened later by ``reveal_timelocked``."""
    uid = _check_commit(ledger, call.hotkey, "timelock", block)
    digest = weights_commit_hash(call.hotkey, call.uids, call.weights, f"tlock-{block}")
    ledger.add_commit(uid, digest, block, call.uids, call.weights)
    # weights.rs : internal_commit_timelocked_weights sets LastUpdate at the commit.
    ledger.last_update[uid] = block
    return {"uid": uid}


def _check_commit(ledger: WeightLedger, hotkey: str, version: str, block: int) -> int:
    """The checks both commit calls share; returns the committer's uid."""
    uid = _check_weight_caller(ledger, hotkey)
    if not ledger.hyper.commit_reveal_weights_enabled:
        raise ExtrinsicError("CommitRevealDisabled")
    if ledger.hyper.commit_reveal_version != version:
        raise ExtrinsicError("IncorrectCommitRevealVersion",
                             f"this subnet runs {ledger.hyper.commit_reveal_version}")
    _check_rate_limit(ledger, uid, block, "CommittingWeightsTooFast")
    if len(ledger.commits.get(uid, [])) >= MAX_UNREVEALED_COMMITS:
        raise ExtrinsicError("TooManyUnrevealedCommits")
    return uid


def reveal_weights(ledger: WeightLedger, call: RevealWeights, block: int) -> dict[str, object]:
    """``reveal_weights``: the row whose hash was committed, in its reveal epoch."""
    uid = _check_weight_caller(ledger, call.hotkey)
    if not ledger.hyper.commit_reveal_weights_enabled:
        raise ExtrinsicError("CommitRevealDisabled")
    expected = weights_commit_hash(call.hotkey, call.uids, call.weights, call.salt)
    pending = ledger.commits.get(uid, [])
    match = next((c for c in pending if c.commit_hash == expected), None)
    if match is None:
        if expected in ledger.expired_commits.get(uid, ()):
            raise ExtrinsicError("ExpiredWeightCommit", "its reveal epoch has passed")
        raise ExtrinsicError("InvalidRevealCommitHashNotMatch")
    reveal_epoch = match.epoch + ledger.hyper.commit_reveal_period
    if ledger.epoch_index < reveal_epoch:
        raise ExtrinsicError("RevealTooEarly", f"reveal in epoch {reveal_epoch}")
    if ledger.epoch_index > reveal_epoch:
        raise ExtrinsicError("ExpiredWeightCommit", f"was due in epoch {reveal_epoch}")
    # No LastUpdate here: with commit-reveal on, set_weights leaves it to the commit
    # (weights.rs : internal_set_weights, step 18).
    store_weights(ledger, uid, call.uids, call.weights, block)
    ledger.commits[uid] = [c for c in pending if c.block > match.block]
    ledger.expired_commits.pop(uid, None)
    return {"uid": uid}


def expire_commits(ledger: WeightLedger) -> list[int]:
    """Drop commits whose reveal epoch has passed (subtensor ``is_commit_expired``)."""
    expired = []
    period = ledger.hyper.commit_reveal_period
    for uid, pending in ledger.commits.items():
        keep = [c for c in pending if ledger.epoch_index <= c.epoch + period]
        if len(keep) != len(pending):
            expired.append(uid)
            ledger.expired_commits.setdefault(uid, []).extend(
                c.commit_hash for c in pending if ledger.epoch_index > c.epoch + period)
        ledger.commits[uid] = keep
    return expired


def reveal_timelocked(ledger: WeightLedger, epoch: int) -> list[tuple[int, str | None]]:
    """The chain's own reveal at the first block of ``epoch`` (``reveal_commits.rs :
    reveal_crv3_commits_for_subnet``, before that block's epoch runs): commits made in
    ``epoch - commit_reveal_period`` are opened and stored as ``set_weights`` would (no
    LastUpdate, no rate limit); older ones are dropped. Returns (uid, error or None)."""
    due_epoch = epoch - ledger.hyper.commit_reveal_period
    outcome: list[tuple[int, str | None]] = []
    for uid in sorted(ledger.commits):
        pending = ledger.commits[uid]
        for commit in [c for c in pending if c.epoch == due_epoch and c.uids]:
            try:
                store_weights(ledger, uid, commit.uids, commit.weights, epoch)
                outcome.append((uid, None))
            except ExtrinsicError as error:
                outcome.append((uid, error.code))
        ledger.commits[uid] = [c for c in pending if c.epoch > due_epoch or not c.uids]
    return outcome


def earliest_commit_blocks(ledger: WeightLedger) -> np.ndarray:
    """(n,) block of each uid's earliest unexpired commit, -1 where none (the CR mask)."""
    blocks = np.full(ledger.capacity, -1, dtype=np.int64)
    for uid, pending in ledger.commits.items():
        if pending:
            blocks[uid] = min(c.block for c in pending)
    return blocks


def _columns(uids: tuple[int, ...]) -> np.ndarray | list[int]:
    """Checked uids as a numpy index: an integer array when they are all ints (a list of
    anything else indexes as numpy reads it, e.g. bools as a mask)."""
    if set(map(type, uids)) == {int}:
        try:
            return np.array(uids, dtype=np.int64)
        except OverflowError:  # beyond int64: not a uid anyway, checked one by one
            pass
    return list(uids)
