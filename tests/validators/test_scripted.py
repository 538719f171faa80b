"""Scripted validators: a fixed validator reuses its row, and only while what the row is
computed from is unchanged."""

from __future__ import annotations

import numpy as np
import simpy

from subnetsim.subnet.chain import Chain
from subnetsim.subnet.emission import EmissionRules
from subnetsim.subnet.extrinsics import SetWeights
from subnetsim.validators.scripted import ScriptedValidator
from tests.subnet.conftest import build_ledger


def _submitted_rows(validator: ScriptedValidator, steps: list) -> list[tuple]:
    """The (uids, weights) each step sends to a chain (commit-reveal off: set_weights)."""
    chain = Chain(simpy.Environment(), build_ledger(), EmissionRules())
    rows = []
    for change in steps:
        change(validator)
        validator.step(chain)
        call = chain._mempool.pop()[0]  # noqa: SLF001 - what the step submitted
        assert isinstance(call, SetWeights)
        rows.append((call.uids, call.weights))
    return rows


def _recomputed(validator: ScriptedValidator) -> tuple:
    """The row from scratch: the belief on the miners (plus the burn), max-scaled."""
    uids, weights = validator.miner_uids, validator.belief[list(validator.miner_uids)]
    if validator.burn_uid is not None and validator.burn_share > 0:
        weights = weights / weights.sum() * (1 - validator.burn_share)
        uids, weights = (*uids, validator.burn_uid), np.append(weights, validator.burn_share)
    return uids, tuple((weights / weights.max()).tolist())


def test_a_fixed_row_follows_its_belief_miners_and_burn():
    validator = ScriptedValidator.for_uid(uid=0, hotkey="val-0", coldkey="cold-0",
                                          behaviour="fixed", seed=3, capacity=8,
                                          miner_uids=(2, 3, 4, 5))
    expected = []

    def keep(v):
        expected.append(_recomputed(v))

    def rewrite_belief(v):  # as a staged cabal does: in place
        v.belief[:] = 0.0
        v.belief[[3, 4]] = 1.0
        keep(v)

    def burn(v):
        v.burn_uid, v.burn_share = 7, 0.25
        keep(v)

    def fewer_miners(v):
        v.miner_uids = (2, 3)
        keep(v)

    rows = _submitted_rows(validator, [keep, keep, rewrite_belief, keep, burn, fewer_miners])
    assert rows == expected
    assert len(set(rows)) == 4
