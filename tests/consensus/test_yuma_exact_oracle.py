"""The vectorised fixed-point code (``subnet/fixed_point.py``, ``subnet/yuma_exact.py``) against
the slow scalar port in ``tests/consensus/fixed_point_oracle.py``: identical integers."""

from __future__ import annotations

import numpy as np
import pytest

from subnetsim.subnet import fixed_point as fx
from subnetsim.subnet.yuma import EpochInputs, YumaParams
from subnetsim.subnet.yuma_exact import epoch_exact
from tests.consensus import fixed_point_oracle as oracle

RNG = np.random.default_rng(20261127)


def test_multiply_divide_and_exp_match_the_scalar_port():
    magnitudes = [1 << 20, 1 << 33, 1 << 40, 1 << 50]
    for scale in magnitudes:
        a = RNG.integers(-scale, scale, 400)
        b = RNG.integers(-(1 << 33), 1 << 33, 400)
        b[::50] = 0
        pairs = list(zip(a.tolist(), b.tolist(), strict=True))
        assert fx.mul(a, b).tolist() == [oracle.mul(x, y) for x, y in pairs]
        expected = [oracle.div(int(x), int(y)) for x, y in zip(a, b, strict=True)]
        assert fx.div(a, b).tolist() == expected, scale
        positive = np.abs(a)
        assert fx.div(positive, np.abs(b)).tolist() == [
            oracle.div(int(x), int(y)) for x, y in zip(positive, np.abs(b), strict=True)]
    arguments = np.concatenate([RNG.integers(-21 * fx.ONE, 21 * fx.ONE, 2000),
                                [0, fx.ONE, -fx.ONE, 20 * fx.ONE, -20 * fx.ONE, 5, -5]])
    assert fx.exp(arguments).tolist() == [oracle.exp(int(x)) for x in arguments]


def test_the_fast_paths_match_the_scalar_port():
    """The shapes the epoch uses: a matrix over its column sums (one of them 0), a scalar over
    a vector, u16 storage read through the proportion table and narrowed by one product."""
    matrix = RNG.integers(0, fx.ONE + 1, (7, 9))
    matrix[:, 3] = 0
    sums = matrix.sum(axis=0, keepdims=True)
    assert fx.div(matrix, sums).tolist() == [
        [oracle.div(int(x), int(total)) for x, total in zip(row, sums[0], strict=True)]
        for row in matrix]
    vector = RNG.integers(1, 1 << 40, 50)
    assert fx.div(fx.ONE, vector).tolist() == [oracle.div(fx.ONE, int(y)) for y in vector]
    stored = np.concatenate([np.arange(0, 65536, 97), [65535, 1, 0]])  # > 256: the table
    assert fx.u16_proportion(stored).tolist() == [
        oracle.div(int(x) << 32, oracle.U16 << 32) for x in stored]
    bits = np.concatenate([RNG.integers(-fx.ONE, 2 * fx.ONE, 500),
                           [0, -1, fx.ONE - 1, fx.ONE, fx.ONE + 1, 1 << 50]])
    assert fx.fixed_proportion_to_u16(bits).tolist() == [oracle.to_u16(int(x)) for x in bits]


def random_case(seed: int, yuma3: bool, liquid: bool) -> dict:
    rng = np.random.default_rng(seed)
    n, v = 12, 5
    stake = [int(s) for s in rng.integers(1, 10**12, v)] + [0] * (n - v)
    if seed % 3 == 0:
        stake[0] = 40 * sum(stake[1:v])  # one validator holds most of the stake
    rows, bonds = {}, {}
    for i in range(v):
        targets = sorted(int(j) for j in rng.choice(n, rng.integers(3, n), replace=False))
        values = rng.integers(0, 65536, len(targets))
        values[rng.random(len(targets)) < 0.15] = 0  # explicit zeros
        peak = max(int(values.max()), 1)
        scaled = [int(round(int(w) * 65535 / peak)) for w in values]
        rows[i] = list(zip(targets, scaled, strict=True))
        bonded = sorted(int(j) for j in rng.choice(n, rng.integers(0, n), replace=False))
        bonds[i] = [(j, int(rng.integers(0, 65536))) for j in bonded]
    return {
        "n": n, "rows": rows, "bonds": bonds, "stake_rao": stake,
        "permit": [i < v and (i != 3 or seed % 2 == 0) for i in range(n)],
        "last_update": [int(b) for b in rng.integers(900, 1000, n)],
        "registered": [int(b) for b in rng.integers(0, 990, n)], "block": 1000,
        "recent": 985, "activity_cutoff": 5000, "max_validators": 4,
        "kappa_u16": 32767, "bonds_moving_average": 900_000, "yuma3": yuma3, "liquid": liquid,
        "alpha_low_u16": 6553, "alpha_high_u16": 19660, "steepness": 1000,
    }


def inputs_of(case: dict) -> tuple[EpochInputs, YumaParams]:
    n = case["n"]
    weights, weight_set, bonds = np.zeros((n, n)), np.zeros((n, n), bool), np.zeros((n, n))
    for i, row in case["rows"].items():
        for j, w in row:
            weights[i, j], weight_set[i, j] = w, True
    for i, row in case["bonds"].items():
        for j, b in row:
            bonds[i, j] = b
    inputs = EpochInputs(
        stake=np.array(case["stake_rao"]) / 1e9, weights=weights / 65535, weight_set=weight_set,
        bonds=bonds / 65535, validator_uids=np.arange(n), validator_permit=case["permit"],
        last_update=case["last_update"], block_at_registration=case["registered"],
        current_block=case["block"], recent_registration_block=case["recent"])
    params = YumaParams(kappa=case["kappa_u16"] / 65535, yuma3_enabled=case["yuma3"],
                        liquid_alpha_enabled=case["liquid"], alpha_low=6553 / 65535,
                        alpha_high=19660 / 65535, max_allowed_validators=case["max_validators"],
                        commit_reveal_weights_enabled=False)
    return inputs, params


@pytest.mark.parametrize(("yuma3", "liquid"), [(False, False), (True, False), (True, True)],
                         ids=["classic", "yuma3", "yuma3-liquid"])
def test_exact_epoch_matches_the_scalar_port(yuma3, liquid):
    for seed in range(12):
        case = random_case(seed, yuma3, liquid)
        want = oracle.epoch(case)
        got = epoch_exact(*inputs_of(case))
        assert got.incentive_u16.tolist() == want["incentive"], seed
        assert got.dividends_u16.tolist() == want["dividends"], seed
        assert got.consensus_u16.tolist() == want["consensus"], seed
        assert got.validator_trust_u16.tolist() == want["trust"], seed
        stored = {int(i): {int(j): int(got.bonds_u16[i, j]) for j in np.flatnonzero(row)}
                  for i, row in enumerate(got.bonds_u16) if got.outputs.validator_permit[i]}
        expected = {i: {j: b for j, b in row.items() if b} for i, row in want["bonds"].items()}
        assert stored == expected, seed
