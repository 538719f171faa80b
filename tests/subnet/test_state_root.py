"""``Ledger.state_root`` with its caches is the plain hash of the state, block after block.

The ledger rehashes only the matrix rows its writers touched, and reuses the text of its
hotkeys and coldkeys while they are unchanged (``subnet/state_root.py``); here every block's
root is recomputed from scratch (the formula without any cache) and compared.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from subnetsim.subnet import weight_calls
from subnetsim.subnet.ledger import Ledger
from subnetsim.world import World
from tests.subnet.test_chain_engine import small_scenario


def uncached_root(ledger: Ledger) -> str:
    """The state root as defined, everything hashed anew: the digest of the uid vectors'
    bytes, each matrix's digest (the hash of its rows' digests), the hotkeys' repr, the
    scalars' repr, and the digest of the balances (sorted coldkeys' repr, float64 values)."""
    vectors = b"".join(np.ascontiguousarray(array).tobytes() for array in (
        ledger.registered, ledger.block_at_registration, ledger.stake, ledger.last_update,
        ledger.validator_permit))
    hasher = hashlib.blake2b(hashlib.blake2b(vectors, digest_size=32).digest(), digest_size=32)
    for matrix in (ledger.weights, ledger.weight_set, ledger.bonds):
        rows = b"".join(hashlib.blake2b(row.tobytes(), digest_size=32).digest()
                        for row in np.ascontiguousarray(matrix))
        hasher.update(hashlib.blake2b(rows, digest_size=32).digest())
    hasher.update(repr(ledger.hotkeys).encode())
    hasher.update(repr((ledger.epoch_index, ledger.burn, sorted(ledger.halted_scopes))).encode())
    coldkeys = sorted(ledger.balances)
    values = np.array([ledger.balances[key] for key in coldkeys], dtype="<f8").tobytes()
    hasher.update(hashlib.blake2b(repr(coldkeys).encode() + values, digest_size=32).digest())
    return hasher.hexdigest()


def _ledger_at_block(block: int) -> Ledger:
    """The small scenario's ledger (seed 3) after ``block`` blocks."""
    world = World(small_scenario(), 3)
    world.start()
    world.run_to_block(block)
    return world.chain.ledger


@pytest.mark.parametrize("commit_reveal", [False, True])
def test_cached_state_root_is_the_uncached_one_every_block(commit_reveal):
    world = World(small_scenario(commit_reveal=commit_reveal), 3)
    world.start()
    roots = []
    ledger = world.chain.ledger
    for block in range(1, 90):
        world.run_to_block(block)
        assert ledger.state_root() == uncached_root(ledger), f"block {block}"
        roots.append(ledger.state_root())
    assert len(set(roots)) > 1


def test_a_write_outside_the_ledger_fails_instead_of_going_stale():
    ledger = _ledger_at_block(30)
    ledger.state_root()
    with pytest.raises(ValueError, match="read-only"):
        ledger.weights[0, 1] = 7
    ledger.bonds.flags.writeable = True  # an explicit unlock drops the cached digest
    ledger.bonds[0, 1] += 1
    assert ledger.state_root() == uncached_root(ledger)


def test_equal_but_different_balances_print_their_own_repr():
    ledger = _ledger_at_block(5)
    coldkey = next(iter(ledger.balances))
    ledger.balances[coldkey] = 0.0
    ledger.state_root()
    ledger.balances[coldkey] = -0.0  # == 0.0, but repr "-0.0": the cache must not serve "0.0"
    assert ledger.state_root() == uncached_root(ledger)


def test_a_deregistration_clears_a_column_and_the_root_follows():
    ledger = _ledger_at_block(40)
    assert ledger.weights.any(), "the scenario set weights by block 40"
    ledger.state_root()
    target = int(np.flatnonzero(ledger.weights.any(axis=0))[0])  # a uid others weigh
    ledger.deregister(target)  # zeroes its column in every validator's row
    assert ledger.state_root() == uncached_root(ledger)


def test_rows_written_while_a_matrix_was_left_unlocked_are_all_rehashed():
    ledger = _ledger_at_block(40)
    ledger.state_root()
    validator = int(np.flatnonzero(ledger.weight_set.any(axis=1))[0])
    uids = tuple(np.flatnonzero(ledger.weight_set[validator]).tolist())
    other = (validator + 1) % ledger.capacity
    ledger.weights.flags.writeable = True  # someone unlocks and writes another row...
    ledger.weights[other, 0] += 1
    # ...then the ledger writes its own row
    weight_calls.store_weights(ledger, validator, uids, (1.0,) * len(uids), 40)
    assert not ledger.weights.flags.writeable
    assert ledger.state_root() == uncached_root(ledger)


def _set_halted(ledger: Ledger) -> None:
    ledger.halted_scopes = frozenset({"weights", "emissions"})


def _retype_halted(ledger: Ledger) -> None:
    ledger.halted_scopes = frozenset(ledger.halted_scopes)  # equal scopes, another object


def _nudge_balance(ledger: Ledger) -> None:
    coldkey = next(iter(ledger.balances))
    ledger.balances[coldkey] = float(np.nextafter(ledger.balances[coldkey], np.inf))


def _reinsert_balance(ledger: Ledger) -> None:
    coldkey = next(iter(ledger.balances))  # same mapping, other order: the same root
    ledger.balances[coldkey] = ledger.balances.pop(coldkey)


def _rename_hotkey(ledger: Ledger) -> None:
    ledger.hotkeys[int(np.flatnonzero(ledger.registered)[0])] = "renamed"


@pytest.mark.parametrize("change", [
    _set_halted, _retype_halted, _nudge_balance, _reinsert_balance, _rename_hotkey,
    lambda ledger: ledger.balances.update(newcomer=1.0),
    lambda ledger: ledger.balances.pop(next(iter(ledger.balances))),
    lambda ledger: setattr(ledger, "burn", ledger.burn * 2),
    lambda ledger: setattr(ledger, "epoch_index", ledger.epoch_index + 1),
    lambda ledger: ledger.stake.__setitem__(0, ledger.stake[0] + 1.0),
])
def test_a_change_to_any_one_part_of_the_state_moves_the_root_as_defined(change):
    """Each part the root reuses between blocks, changed alone after a root was taken."""
    ledger = _ledger_at_block(40)
    ledger.state_root()
    before = uncached_root(ledger)
    change(ledger)
    assert ledger.state_root() == uncached_root(ledger)
    reordered = change is _reinsert_balance or change is _retype_halted
    assert (ledger.state_root() == before) == reordered


def test_an_epochs_bonds_that_empty_a_row_are_seen():
    """``set_bonds`` names only the rows that can change: the ones it writes and the ones
    that held bonds before (emptied now)."""
    ledger = _ledger_at_block(60)
    held = np.flatnonzero(ledger.bonds.any(axis=1))
    assert len(held) >= 2, "the scenario's epochs left bonds on several rows"
    ledger.state_root()
    kept = held[1:]  # the first row loses its bonds; a row that held none gains some
    fresh = int(np.flatnonzero(~ledger.bonds.any(axis=1))[0])
    rows = np.sort(np.append(kept, fresh))
    ledger.set_bonds(rows, np.full((len(rows), ledger.capacity), 7, dtype=np.int32))
    assert not ledger.bonds[held[0]].any()
    assert ledger.state_root() == uncached_root(ledger)
