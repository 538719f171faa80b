"""Properties of one Yuma epoch that hold for every valid input (Hypothesis).

They complement the oracle test: the oracle checks the numbers against a second implementation,
these check invariants that neither implementation could get wrong in the same way (shares sum
to 1, outputs are in range, relabelling uids or rescaling stake changes nothing).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from subnetsim.subnet.yuma import EpochInputs, EpochOutputs, YumaParams, epoch
from tests.consensus.reference_yuma import masked_weights
from tests.strategies import epoch_cases, permit_boundary_tie

ATOL = 1e-9
EXAMPLES = 200
UID_VECTORS = (
    "incentive",
    "dividends",
    "consensus",
    "validator_trust",
    "emission",
    "server_emission",
    "validator_emission",
    "validator_permit",
    "active",
    "active_stake",
)


def thresholded_stake(inputs: EpochInputs, params: YumaParams) -> np.ndarray:
    """Stake after the stake threshold (spec 2.2; the owner is exempt)."""
    uids = np.arange(inputs.n)
    below = (inputs.stake < params.stake_threshold) & (uids != inputs.owner_uid)
    return np.where(below, 0.0, inputs.stake)


def participating_rows(inputs: EpochInputs, params: YumaParams) -> list[int]:
    """Rows whose validator has active stake: active, previously permitted, staked (2.4)."""
    stake = thresholded_stake(inputs, params)
    active = inputs.last_update + params.activity_cutoff >= inputs.current_block
    return [
        r
        for r, uid in enumerate(inputs.validator_uids)
        if active[uid] and inputs.validator_permit[uid] and stake[uid] > 0
    ]


def assert_share(values: np.ndarray, what: str) -> None:
    """Non-negative and summing to 1, or all zero."""
    assert (values >= 0).all(), (what, values)
    total = values.sum()
    assert total == 0 or abs(total - 1) <= ATOL, (what, total)


@settings(max_examples=EXAMPLES, deadline=None)
@given(case=epoch_cases(min_rows=0))
def test_shares_and_ranges(case):
    inputs, params = case
    out = epoch(inputs, params)
    assert_share(out.incentive, "incentive")
    assert_share(out.dividends, "dividends")
    assert_share(out.active_stake, "active_stake")
    for name in ("emission", "server_emission", "validator_emission"):
        assert (getattr(out, name) >= 0).all(), name
    # The miner and validator parts make up the combined share (also in the zero fallback,
    # where the server part is 0 and the validator part is the fallback itself).
    total = out.server_emission + out.validator_emission
    assert np.allclose(total, out.emission, rtol=0.0, atol=ATOL)
    # Emission sums to 1 exactly when some stake survives the threshold (2.11 fallback).
    staked = thresholded_stake(inputs, params).sum() > 0
    event("some stake" if staked else "no stake after threshold")
    assert abs(out.emission.sum() - (1.0 if staked else 0.0)) <= ATOL
    assert ((out.bonds >= 0) & (out.bonds <= 1 + ATOL)).all(), out.bonds
    assert ((out.validator_trust >= 0) & (out.validator_trust <= 1 + ATOL)).all()
    assert ((out.consensus >= 0) & (out.consensus <= 1 + ATOL)).all()
    # New permits: at most k by stake, plus the owner, who always holds one (2.3).
    owner_extra = inputs.owner_uid is not None
    assert out.validator_permit.sum() <= params.max_allowed_validators + owner_extra
    if inputs.owner_uid is not None:
        assert out.validator_permit[inputs.owner_uid]
    # Bond rows of uids without a new permit are stored empty (2.10).
    for r, uid in enumerate(inputs.validator_uids):
        if not out.validator_permit[uid]:
            assert not out.bonds[r].any(), (uid, out.bonds[r])
    # Only previously permitted, active uids hold active stake (2.4).
    assert not out.active_stake[~(inputs.validator_permit & out.active)].any()


@settings(max_examples=EXAMPLES, deadline=None)
@given(case=epoch_cases())
def test_consensus_is_a_weight_of_its_column(case):
    """c_j never exceeds the largest weight participating rows put on j, and it is one of
    those weights (or 0): the weighted median picks a value, it never interpolates (2.6)."""
    inputs, params = case
    out = epoch(inputs, params)
    weights = masked_weights(inputs, params)  # row-normalised, after every mask (2.5)
    rows = participating_rows(inputs, params)
    event("participating rows" if rows else "no participating row")
    for j in range(inputs.n):
        column = [weights[r].get(j, 0.0) for r in rows]
        assert out.consensus[j] <= max(column, default=0.0) + ATOL, (j, column)
        candidates = [0.0, *column]
        assert min(abs(out.consensus[j] - value) for value in candidates) <= ATOL, (j, column)


# --- relabelling uids ------------------------------------------------------------------------


def relabel(inputs: EpochInputs, perm: list[int]) -> tuple[EpochInputs, np.ndarray]:
    """The same subnet with uid ``u`` renamed ``perm[u]``. Rows stay sorted by uid, as
    EpochInputs requires, so they are reordered too. Returns the inputs and the row order
    (new row ``r`` is old row ``order[r]``)."""
    perm_array = np.array(perm, dtype=np.int64)

    def uid_vector(values: np.ndarray) -> np.ndarray:
        out = np.empty_like(values)
        out[perm_array] = values
        return out

    def row_matrix(values: np.ndarray, order: np.ndarray) -> np.ndarray:
        out = np.empty_like(values)
        out[:, perm_array] = values
        return out[order]

    new_rows = perm_array[inputs.validator_uids]
    order = np.argsort(new_rows, kind="stable")
    relabelled = EpochInputs(
        stake=uid_vector(inputs.stake),
        weights=row_matrix(inputs.weights, order),
        bonds=row_matrix(inputs.bonds, order),
        validator_uids=new_rows[order],
        validator_permit=uid_vector(inputs.validator_permit),
        last_update=uid_vector(inputs.last_update),
        block_at_registration=uid_vector(inputs.block_at_registration),
        current_block=inputs.current_block,
        recent_registration_block=inputs.recent_registration_block,
        weight_set=row_matrix(inputs.weight_set, order),
        commit_block=inputs.commit_block[order],
        owner_uid=None if inputs.owner_uid is None else perm[inputs.owner_uid],
        reset_bond_uids=tuple(perm[uid] for uid in inputs.reset_bond_uids),
    )
    return relabelled, order


def assert_relabelled(out: EpochOutputs, new: EpochOutputs, perm: list[int], order) -> None:
    for name in UID_VECTORS:
        before, after = getattr(out, name), getattr(new, name)[perm]  # new uid perm[u] is old u
        if before.dtype == bool:
            assert np.array_equal(before, after), (name, before, after)
        else:
            assert np.allclose(before, after, rtol=0.0, atol=ATOL), (name, before, after)
    bonds = new.bonds[:, perm]  # columns back in old uid order; rows in new order
    assert np.allclose(out.bonds[order], bonds, rtol=0.0, atol=ATOL), (out.bonds, new.bonds)


@settings(max_examples=EXAMPLES, deadline=None)
@given(case=epoch_cases(min_rows=0), data=st.data())
def test_relabelling_uids_permutes_the_outputs(case, data):
    inputs, params = case
    perm = data.draw(st.permutations(range(inputs.n)), label="perm")
    if permit_boundary_tie(inputs, params):
        # The only place uid *order* (not identity) enters an epoch: equal stakes at the top-k
        # boundary go to the higher uid (2.3), so relabelling may move the permit to another
        # validator. Without that tie (or with k >= n) permits are a function of stake alone;
        # here k = n keeps every non-zero stake and removes the tie from the question.
        event("tie at the permit boundary: k raised to n")
        params = dataclasses.replace(params, max_allowed_validators=inputs.n)
    relabelled, order = relabel(inputs, perm)
    note(f"perm={perm}")
    assert_relabelled(epoch(inputs, params), epoch(relabelled, params), perm, order)


def test_relabelling_moves_a_tied_permit():
    # Why the property above sidesteps boundary ties: the tie goes to the higher uid, which is
    # a different validator once the uids are reversed.
    inputs = EpochInputs(
        stake=np.array([1.0, 1.0, 0.0]),
        weights=np.zeros((0, 3)),
        bonds=np.zeros((0, 3)),
        validator_uids=np.zeros(0, dtype=np.int64),
        validator_permit=np.ones(3, dtype=bool),
        last_update=np.full(3, 1000),
        block_at_registration=np.zeros(3, dtype=np.int64),
        current_block=1000,
        recent_registration_block=900,
    )
    params = YumaParams(max_allowed_validators=1)
    relabelled, _ = relabel(inputs, [1, 0, 2])  # swap uids 0 and 1
    assert epoch(inputs, params).validator_permit.tolist() == [False, True, False]
    # The permit stays with uid 1, which is now the validator that used to be uid 0.
    assert epoch(relabelled, params).validator_permit.tolist() == [False, True, False]


# --- rescaling stake ------------------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    case=epoch_cases(min_rows=0),
    factor=st.one_of(
        st.sampled_from([2.0, 0.5, 3.0, 1000.0, 1e-3]), st.floats(1e-3, 1e3, allow_nan=False)
    ),
)
def test_scaling_stake_changes_nothing(case, factor):
    """Only stake *proportions* matter (2.2 normalises first); the threshold is in TAO, so it
    scales with the stake."""
    inputs, params = case
    scaled = dataclasses.replace(inputs, stake=inputs.stake * factor)
    scaled_params = dataclasses.replace(params, stake_threshold=params.stake_threshold * factor)
    out, new = epoch(inputs, params), epoch(scaled, scaled_params)
    for field in dataclasses.fields(EpochOutputs):
        before, after = getattr(out, field.name), getattr(new, field.name)
        if before.dtype == bool:
            assert np.array_equal(before, after), field.name
        else:
            assert np.allclose(before, after, rtol=0.0, atol=ATOL), (field.name, before, after)
