"""``verify`` on a run in exact arithmetic: each epoch is recomputed the way it ran (its recorded
``arithmetic``, through ``chain.compute_epoch``), so an honest exact run verifies clean and a
forged exact epoch, even with every hash recomputed around it, is rejected."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from subnetsim.audit import recompute_epoch, verify_run
from subnetsim.run import run
from subnetsim.subnet.errors import VerificationError
from subnetsim.subnet.records import (
    EpochRecord,
    block_hash,
    contents_hash,
    epoch_to_data,
)
from subnetsim.subnet.scenario import apply_overrides, load_scenario
from subnetsim.subnet.store import RunStore
from subnetsim.subnet.store.state_codec import decode_state, encode_state
from subnetsim.world import CHECKPOINT_TYPES

SMALL = Path(__file__).resolve().parents[1] / "data" / "small.toml"
BLOCKS = 90


@pytest.fixture(scope="module")
def exact_store(tmp_path_factory) -> Path:
    """A recorded run of the small scenario with ``arithmetic = "exact"``."""
    path = tmp_path_factory.mktemp("exact") / "runs.db"
    scenario = apply_overrides(load_scenario(SMALL), ["arithmetic=exact"])
    with RunStore.open(path) as store:
        run(scenario, 3, blocks=BLOCKS, store=store)
    return path


def _epochs(path: Path) -> list[EpochRecord]:
    with RunStore.open(path, create=False) as store:
        return list(store.epochs(1))


def _forge_epoch(source: Path, target: Path, forged: EpochRecord) -> None:
    """Copy the store and replace one epoch's record, recomputing every hash from its block on
    (a forger who leaves the chain internally consistent: only recomputation can tell)."""
    target.write_bytes(source.read_bytes())
    with RunStore.open(target, create=False) as store:
        blocks = list(store.blocks(1))
        events: dict[int, list] = {}
        for event in store.events(1):
            events.setdefault(event.block, []).append(event)
        epochs = {e.block: e for e in store.epochs(1)}
    epochs[forged.block] = forged
    conn = sqlite3.connect(target)
    data = epoch_to_data(forged)
    conn.execute("UPDATE epochs SET params_json = ?, outputs_json = ? WHERE block = ?",
                 (json.dumps(data["params"]), json.dumps(data["outputs"]), forged.block))
    parent = blocks[forged.block - 2].hash
    for block in blocks[forged.block - 1:]:
        new = block_hash(block.number, block.time, parent, block.extrinsics_hash,
                         contents_hash(events.get(block.number, []), epochs.get(block.number)),
                         block.state_root)
        conn.execute("UPDATE blocks SET parent_hash = ?, hash = ? WHERE number = ?",
                     (parent, new, block.number))
        parent = new
    conn.execute("UPDATE runs SET head_hash = ?", (parent,))
    conn.commit()
    conn.close()


def test_an_exact_run_records_its_arithmetic_and_verifies_clean(exact_store):
    epochs = _epochs(exact_store)
    assert len(epochs) >= 3
    assert all(e.arithmetic == "exact" for e in epochs)
    with RunStore.open(exact_store, create=False) as store:
        report = verify_run(store, 1, recompute_epoch)
    assert report.epochs_checked == len(epochs)


def test_recomputing_an_exact_epoch_in_float_would_not_match(exact_store):
    """Why the dispatch matters: the float kernel misses the stored exact results by far more
    than verify's tolerance, so a float recompute would reject every honest exact run."""
    last = _epochs(exact_store)[-1]
    as_float = recompute_epoch(dataclasses.replace(last, arithmetic="float"))
    honest = recompute_epoch(last)
    assert np.array_equal(honest.dividends, last.dividends)
    assert np.abs(as_float.dividends - last.dividends).max() > 1e-10


def test_a_forged_exact_epoch_is_rejected(exact_store, tmp_path):
    last = _epochs(exact_store)[-1]
    miner = int(np.argmax(last.incentive))
    incentive = last.incentive.copy()
    incentive[miner] += 2.0**-32  # one I32F32 unit: the smallest change exact mode can store
    forged = dataclasses.replace(last, incentive=incentive)
    path = tmp_path / "forged.db"
    _forge_epoch(exact_store, path, forged)
    with RunStore.open(path, create=False) as store:
        verify_run(store, 1)  # the chain alone is consistent: the forger rehashed it
        with pytest.raises(VerificationError, match=r"field 'incentive' differs"):
            verify_run(store, 1, recompute_epoch)


def test_an_exact_epoch_relabelled_float_is_rejected(exact_store, tmp_path):
    """The recorded arithmetic is part of the hashed record; flipping it (and rehashing) makes
    verify recompute in float, which does not reproduce the exact results."""
    last = _epochs(exact_store)[-1]
    path = tmp_path / "relabelled.db"
    _forge_epoch(exact_store, path, dataclasses.replace(last, arithmetic="float"))
    with RunStore.open(path, create=False) as store, \
            pytest.raises(VerificationError, match=r"differs"):
        verify_run(store, 1, recompute_epoch)


def test_checkpoints_carry_an_exact_epochs_arithmetic_and_leave_float_ones_unchanged(
        exact_store):
    """A resumed exact run must keep recording "exact"; a float epoch's checkpoint bytes are
    those written before the field existed (no key), so old checkpoints still load."""
    last = _epochs(exact_store)[-1]
    blob = encode_state(last, CHECKPOINT_TYPES)
    assert decode_state(blob, CHECKPOINT_TYPES).arithmetic == "exact"
    as_float = encode_state(dataclasses.replace(last, arithmetic="float"), CHECKPOINT_TYPES)
    assert b"arithmetic" not in as_float
    assert decode_state(as_float, CHECKPOINT_TYPES).arithmetic == "float"
