"""Exact mode (``arithmetic = "exact"``, ``subnet/yuma_exact.py``) against subtensor's own epoch
tests: every vector of tests/golden/yuma_subtensor.json, bit for bit.

No tolerance anywhere except where the golden file itself only holds rounded decimals (the
Yuma3 ``port_*`` lists are given to 4 decimals, so the exact u16 value must round to them).
That includes the full ``test_bonds`` matrices, whose one-u16-per-epoch drift the float path
can only tolerate (docs/yuma.md 2.14.6): the chain re-normalises floored u16 bonds in I32F32,
and so does exact mode.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from subnetsim.subnet import fixed_point as fx
from subnetsim.subnet.yuma_exact import weighted_median_columns
from tests.consensus.chain_replay import ReplayChain, load_vectors, params_from_vector
from tests.consensus.test_yuma_vectors import TEST_BONDS_ACTIONS, YUMA3_IDS

VECTORS = load_vectors()
U16 = 65535


def exact_u16_of(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def test_10_graph_exact():
    vector = VECTORS["test_10_graph"]
    inputs, expected = vector["inputs"], vector["expected"]
    chain = ReplayChain(stake=inputs["stake"], params=params_from_vector(inputs))
    for uid, entries in inputs["weights_u16"].items():
        chain.set_weights(int(uid), [tuple(e) for e in entries], block=inputs["current_block"])
    out = chain.run_exact_epoch(block=inputs["current_block"])
    _, _, emission = out.emission_rao(inputs["rao_emission"])
    assert emission.tolist() == expected["emission"]
    assert out.incentive_u16.tolist() == expected["incentive_u16"]
    assert out.dividends_u16.tolist() == expected["dividends_u16"]
    assert out.consensus_u16.tolist() == expected["consensus_u16"]


def test_512_graph_exact():
    vector = VECTORS["test_512_graph"]
    inputs, expected = vector["inputs"], vector["expected"]
    n, validators = inputs["n"], 64
    # The test's stakes are rao; the replay chain's stake is TAO (exact mode converts back).
    tao = inputs["stake"]["uids_0_63"] / 1e9
    stake = [tao] * validators + [0] * (n - validators)
    chain = ReplayChain(stake=stake, params=params_from_vector(inputs))
    chain.run_exact_epoch(block=0)
    servers = list(range(validators, n))
    weight = inputs["weights_u16"]["each_validator_to_each_server"]
    for uid in range(validators):
        chain.set_weights(uid, [(s, weight) for s in servers], block=inputs["current_block"])
    for _ in range(inputs["epochs_after_permit_epoch"]):
        out = chain.run_exact_epoch(block=inputs["current_block"])
    _, _, emission = out.emission_rao(inputs["rao_emission"])
    for group, uids in (("validator", list(range(validators))), ("server", servers)):
        want = expected[group]
        assert set(out.dividends_u16[uids].tolist()) == {want["dividends_u16"]}
        assert set(out.consensus_u16[uids].tolist()) == {want["consensus_u16"]}
        assert set(out.incentive_u16[uids].tolist()) == {want["incentive_u16"]}
        assert set(emission[uids].tolist()) == {want["emission"]}
    val = expected["validator"]
    assert (chain.bonds[:validators][:, servers] == val["bond_to_any_server_u16"]).all()
    assert (chain.bonds[:validators][:, :validators] == val["bond_to_validator_u16"]).all()


def test_bonds_exact_every_entry_every_epoch():
    vector = VECTORS["test_bonds"]
    inputs = vector["inputs"]
    chain = ReplayChain(stake=inputs["stake"], params=params_from_vector(inputs), tempo=1)
    chain.run_exact_epoch(block=0)
    for step in vector["epochs"]:
        for uid, entries in TEST_BONDS_ACTIONS.get(step["epoch"], []):
            chain.set_weights(uid, entries, block=step["block"])
        out = chain.run_exact_epoch(block=step["block"])
        expected_bonds = np.zeros((8, 8), dtype=np.int64)
        for row, entries in enumerate(step["port_bonds_full"]):
            for uid, value in entries:
                expected_bonds[row, uid] = value
        assert (chain.bonds == expected_bonds).all(), (step["epoch"], chain.bonds)
        asserted = step["expected_bonds_u16_asserted"]
        if asserted:
            column = chain.bonds[:4, asserted["column_uid"]]
            assert column.tolist() == asserted["rows_uid0_3"]
        assert out.dividends_u16.tolist() == step["port_dividends_u16"]
        assert out.incentive_u16.tolist() == step["port_incentive_u16"]
        _, _, emission = out.emission_rao(inputs["rao_emission"])
        assert emission.tolist() == step["port_emission"]
        assert emission.tolist() == step["expected_emission_from_log_comment"]


def test_active_stake_exact():
    vector = VECTORS["test_active_stake"]
    inputs = vector["inputs"]
    chain = ReplayChain(stake=inputs["stake"], params=params_from_vector(inputs), tempo=1)
    chain.run_exact_epoch(block=0)
    entries = [tuple(e) for e in inputs["weights_u16_each_validator"]]
    for step in vector["epochs"]:
        for uid in inputs["validators"]:
            if chain.last_update[uid] != step["last_update"][uid]:
                chain.set_weights(uid, entries, block=step["last_update"][uid])
        out = chain.run_exact_epoch(block=step["block"])
        _, _, emission = out.emission_rao(inputs["rao_emission"])
        expected = step["expected"]
        for uid, value in expected["dividends_u16"].items():
            assert out.dividends_u16[int(uid)] == value, step["label"]
        listed = expected["emission"]
        pairs = listed.items() if isinstance(listed, dict) else enumerate(listed)
        for uid, value in pairs:
            assert emission[int(uid)] == value, (step["label"], uid)
        for row, columns in expected["bonds_u16"].items():
            for column, value in columns.items():
                assert chain.bonds[int(row), int(column)] == value, (step["label"], row)
        port = vector["port_outputs"][step["label"]]
        assert out.dividends_u16.tolist() == port["dividends"]
        assert emission.tolist() == port["emission"]
        for row, row_entries in enumerate(port["bonds"]):
            stored = {int(j): int(chain.bonds[row, j]) for j in np.flatnonzero(chain.bonds[row])}
            assert stored == {j: value for j, value in row_entries}, (step["label"], row)


def rounds_to(values: np.ndarray, listed) -> bool:
    """The exact value rounds to the golden file's 4-decimal figure."""
    return bool(np.all(np.abs(np.asarray(values) - np.asarray(listed)) <= 5e-5 + 1e-12))


@pytest.mark.parametrize("vector_id", YUMA3_IDS)
def test_yuma3_vectors_exact(vector_id):
    vector = VECTORS[vector_id]
    inputs = vector["inputs"]
    servers = inputs["servers"]
    validators = list(range(inputs["n_validators"]))
    chain = ReplayChain(stake=inputs["stake"], params=params_from_vector(inputs), tempo=1)
    chain.run_exact_epoch(block=1)
    reset = inputs.get("bonds_reset")
    for step in vector["epochs"]:
        block = 1 + step["epoch"]
        rows = step["weights_u16_set_before_epoch"] or []
        for uid, row in zip(validators[: len(rows)], rows, strict=True):
            chain.set_weights(uid, list(zip(servers, row, strict=True)), block=block)
        if reset and reset["before_epoch"] == step["epoch"]:
            chain.pending_reset.append(reset["miner_uid"])
        out = chain.run_exact_epoch(block=block + 1)
        label = f"{vector_id} epoch {step['epoch']}"
        dividends = out.dividends_u16 / U16
        asserted = step.get("expected_dividends_asserted_tol_1e-3")
        if asserted is not None:
            assert np.allclose(dividends, asserted, atol=1e-3), label
        assert rounds_to(dividends, step["port_dividends"]), (label, dividends)
        assert rounds_to(out.incentive_u16 / U16, step["port_incentive"]), label
        assert rounds_to(out.consensus_u16 / U16, step["port_consensus"]), label
        bonds = chain.bonds[np.ix_(validators, servers)] / U16
        assert rounds_to(bonds, step["port_bonds"]), (label, bonds)


def fixed_from_f32(value: float) -> int:
    """``I32F32::from_num(f32)``: the f32's exact value, rounded to nearest, ties to even."""
    exact = Fraction(float(np.float32(value))) * fx.ONE
    return round(exact)


def test_weighted_median_vectors_exact():
    for case in VECTORS["math_weighted_median"]["cases"]:
        stake = np.array([fixed_from_f32(s) for s in case["stake"]], dtype=np.int64)
        if "score" in case:  # weighted_median(stake, score, minority = 1 - majority)
            if len(stake) == 1:
                stake = fx.normalize_last(stake)
            scores = np.array([[fixed_from_f32(s)] for s in case["score"]], dtype=np.int64)
            minority = fx.ONE - fixed_from_f32(case["majority_kappa"])
            expected = [case["expected_median"]]
        else:  # weighted_median_col: positive stakes renormalised, minority = sum - kappa
            rows = np.array([[fixed_from_f32(w) for w in row]
                             for row in case["weights_rows_validators"]], dtype=np.int64)
            voting = stake > 0
            stake, scores = fx.normalize_last(stake[voting]), rows[voting]
            minority = int(stake.sum()) - fixed_from_f32(case["kappa"])
            expected = case["expected_consensus_per_column"]
        median = weighted_median_columns(scores, stake, minority)
        want = [fixed_from_f32(value) for value in expected]
        assert median.tolist() == want, case
