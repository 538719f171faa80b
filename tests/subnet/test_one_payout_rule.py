"""The epoch payout is one function (``emission.settle_epoch``): the chain pays with it, and
``verify`` and the sweep fast path recompute with it. A change planted in it moves the run's
digest and makes ``verify`` reject a store recorded before the change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from subnetsim.audit import recompute_epoch, verify_run
from subnetsim.run import run
from subnetsim.subnet import emission
from subnetsim.subnet.errors import VerificationError
from subnetsim.subnet.scenario import load_scenario
from subnetsim.subnet.store import RunStore
from subnetsim.sweep.replay import replay_epochs
from subnetsim.sweep.task import record_run

SMALL = Path(__file__).resolve().parents[1] / "data" / "small.toml"
BLOCKS = 120


def _planted(original):
    """The payout with 1% of the miners' pool withheld: a small, plausible bug."""
    def split(pending, server_share, validator_share):
        miners, validators = original(pending, server_share, validator_share)
        return miners * 0.99, validators
    return split


def test_a_change_in_the_payout_moves_the_digest_and_verify_sees_it(tmp_path, monkeypatch):
    scenario = load_scenario(SMALL)
    with RunStore.open(tmp_path / "before.db") as store:
        before = run(scenario, 3, blocks=BLOCKS, store=store)
        assert verify_run(store, 1, recompute_epoch).epochs_checked > 0

    monkeypatch.setattr(emission, "_split_pools", _planted(emission._split_pools))
    after = run(scenario, 3, blocks=BLOCKS)
    assert after.digest != before.digest
    with RunStore.open(tmp_path / "before.db", create=False) as store, \
            pytest.raises(VerificationError, match=r"field '(stake|incentive_tao)' differs"):
        verify_run(store, 1, recompute_epoch)


def test_the_fast_path_replays_the_base_setting_to_what_the_chain_paid(monkeypatch):
    recording = record_run(load_scenario(SMALL), 3, BLOCKS, keep_inputs=True)
    base = recording.snapshots[0].record.params
    (replayed,) = replay_epochs(recording.snapshots, [base])
    for snapshot, again in zip(recording.snapshots, replayed, strict=True):
        np.testing.assert_allclose(again.outputs["incentive_tao"],
                                   snapshot.outputs["incentive_tao"], rtol=0, atol=1e-12)
    monkeypatch.setattr(emission, "_split_pools", _planted(emission._split_pools))
    (planted,) = replay_epochs(recording.snapshots, [base])
    paid = [s.outputs["incentive_tao"].sum() for s in recording.snapshots]
    assert any(p.outputs["incentive_tao"].sum() < total - 1e-9
               for p, total in zip(planted, paid, strict=True))
