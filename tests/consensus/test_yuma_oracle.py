"""``subnet.yuma`` against the slow loop-based reference (DESIGN.md rule 8).

The reference (tests/consensus/reference_yuma.py) is written from the spec, not from the code;
every output field must agree within 1e-9 (booleans exactly) on every generated epoch. The
explicit examples pin the edge cases so they run on every invocation, whatever Hypothesis draws.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import event, example, given, note, settings
from hypothesis import strategies as st

from subnetsim.subnet.consensus import MEDIAN_TOLERANCE
from subnetsim.subnet.yuma import (
    NO_COMMIT,
    EpochInputs,
    EpochOutputs,
    YumaParams,
    epoch,
    epoch_batch,
)
from tests.consensus.reference_yuma import MEDIAN_RELATIVE_MARGIN, reference_epoch
from tests.strategies import epoch_cases, epoch_inputs, permit_boundary_tie, yuma_params

ATOL = 1e-9
FLOAT_FIELDS = (
    "consensus",
    "incentive",
    "dividends",
    "validator_trust",
    "bonds",
    "emission",
    "server_emission",
    "validator_emission",
    "active_stake",
)
BOOL_FIELDS = ("validator_permit", "active")


def make_inputs(
    stake,
    rows: dict[int, dict[int, float]],
    *,
    permit=None,
    last_update=None,
    registered=None,
    bonds: dict[int, dict[int, float]] | None = None,
    commit: dict[int, int] | None = None,
    current_block: int = 1000,
    recent_registration_block: int = 900,
    owner_uid: int | None = None,
    reset_bond_uids: tuple[int, ...] = (),
) -> EpochInputs:
    """Compact inputs for hand-written examples: ``rows`` maps a validator uid to its sparse
    weights ``{uid: weight}``; an entry of 0.0 is an explicit zero."""
    n = len(stake)
    uids = sorted(rows)
    weights = np.zeros((len(uids), n))
    weight_set = np.zeros((len(uids), n), dtype=bool)
    stored_bonds = np.zeros((len(uids), n))
    for r, uid in enumerate(uids):
        for j, value in rows[uid].items():
            weights[r, j], weight_set[r, j] = value, True
        for j, value in (bonds or {}).get(uid, {}).items():
            stored_bonds[r, j] = value
    return EpochInputs(
        stake=np.asarray(stake, dtype=float),
        weights=weights,
        bonds=stored_bonds,
        validator_uids=np.array(uids, dtype=np.int64),
        validator_permit=np.ones(n, dtype=bool) if permit is None else np.asarray(permit),
        last_update=np.full(n, 990) if last_update is None else np.asarray(last_update),
        block_at_registration=np.zeros(n) if registered is None else np.asarray(registered),
        current_block=current_block,
        recent_registration_block=recent_registration_block,
        weight_set=weight_set,
        commit_block=np.array([(commit or {}).get(uid, NO_COMMIT) for uid in uids]),
        owner_uid=owner_uid,
        reset_bond_uids=reset_bond_uids,
    )


Y3 = YumaParams(yuma3_enabled=True, bonds_moving_avg=0.975, alpha_low=0.1, alpha_high=0.3)
CLASSIC = YumaParams(yuma3_enabled=False)

EXAMPLES = {
    # A lone owner weighting itself: its self-weight counts (2.5.2), so it earns everything.
    "owner_self_weight": (make_inputs([1.0], {0: {0: 1.0}}, owner_uid=0), Y3),
    # Quirk 2.14.1: with liquid alpha, omitted uid 3's bond is erased, explicit-zero uid 2 decays.
    "liquid_alpha_omitted_vs_explicit_zero": (
        make_inputs(
            [1.0, 0.0, 0.0, 0.0],
            {0: {1: 1.0, 2: 0.0}},
            bonds={0: {1: 0.5, 2: 0.5, 3: 0.5}},
        ),
        dataclasses.replace(Y3, liquid_alpha_enabled=True),
    ),
    # Nobody has stake: permits only for the owner, zero emission everywhere.
    "all_zero_stake": (
        make_inputs([0.0, 0.0, 0.0], {0: {1: 1.0}, 1: {2: 1.0}}, owner_uid=2),
        CLASSIC,
    ),
    # Two validators with exactly half the stake each and kappa = 0.5: each reaches kappa alone.
    "median_exact_kappa_tie": (
        make_inputs([1.0, 1.0, 0.0, 0.0], {0: {2: 1.0}, 1: {3: 1.0}}),
        dataclasses.replace(Y3, kappa=0.5),
    ),
    # Equal stakes, k = 2 of 3: the tie at the boundary goes to the higher uids (2.3).
    "permit_tie_goes_to_higher_uid": (
        make_inputs([1.0, 1.0, 1.0, 0.0], {0: {3: 1.0}, 1: {3: 1.0}, 2: {3: 1.0}}),
        dataclasses.replace(CLASSIC, max_allowed_validators=2),
    ),
    # uid 3 registered at 995, after the validators' last weights (990): outdated, and new since
    # the last epoch (recent block 900) so its bond column restarts.
    "just_registered_outdated": (
        make_inputs(
            [2.0, 1.0, 0.0, 0.0],
            {0: {2: 1.0, 3: 1.0}, 1: {2: 1.0, 3: 1.0}},
            registered=[0, 0, 0, 995],
            bonds={0: {2: 0.4, 3: 0.9}, 1: {2: 0.2, 3: 0.7}},
        ),
        Y3,
    ),
    # Commit-reveal: uid 1 committed at 800, before uid 3 was re-registered at 850 (sniped),
    # but not before uid 2's registration at 800 itself (the mask needs commit < registration).
    "commit_reveal_sniped": (
        make_inputs(
            [1.0, 1.0, 0.0, 0.0],
            {0: {2: 1.0, 3: 1.0}, 1: {2: 1.0, 3: 1.0}},
            registered=[0, 0, 800, 850],
            commit={0: 900, 1: 800},
        ),
        dataclasses.replace(CLASSIC, commit_reveal_weights_enabled=True),
    ),
    # Classic bonds with a reset of uid 2's column and an inactive validator (uid 1).
    "classic_reset_and_inactive": (
        make_inputs(
            [3.0, 1.0, 0.0, 0.0],
            {0: {2: 1.0, 3: 2.0}, 1: {2: 2.0, 3: 1.0}},
            last_update=[990, 100, 0, 0],
            bonds={0: {2: 0.3, 3: 1.0}, 1: {2: 1.0, 3: 0.5}},
            reset_bond_uids=(2,),
        ),
        dataclasses.replace(CLASSIC, activity_cutoff=100),
    ),
    # beta in (0, 1): explicit zeros are dropped by the interpolation, so they are erased too.
    "half_penalty_explicit_zero": (
        make_inputs(
            [1.0, 1.0, 0.0, 0.0],
            {0: {2: 1.0, 3: 0.0}, 1: {2: 1.0, 3: 3.0}},
            bonds={0: {2: 0.5, 3: 0.5}, 1: {3: 0.25}},
        ),
        dataclasses.replace(Y3, bonds_penalty=0.5, liquid_alpha_enabled=True),
    ),
    # Only self-weights: no usable weights, emission falls back to active stake.
    "zero_emission_fallback": (
        make_inputs([1.0, 3.0], {0: {0: 1.0}, 1: {1: 1.0}}),
        CLASSIC,
    ),
    # Liquid alpha, beta = 1: uid 0's weight on uid 3 is clipped away (consensus 0 < W), so the
    # entry is dropped and its bond erased, like an omitted uid (2.7 + quirk 2.14.1).
    "liquid_alpha_clipped_to_zero_consensus": (
        make_inputs(
            [1.0, 3.0, 0.0, 0.0],
            {0: {2: 1.0, 3: 1.0}, 1: {2: 1.0}},
            bonds={0: {2: 0.5, 3: 0.5}, 1: {2: 0.5}},
        ),
        dataclasses.replace(Y3, liquid_alpha_enabled=True),
    ),
    # Nobody holds a weight row yet: zero consensus, emission falls back to active stake.
    "no_weight_rows": (make_inputs([1.0, 3.0, 0.0], {}, owner_uid=2), Y3),
    # A validator that has no previous permit: its row is ignored this epoch.
    "no_previous_permit": (
        make_inputs([1.0, 5.0, 0.0], {0: {2: 1.0}, 1: {2: 1.0}}, permit=[True, False, False]),
        Y3,
    ),
}


def assert_outputs_close(actual: EpochOutputs, expected: EpochOutputs) -> None:
    for name in FLOAT_FIELDS:
        got, want = getattr(actual, name), getattr(expected, name)
        assert got.shape == want.shape, (name, got.shape, want.shape)
        assert np.allclose(got, want, rtol=0.0, atol=ATOL), f"{name}:\n{got}\nreference:\n{want}"
    for name in BOOL_FIELDS:
        got, want = getattr(actual, name), getattr(expected, name)
        assert np.array_equal(got, want), f"{name}: {got} reference {want}"


def describe(inputs: EpochInputs, params: YumaParams) -> str:
    fields = [f.name for f in dataclasses.fields(EpochInputs)]
    lines = [f"{name}={np.asarray(getattr(inputs, name)).tolist()!r}" for name in fields]
    return "\n".join([*lines, repr(params)])


def classify(inputs: EpochInputs, params: YumaParams, reference: EpochOutputs) -> None:
    """Hypothesis events: the statistics show each branch is reached (pytest -s
    --hypothesis-show-statistics)."""
    event("yuma3" if params.yuma3_enabled else "classic")
    if params.yuma3_enabled:
        event(f"liquid alpha {'on' if params.liquid_alpha_enabled else 'off'}")
    beta = params.bonds_penalty
    event(f"bonds_penalty {'0' if beta == 0 else '1' if beta == 1 else 'in between'}")
    event("owner absent" if inputs.owner_uid is None else "owner present")
    if not np.any(inputs.stake > 0):
        event("all stake zero")
    event("incentive paid" if reference.incentive.any() else "no incentive (fallback or empty)")
    if reference.dividends.any() and np.count_nonzero(reference.dividends) > 1:
        event("dividends shared by several validators")
    if permit_boundary_tie(inputs, params):
        event("stake tie at the permit boundary")
    if not reference.active.all():
        event("some uid inactive")
    if np.any(inputs.block_at_registration >= inputs.recent_registration_block):
        event("just-registered uid")


@settings(max_examples=300, deadline=None)
@given(case=epoch_cases(min_rows=0))
@example(case=EXAMPLES["owner_self_weight"])
@example(case=EXAMPLES["liquid_alpha_omitted_vs_explicit_zero"])
@example(case=EXAMPLES["all_zero_stake"])
@example(case=EXAMPLES["median_exact_kappa_tie"])
@example(case=EXAMPLES["permit_tie_goes_to_higher_uid"])
@example(case=EXAMPLES["just_registered_outdated"])
@example(case=EXAMPLES["commit_reveal_sniped"])
@example(case=EXAMPLES["classic_reset_and_inactive"])
@example(case=EXAMPLES["half_penalty_explicit_zero"])
@example(case=EXAMPLES["zero_emission_fallback"])
@example(case=EXAMPLES["no_previous_permit"])
@example(case=EXAMPLES["no_weight_rows"])
@example(case=EXAMPLES["liquid_alpha_clipped_to_zero_consensus"])
def test_epoch_matches_reference(case):
    inputs, params = case
    note(describe(inputs, params))
    expected = reference_epoch(inputs, params)
    classify(inputs, params, expected)
    assert_outputs_close(epoch(inputs, params), expected)


@settings(max_examples=20, deadline=None)
@given(case=epoch_cases(min_rows=0, max_rows=0))
def test_epoch_without_weight_rows_matches_reference(case):
    # Regression: with no weight row at all (validator_uids empty, e.g. before anyone set
    # weights) the median crashed (argmax of an empty sequence, then ZeroDivisionError).
    inputs, params = case
    note(describe(inputs, params))
    assert_outputs_close(epoch(inputs, params), reference_epoch(inputs, params))


# --- the examples pin what the spec says, independently of both implementations ----------------


def test_examples_show_the_spec_behaviour():
    """Hand-derived facts about the examples, so the oracle itself is checked against the spec."""
    out = reference_epoch(*EXAMPLES["owner_self_weight"])
    assert out.incentive.tolist() == [1.0] and out.dividends.tolist() == [1.0]

    out = reference_epoch(*EXAMPLES["liquid_alpha_omitted_vs_explicit_zero"])
    assert out.bonds[0, 3] == 0.0  # omitted: erased at once
    assert 0.0 < out.bonds[0, 2] < 0.5  # explicit zero: decays

    out = reference_epoch(*EXAMPLES["all_zero_stake"])
    assert out.validator_permit.tolist() == [False, False, True]
    assert not out.emission.any() and not out.incentive.any()

    out = reference_epoch(*EXAMPLES["median_exact_kappa_tie"])
    assert out.consensus.tolist() == [0.0, 0.0, 1.0, 1.0]

    out = reference_epoch(*EXAMPLES["permit_tie_goes_to_higher_uid"])
    assert out.validator_permit.tolist() == [False, True, True, False]
    assert out.bonds[0].tolist() == [0.0] * 4  # uid 0 lost its permit: row stored empty

    out = reference_epoch(*EXAMPLES["just_registered_outdated"])
    assert out.consensus[3] == 0.0 and out.incentive.tolist() == [0.0, 0.0, 1.0, 0.0]
    assert out.bonds[:, 3].tolist() == [0.0, 0.0]  # new uid: bonds restart from zero

    out = reference_epoch(*EXAMPLES["commit_reveal_sniped"])
    assert out.consensus[3] == pytest.approx(0.5)  # uid 0 alone holds >= kappa on uid 3
    assert out.validator_trust[1] == pytest.approx(1.0)  # uid 1's row is {2: 1} after the mask

    out = reference_epoch(*EXAMPLES["zero_emission_fallback"])
    assert out.emission.tolist() == pytest.approx([0.25, 0.75])

    inputs, params = EXAMPLES["liquid_alpha_clipped_to_zero_consensus"]
    out = reference_epoch(inputs, params)
    assert out.consensus[2:].tolist() == [1.0, 0.0]
    assert out.bonds[0, 3] == 0.0 and out.bonds[0, 2] > 0.0

    out = reference_epoch(*EXAMPLES["no_weight_rows"])
    assert out.emission.tolist() == pytest.approx([0.25, 0.75, 0.0]) and out.bonds.shape == (0, 3)

    out = reference_epoch(*EXAMPLES["no_previous_permit"])
    assert out.active_stake.tolist() == [1.0, 0.0, 0.0]
    assert out.validator_permit.tolist() == [True, True, False]


def test_median_margin_is_the_code_tolerance():
    # Oracle and code must draw the exact-tie line at the same place (reference_yuma docstring).
    assert MEDIAN_RELATIVE_MARGIN == MEDIAN_TOLERANCE


# --- the batched form equals K single epochs ---------------------------------------------------


@st.composite
def shared_row_batches(draw, size: int = 5):
    """K inputs sharing n and validator_uids, each with its own params."""
    yuma3 = draw(st.booleans())
    first = draw(epoch_inputs(yuma3=yuma3))
    n, uids = first.n, tuple(int(u) for u in first.validator_uids)
    rest = [draw(epoch_inputs(n=n, validator_uids=uids, yuma3=yuma3)) for _ in range(size - 1)]
    params = [draw(yuma_params(n=n)) for _ in range(size)]
    return [first, *rest], params


@settings(max_examples=60, deadline=None)
@given(batch=shared_row_batches())
def test_epoch_batch_over_inputs_equals_single_epochs(batch):
    inputs, params = batch
    event("mixed classic/yuma3" if len({p.yuma3_enabled for p in params}) > 1 else "one branch")
    outputs = epoch_batch(inputs, params)
    for index, (x, p) in enumerate(zip(inputs, params, strict=True)):
        note(f"batch element {index}")
        assert_outputs_close(outputs.select(index), epoch(x, p))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_epoch_batch_over_params_equals_single_epochs(data):
    inputs = data.draw(epoch_inputs(yuma3=data.draw(st.booleans())))
    params = data.draw(st.lists(yuma_params(n=inputs.n), min_size=5, max_size=5))
    outputs = epoch_batch(inputs, params)
    for index, p in enumerate(params):
        note(f"batch element {index}: {p!r}")
        assert_outputs_close(outputs.select(index), epoch(inputs, p))
        # and the batched result is still the reference's
        assert_outputs_close(outputs.select(index), reference_epoch(inputs, p))


def test_epoch_batch_over_params_mixing_commit_reveal():
    # Regression: one shared input with K params that differ in commit_reveal_weights_enabled
    # raised (an in-place `keep &= ...` could not broadcast the (1, v, n) mask to (K, v, n)).
    # uid 0 committed at block 800, before uid 2 was re-registered at 850: sniped when CR is on.
    inputs = make_inputs(
        [1.0, 1.0, 0.0], {0: {1: 1.0, 2: 1.0}, 1: {2: 1.0}}, registered=[0, 0, 850], commit={0: 800}
    )
    params = [
        dataclasses.replace(CLASSIC, commit_reveal_weights_enabled=True),
        dataclasses.replace(CLASSIC, commit_reveal_weights_enabled=False),
    ]
    outputs = epoch_batch(inputs, params)
    for index, p in enumerate(params):
        assert_outputs_close(outputs.select(index), reference_epoch(inputs, p))
