"""verify_run: a good chain verifies; one changed byte anywhere in the chain is named."""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from pathlib import Path

import pytest

from subnetsim.audit import VerifyReport, recompute_epoch, verify_run
from subnetsim.subnet.errors import StoreError, VerificationError
from subnetsim.subnet.records import GENESIS_PARENT, EpochRecord
from subnetsim.subnet.store import RunStore
from tests.subnet.test_store import fill, new_run

BLOCKS = 12


@pytest.fixture
def recorded(tmp_path: Path):
    """A store with one 12-block run (epochs at blocks 4, 8, 12); yields (store, run_id, blocks)."""
    with RunStore.open(tmp_path / "runs.db") as store:
        run_id = new_run(store)
        yield store, run_id, fill(store, run_id, BLOCKS)


def honest(epoch: EpochRecord) -> EpochRecord:
    """The real recomputation (the chain's own epoch, payout and record code)."""
    return recompute_epoch(epoch)


def tamper(store: RunStore, sql: str, *params: object) -> None:
    """Edit the file behind the store's back, as an attacker (or a bad disk) would."""
    conn = sqlite3.connect(store.path)
    assert conn.execute(sql, params).rowcount == 1
    conn.commit()
    conn.close()


def flip(text: str, position: int) -> str:
    """``text`` with one (hex) character changed."""
    return text[:position] + ("1" if text[position] == "0" else "0") + text[position + 1:]


def test_a_good_chain_verifies(recorded):
    store, run_id, blocks = recorded
    report = verify_run(store, run_id, honest)
    assert report == VerifyReport(blocks_checked=BLOCKS, epochs_checked=3,
                                  digest=blocks[-1][0].hash, head_number=BLOCKS)
    assert report.digest == store.head(run_id).hash
    assert verify_run(store, run_id).epochs_checked == 0


def test_an_empty_run_verifies_to_the_genesis_digest(recorded):
    store, _, _ = recorded
    empty = new_run(store)
    assert verify_run(store, empty, honest) == VerifyReport(
        blocks_checked=0, epochs_checked=0, digest=GENESIS_PARENT)
    with pytest.raises(StoreError, match="no run 42"):
        verify_run(store, 42)


def test_one_changed_payload_byte_names_the_block(recorded):
    store, run_id, _ = recorded
    (payload,) = sqlite3.connect(store.path).execute(
        "SELECT payload_json FROM extrinsics WHERE block = 7 AND idx = 0").fetchone()
    position = payload.index("0.5")  # the weight 0.5 becomes 0.6
    tamper(store, "UPDATE extrinsics SET payload_json = ? WHERE block = 7 AND idx = 0",
           payload[:position + 2] + "6" + payload[position + 3:])
    with pytest.raises(VerificationError, match="^block 7: extrinsics hash mismatch$"):
        verify_run(store, run_id)


@pytest.mark.parametrize(("column", "block", "message"), [
    ("state_root", 5, "block 5: block hash mismatch"),
    ("hash", 5, "block 5: block hash mismatch"),
    ("parent_hash", 5, "block 5: parent hash is not its parent's hash"),
    ("extrinsics_hash", 9, "block 9: extrinsics hash mismatch"),
    ("parent_hash", 1, "block 1: parent hash is not the run's commitment"),
])
def test_one_changed_block_character_names_the_block(recorded, column, block, message):
    store, run_id, _ = recorded
    (value,) = sqlite3.connect(store.path).execute(
        f"SELECT {column} FROM blocks WHERE number = ?", (block,)).fetchone()
    tamper(store, f"UPDATE blocks SET {column} = ? WHERE number = ?", flip(value, 17), block)
    with pytest.raises(VerificationError, match=f"^{message}"):
        verify_run(store, run_id)


@pytest.mark.parametrize(("sql", "message"), [
    ("UPDATE extrinsics SET kind = 'add_stakf' WHERE block = 3 AND idx = 1",
     "block 3: extrinsics hash mismatch"),
    ("UPDATE extrinsics SET hotkey = 'hk8' WHERE block = 3 AND idx = 1",
     "block 3: extrinsics hash mismatch"),
    ("UPDATE extrinsics SET accepted = 1 WHERE block = 3 AND idx = 1",
     "block 3: extrinsics hash mismatch"),
    ("UPDATE extrinsics SET error = 'NotEnoughBalancf' WHERE block = 3 AND idx = 1",
     "block 3: extrinsics hash mismatch"),
    ("DELETE FROM extrinsics WHERE block = 3 AND idx = 1", "block 3: extrinsics hash mismatch"),
    ("UPDATE extrinsics SET payload_json = '{\"amount\":1.5,' WHERE block = 3 AND idx = 1",
     "block 3: run 1 block 3 extrinsic 1: stored JSON is corrupt"),
])
def test_any_changed_extrinsic_column_names_the_block(recorded, sql, message):
    store, run_id, _ = recorded
    tamper(store, sql)
    with pytest.raises(VerificationError, match=f"^{message}"):
        verify_run(store, run_id)


def test_a_removed_block_is_named(recorded):
    store, run_id, _ = recorded
    conn = sqlite3.connect(store.path)
    conn.execute("PRAGMA foreign_keys = OFF")  # an attacker need not respect them
    assert conn.execute("DELETE FROM blocks WHERE number = 6").rowcount == 1
    conn.commit()
    conn.close()
    with pytest.raises(VerificationError, match=r"^block 7: follows block 5 \(blocks missing\)"):
        verify_run(store, run_id)


def test_an_epoch_whose_recomputation_differs_is_named(recorded):
    store, run_id, _ = recorded

    def drifting(epoch: EpochRecord) -> EpochRecord:
        fresh = honest(epoch)
        if epoch.index == 2:
            dividends = fresh.dividends.copy()
            dividends[3] += 1e-9
            fresh = dataclasses.replace(fresh, dividends=dividends)
        return fresh

    with pytest.raises(VerificationError,
                       match=r"^epoch 2 \(block 8\): field 'dividends' differs by 1e-09"):
        verify_run(store, run_id, drifting)


def test_epoch_differences_within_tolerance_pass(recorded):
    store, run_id, _ = recorded

    def jittery(epoch: EpochRecord) -> EpochRecord:
        fresh = honest(epoch)
        return dataclasses.replace(fresh, incentive=fresh.incentive + 5e-13,
                                   stake=fresh.stake + 5e-13)

    assert verify_run(store, run_id, jittery).epochs_checked == 3


@pytest.mark.parametrize(("fake", "message"), [
    (lambda e: dataclasses.replace(honest(e), incentive=[math.nan] * 4),
     "field 'incentive' differs by nan"),
    (lambda e: dataclasses.replace(honest(e), incentive=[0.0] * 5),
     r"field 'incentive' has shape \(4,\)"),
    (lambda e: dataclasses.replace(honest(e), incentive_tao=honest(e).incentive_tao * 2),
     "field 'incentive_tao' differs"),
])
def test_bad_recomputations_are_named(recorded, fake, message):
    store, run_id, _ = recorded
    with pytest.raises(VerificationError, match=r"^epoch 1 \(block 4\): " + message):
        verify_run(store, run_id, fake)


def test_a_corrupt_epoch_row_fails_verification(recorded):
    store, run_id, _ = recorded
    tamper(store, "UPDATE epochs SET outputs_json = '{' WHERE epoch_index = 2")
    with pytest.raises(VerificationError, match="run 1 epoch 2 outputs: stored JSON is corrupt"):
        verify_run(store, run_id, honest)


def test_an_edited_event_breaks_the_chain_at_its_block(recorded):
    store, run_id, _ = recorded
    verify_run(store, run_id)
    tamper(store, "UPDATE events SET data_json = '{\"n\":70}' WHERE block = 7 AND seq = 0")
    with pytest.raises(VerificationError, match="block 7: block hash mismatch"):
        verify_run(store, run_id)


def test_an_epoch_record_edited_consistently_still_breaks_the_chain(recorded):
    # Inputs and outputs changed together would pass recomputation; the block hash catches it.
    store, run_id, _ = recorded
    tamper(store, "UPDATE epochs SET params_json = '{\"kappa\":0.6}' WHERE epoch_index = 2")
    with pytest.raises(VerificationError, match="block 8: block hash mismatch"):
        verify_run(store, run_id)
