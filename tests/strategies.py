"""Shared Hypothesis strategies (DESIGN.md rule 11).

Epoch inputs for ``subnetsim.subnet.yuma.epoch``: valid ``EpochInputs`` + ``YumaParams`` that reach
every
branch of one epoch (DESIGN.md rule 8). Values are mostly "nice" (u16 proportions, small integer
stakes, a small pool of block heights) so that exact ties happen: equal stakes at the permit
boundary, stake shares of exactly kappa, ``last_update == block_at_registration``, bonds equal to
the new weight. A share of draws uses generic floats, where ties do not happen.

Branches covered (by construction, not by luck):
- owner absent, present, present with a self-weight, present with zero stake;
- zero-stake uids, all-zero stake, stake below ``stake_threshold``;
- empty weight rows, rows with explicit zeros, self-weight-only rows, absent entries;
- inactive validators (``last_update`` on both sides of ``activity_cutoff``);
- just-registered uids (``block_at_registration >= recent_registration_block``, and at or above
  validators' ``last_update``, which makes their weights outdated);
- validators without a previous permit;
- commit-reveal masks (commits before/after a uid's registration), reset bonds;
- classic and Yuma3 bonds, liquid alpha on/off, bonds_penalty 0 / 1 / in between;
- n from 1 to 12, ``max_allowed_validators`` below, equal to and above n, stake ties.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from subnetsim.subnet.yuma import NO_COMMIT, EpochInputs, YumaParams

__all__ = [
    "CURRENT_BLOCK",
    "U16",
    "epoch_cases",
    "epoch_inputs",
    "permit_boundary_tie",
    "yuma_params",
]

U16 = 65535
CURRENT_BLOCK = 1000
TEMPO = 100
# Repeated entries bias the draw: most epochs should have usable weights, or the interesting
# arithmetic (median, clipping, bonds) would rarely run.
RECENT_BLOCKS = (CURRENT_BLOCK - TEMPO,) * 3 + (0, CURRENT_BLOCK, CURRENT_BLOCK - 1)
ACTIVITY_CUTOFFS = (100, 5000, 50, 100, 1)
# Block heights around the interesting boundaries: the activity cutoff (1000 - 50 / - 100), the
# recent-registration block (900) and each other (so last_update == block_at_registration).
UPDATE_POOL = (1000, 999, 995, 990, 990, 950, 949, 900, 899, 850, 0)
REGISTRATION_POOL = (0,) * 8 + (1, 500, 849, 850, 899, 900, 901, 950, 990, 999, 1000)
BLOCK_POOL = tuple(sorted(set(UPDATE_POOL + REGISTRATION_POOL)))

u16_fraction = st.integers(0, U16).map(lambda value: value / U16)
positive_u16_fraction = st.integers(1, U16).map(lambda value: value / U16)
blocks = st.one_of(st.sampled_from(BLOCK_POOL), st.integers(0, CURRENT_BLOCK))
updates = st.one_of(*[st.sampled_from(UPDATE_POOL)] * 3, st.integers(0, CURRENT_BLOCK))
registrations = st.one_of(*[st.sampled_from(REGISTRATION_POOL)] * 3, st.integers(0, CURRENT_BLOCK))


@st.composite
def stakes(draw: st.DrawFn, n: int) -> list[float]:
    """Stake per uid: small integers (many ties and zeros), generic floats, or all zero."""
    mode = draw(st.sampled_from(["small", "small", "small", "floats", "mixed", "mixed", "zero"]))
    if mode == "zero":
        return [0.0] * n
    small = st.sampled_from([1.0, 2.0, 1.0, 3.0, 0.0, 4.0])  # Hypothesis favours the first
    # Generic floats, rounded to 1e-3 TAO: two stakes are then either equal or apart by far
    # more than float round-off. The top-k permit is discontinuous at a tie, and stakes one ulp
    # apart would be ranked by round-off (x / total versus x * (1 / total) can merge or split
    # them; the chain's I32F32 merges anything closer than 2**-32 of the total).
    generic = st.floats(1e-3, 1e6).map(lambda value: max(round(value, 3), 1e-3))
    if mode == "small":
        return draw(st.lists(small, min_size=n, max_size=n))
    if mode == "floats":
        return draw(st.lists(st.one_of(st.just(0.0), generic), min_size=n, max_size=n))
    return draw(st.lists(st.one_of(small, generic), min_size=n, max_size=n))


@st.composite
def weight_row(draw: st.DrawFn, n: int, uid: int) -> tuple[list[float], list[bool]]:
    """One sparse weight row: (values, present). Absent entries hold 0."""
    shape = draw(st.sampled_from(["sparse"] * 4 + ["full"] * 2 + ["empty", "self", "zeros"]))
    values, present = [0.0] * n, [False] * n
    if shape == "empty":
        return values, present
    if shape == "self":  # a lone self-weight (masked unless the row is the owner's)
        values[uid], present[uid] = 1.0, True
        return values, present
    scale = draw(st.sampled_from(["u16", "ones", "small", "floats"]))
    value = {
        "u16": positive_u16_fraction,  # what set_weights stores, as a proportion
        "ones": st.just(1.0),  # equal weights: exact ties in every column
        "small": st.integers(1, 3).map(float),
        "floats": st.floats(1e-6, 10.0, allow_nan=False, allow_infinity=False),
    }[scale]
    for j in range(n):
        kind = draw(
            st.sampled_from(["absent", "value", "value", "zero"])
            if shape == "sparse"
            else st.just("zero" if shape == "zeros" else "value")
        )
        if kind != "absent":
            present[j] = True
            values[j] = 0.0 if kind == "zero" else draw(value)
    return values, present


@st.composite
def bond_rows(draw: st.DrawFn, rows: int, n: int, yuma3: bool) -> list[list[float]]:
    """Stored bonds: Yuma3 absolute in [0, 1]; classic at any column scale."""
    if yuma3:
        # 0.5 / 0.25 / 1 equal the weights of rows like [1, 1] or [1, 1, 1, 1] and their
        # consensus, so the liquid-alpha buy/sell test (W >= B) meets exact equality (both
        # branches leave such a bond where it is; the draw checks that continuity).
        value = st.one_of(st.just(0.0), u16_fraction, st.sampled_from([0.25, 0.5, 1.0]))
    else:
        # Stored bonds are u16 on chain; generic floats stay >= 1e-6 (a subnormal column sum
        # has no finite reciprocal, and no chain state produces one).
        value = st.one_of(st.just(0.0), u16_fraction, st.floats(1e-6, 5.0))
    return draw(st.lists(st.lists(value, min_size=n, max_size=n), min_size=rows, max_size=rows))


@st.composite
def epoch_inputs(
    draw: st.DrawFn,
    n: int | None = None,
    validator_uids: tuple[int, ...] | None = None,
    yuma3: bool = True,
    min_rows: int = 1,
    max_rows: int | None = None,
) -> EpochInputs:
    """Valid ``EpochInputs``. ``n`` and ``validator_uids`` may be fixed (for batches that must
    share them); ``yuma3`` picks the bond scale."""
    if n is None:
        n = draw(st.integers(1, 12))
    if validator_uids is None:
        upper = n if max_rows is None else min(n, max_rows)
        layouts = ["subset"] * 5 + ["everyone"] * 4 + (["none"] if min_rows == 0 else [])
        layout = draw(st.sampled_from(layouts)) if upper > 0 else "none"
        if layout == "everyone" and upper == n:  # the chain's layout: a row per uid
            validator_uids = tuple(range(n))
        elif layout == "none":  # nobody has set weights yet
            validator_uids = ()
        else:
            lower = min(max(min_rows, 1), upper)
            chosen = draw(st.sets(st.integers(0, n - 1), min_size=lower, max_size=upper))
            validator_uids = tuple(sorted(chosen))
    rows = len(validator_uids)

    owner = draw(st.one_of(st.none(), st.integers(0, n - 1)))
    stake = draw(stakes(n))
    if owner is not None and draw(st.booleans()):
        stake[owner] = 0.0  # an owner without stake still gets its permit

    weights, weight_set = [], []
    for uid in validator_uids:
        values, present = draw(weight_row(n, uid))
        if uid == owner and draw(st.booleans()):  # the owner's self-weight counts
            values[uid] = draw(positive_u16_fraction)
            present[uid] = True
        weights.append(values)
        weight_set.append(present)

    current = CURRENT_BLOCK
    recent = draw(st.sampled_from(RECENT_BLOCKS))
    last_update = draw(st.lists(updates, min_size=n, max_size=n))
    registered = draw(st.lists(registrations, min_size=n, max_size=n))
    permit = draw(st.lists(st.sampled_from([True, True, True, False]), min_size=n, max_size=n))
    if rows and draw(st.sampled_from([True, True, False])):
        # An anchor validator: staked (above every drawn threshold), active, permitted and
        # weighting some other uid, so that most epochs have a participating row and the
        # median/clip/bond arithmetic runs (the other branches still come up in the rest).
        row = draw(st.integers(0, rows - 1))
        anchor = validator_uids[row]
        stake[anchor] = max(stake[anchor], 3.0)
        last_update[anchor] = draw(st.sampled_from([CURRENT_BLOCK, CURRENT_BLOCK - 1]))
        permit[anchor] = True
        others = [j for j in range(n) if j != anchor]
        if others and not any(weights[row][j] > 0 for j in others):
            target = draw(st.sampled_from(others))
            weights[row][target] = draw(positive_u16_fraction)
            weight_set[row][target] = True
    if draw(st.booleans()):  # a just-registered uid, newer than every validator's weights
        newcomer = draw(st.integers(0, n - 1))
        registered[newcomer] = max([recent, *last_update])
    commit = draw(
        # Commits at registration heights hit the mask's boundary (commit == registration).
        st.lists(
            st.sampled_from([NO_COMMIT, NO_COMMIT]) | st.sampled_from(registered) | blocks,
            min_size=rows,
            max_size=rows,
        )
    )
    reset = draw(st.lists(st.integers(0, n - 1), max_size=3, unique=True))
    bonds = draw(bond_rows(rows, n, yuma3))
    return EpochInputs(
        stake=np.array(stake, dtype=float),
        weights=np.array(weights, dtype=float).reshape(rows, n),
        bonds=np.array(bonds, dtype=float).reshape(rows, n),
        validator_uids=np.array(validator_uids, dtype=np.int64),
        validator_permit=np.array(permit, dtype=bool),
        last_update=np.array(last_update, dtype=np.int64),
        block_at_registration=np.array(registered, dtype=np.int64),
        current_block=current,
        recent_registration_block=recent,
        weight_set=np.array(weight_set, dtype=bool).reshape(rows, n),
        commit_block=np.array(commit, dtype=np.int64),
        owner_uid=owner,
        reset_bond_uids=tuple(reset),
    )


@st.composite
def yuma_params(draw: st.DrawFn, n: int = 12, yuma3: bool | None = None) -> YumaParams:
    """Valid ``YumaParams``; ``max_allowed_validators`` spans 0 .. n + 2 around ``n``."""
    if yuma3 is None:
        yuma3 = draw(st.booleans())
    kappa = draw(st.one_of(st.sampled_from([32767 / U16, 0.5, 0.0, 1.0]), u16_fraction))
    # beta = 1 (the default) and 0 are the sparse code's special cases; weight them up.
    beta = draw(st.sampled_from([1.0, 1.0, 0.0]) | st.sampled_from([1.0, 0.0, 0.5]) | u16_fraction)
    bonds_moving_avg = draw(
        st.one_of(
            st.sampled_from([0.9, 0.975, 0.0, 1.0]),
            st.integers(0, 1_000_000).map(lambda value: value / 1e6),
        )
    )
    low, high = sorted(draw(st.lists(u16_fraction, min_size=2, max_size=2)))
    low, high = draw(st.sampled_from([(low, high), (0.1, 0.3), (45875 / U16, 58982 / U16)]))
    steepness = draw(st.one_of(st.sampled_from([1000.0, 0.0, -1000.0]), st.integers(-32768, 32767)))
    threshold = draw(st.sampled_from([0.0, 0.0, 0.0, 1.0, 2.0, 2.5]))
    return YumaParams(
        kappa=kappa,
        bonds_penalty=beta,
        bonds_moving_avg=bonds_moving_avg,
        yuma3_enabled=yuma3,
        liquid_alpha_enabled=draw(st.sampled_from([True, False, True])),
        alpha_low=low,
        alpha_high=high,
        alpha_sigmoid_steepness=float(steepness),
        max_allowed_validators=draw(st.integers(0, n + 2)),
        activity_cutoff=draw(st.sampled_from(ACTIVITY_CUTOFFS)),
        commit_reveal_weights_enabled=draw(st.booleans()),
        stake_threshold=threshold,
    )


@st.composite
def epoch_cases(
    draw: st.DrawFn, min_rows: int = 1, max_rows: int | None = None
) -> tuple[EpochInputs, YumaParams]:
    """A matching ``(EpochInputs, YumaParams)`` pair."""
    yuma3 = draw(st.booleans())
    inputs = draw(epoch_inputs(yuma3=yuma3, min_rows=min_rows, max_rows=max_rows))
    params = draw(yuma_params(n=inputs.n, yuma3=yuma3))
    return inputs, params


def permit_boundary_tie(inputs: EpochInputs, params: YumaParams) -> bool:
    """Whether the top-k permit rule has to break a stake tie by uid (spec 2.3).

    With sorted stakes s(1) >= s(2) >= ..., the k-th and (k+1)-th permits are decided by uid
    order exactly when 0 < k < n and s(k) == s(k+1) > 0 (zero stake never gets a permit).
    Stake here is after the threshold (the owner is exempt), as the chain ranks it.
    """
    k, n = params.max_allowed_validators, inputs.n
    if not 0 < k < n:
        return False
    stake = [
        0.0 if value < params.stake_threshold and uid != inputs.owner_uid else float(value)
        for uid, value in enumerate(inputs.stake)
    ]
    ranked = sorted(stake, reverse=True)
    return ranked[k - 1] == ranked[k] > 0
