"""A slow, obvious reference for one epoch of Yuma Consensus (the oracle of ``subnet.yuma``).

Written from the Yuma reference note (``reference/yuma.md`` of the shared design folder, which
``subnet/yuma.py`` cites as ``docs/yuma.md``), sections 2.1-2.11 and 2.14, *not* from
``subnet/yuma.py``: plain Python loops over uids, scalar floats, and sparse weight rows held as
``{uid: value}`` dicts so that the presence of an entry (an explicit 0 versus an omitted uid) is
tracked exactly as subtensor's sparse matrices track it. Only the dataclasses that define the
interface are imported. Every helper names the spec section it follows.

Speed is irrelevant here: n is at most a few dozen in the tests.
"""

from __future__ import annotations

import math

import numpy as np

from subnetsim.subnet.yuma import NO_COMMIT, EpochInputs, EpochOutputs, YumaParams

__all__ = ["MEDIAN_RELATIVE_MARGIN", "Row", "masked_weights", "reference_epoch", "stake_median"]

# Relative slack of the median's ">= kappa" test. The chain compares exact I32F32 integers, so a
# group of validators holding exactly kappa of the stake reaches it. In float64 the same stake
# shares are sums of rounded quotients (their order of summation differs between this loop and
# numpy's pairwise sums), so an exact tie can come out a few ulps (~1e-16) short. A relative
# margin of 1e-12 turns those back into ties, and is still far below the chain's own resolution
# (2**-32 ~ 2.3e-10), so it never decides a real case. It is the same value as
# ``subnetsim.subnet.consensus.MEDIAN_TOLERANCE``; test_yuma_oracle checks the two stay equal,
# because the
# oracle and the code under test must draw the tie line at the same place to be comparable.
MEDIAN_RELATIVE_MARGIN = 1e-12

Row = dict[int, float]  # a sparse weight or bond row: {uid: value}; a missing uid is absent


def reference_epoch(inputs: EpochInputs, params: YumaParams) -> EpochOutputs:
    """One epoch, step by step, as the spec describes it."""
    n = inputs.n
    uids = [int(uid) for uid in inputs.validator_uids]  # uid of each weight row
    active, stake, new_permit, active_stake = stake_and_permits(inputs, params)
    row_stake = [active_stake[uid] for uid in uids]

    # 2.5 weights.
    weights = masked_weights(inputs, params)
    # 2.6 consensus.
    consensus = [stake_median(weights, row_stake, j, params.kappa) for j in range(n)]
    # 2.7 clipping and validator trust.
    clipped = [clip_row(row, consensus) for row in weights]
    trust_rows = [sum(row.values()) for row in clipped]
    # 2.8 ranks and incentive.
    ranks = [0.0] * n
    for r, row in enumerate(clipped):
        for j, value in row.items():
            ranks[j] += row_stake[r] * value
    incentive = normalize(ranks)
    # 2.9 weights for bonds.
    bond_weights = [
        interpolate_row(weights[r], clipped[r], params.bonds_penalty) for r in range(len(uids))
    ]
    # 2.10 bonds and dividends.
    old_bonds = previous_bonds(inputs)
    if params.yuma3_enabled:
        bonds, dividend_rows = yuma3_bonds(
            old_bonds, bond_weights, consensus, row_stake, incentive, params
        )
    else:
        bonds, dividend_rows = classic_bonds(old_bonds, bond_weights, row_stake, incentive, params)
    for r, uid in enumerate(uids):
        if not new_permit[uid]:  # rows of uids without a new permit are stored empty
            bonds[r] = [0.0] * n
    dividends = [0.0] * n
    trust = [0.0] * n
    for r, uid in enumerate(uids):
        dividends[uid] = dividend_rows[r]
        trust[uid] = trust_rows[r]

    # 2.11 emission shares and the zero fallback.
    server, validator, combined = emission_shares(incentive, dividends, active_stake, stake)
    return EpochOutputs(
        incentive=np.array(incentive, dtype=float),
        dividends=np.array(dividends, dtype=float),
        consensus=np.array(consensus, dtype=float),
        validator_trust=np.array(trust, dtype=float),
        bonds=np.array(bonds, dtype=float).reshape(len(uids), n),
        emission=np.array(combined, dtype=float),
        server_emission=np.array(server, dtype=float),
        validator_emission=np.array(validator, dtype=float),
        validator_permit=np.array(new_permit, dtype=bool),
        active=np.array(active, dtype=bool),
        active_stake=np.array(active_stake, dtype=float),
    )


# --- small helpers ------------------------------------------------------------------------------


def normalize(values: list[float]) -> list[float]:
    """Divide by the sum; an all-zero vector stays zero."""
    total = sum(values)
    if total == 0:
        return [0.0 for _ in values]
    return [value / total for value in values]


def normalize_columns(matrix: list[list[float]], n: int) -> list[list[float]]:
    """Every column divided by its sum; all-zero columns stay zero."""
    out = [[0.0] * n for _ in matrix]
    for j in range(n):
        total = sum(row[j] for row in matrix)
        if total != 0:
            for r, row in enumerate(matrix):
                out[r][j] = row[j] / total
    return out


def dot(left: list[float], right: list[float]) -> float:
    """Sum of products."""
    return sum(a * b for a, b in zip(left, right, strict=True))


def dense(row: Row, n: int) -> list[float]:
    """A sparse row as a list, absent entries as 0."""
    return [row.get(j, 0.0) for j in range(n)]


def stake_and_permits(
    inputs: EpochInputs, params: YumaParams
) -> tuple[list[bool], list[float], list[bool], list[float]]:
    """2.1-2.4: activity, normalised stake, new permits and active stake, per uid."""
    n, owner = inputs.n, inputs.owner_uid
    # 2.1 activity.
    active = [is_active(inputs, params, j) for j in range(n)]
    # 2.2 stake: threshold (owner exempt), then normalise.
    raw = [float(value) for value in inputs.stake]
    stake = normalize(
        [0.0 if raw[j] < params.stake_threshold and j != owner else raw[j] for j in range(n)]
    )
    # 2.3 new permits: top-k non-zero stake, plus the owner.
    k = params.max_allowed_validators
    new_permit = [has_top_k_permit(stake, j, k) or j == owner for j in range(n)]
    # 2.4 active stake: only active uids holding a *previous* permit.
    previous_permit = [bool(p) for p in inputs.validator_permit]
    active_stake = normalize(
        [stake[j] if active[j] and previous_permit[j] else 0.0 for j in range(n)]
    )
    return active, stake, new_permit, active_stake


# --- 2.1-2.4 ------------------------------------------------------------------------------------


def is_active(inputs: EpochInputs, params: YumaParams, uid: int) -> bool:
    """2.1: inactive iff LastUpdate + activity_cutoff < current_block."""
    inactive = int(inputs.last_update[uid]) + params.activity_cutoff < inputs.current_block
    return not inactive


def has_top_k_permit(stake: list[float], uid: int, k: int) -> bool:
    """2.3: the k largest non-zero stakes; a tie at the boundary goes to the higher uid.

    Stated without sorting: ``uid`` ranks behind every uid with more stake and every *higher* uid
    with equal stake (that is what the chain's stable ascending sort does), and it keeps the
    permit when fewer than k uids rank ahead of it. For n < k this keeps every non-zero stake.
    """
    if stake[uid] == 0:
        return False
    ahead = sum(
        1
        for other in range(len(stake))
        if stake[other] > stake[uid] or (stake[other] == stake[uid] and other > uid)
    )
    return ahead < k


# --- 2.5 weights --------------------------------------------------------------------------------


def masked_weights(inputs: EpochInputs, params: YumaParams) -> list[Row]:
    """2.5: sparse weight rows after every mask, row-normalised (zero rows stay zero).

    An entry exists if it is in ``weight_set`` (explicit zeros included) and no mask removed it.
    """
    n = inputs.n
    rows: list[Row] = []
    for r, uid in enumerate(int(u) for u in inputs.validator_uids):
        row: Row = {}
        if inputs.validator_permit[uid]:  # 2.5.1: rows of uids without a previous permit: empty
            last_update = int(inputs.last_update[uid])
            commit = int(inputs.commit_block[r])
            for j in range(n):
                if not inputs.weight_set[r, j]:
                    continue
                if j == uid and uid != inputs.owner_uid:  # 2.5.2: self-weight, except owner's
                    continue
                registered = int(inputs.block_at_registration[j])
                if last_update <= registered:  # 2.5.3 / 2.1: outdated
                    continue
                sniped = commit != NO_COMMIT and commit < registered
                if params.commit_reveal_weights_enabled and sniped:  # 2.5.4
                    continue
                row[j] = float(inputs.weights[r, j])
        total = sum(row.values())  # 2.5.5
        rows.append({j: (value / total if total > 0 else value) for j, value in row.items()})
    return rows


# --- 2.6 consensus ------------------------------------------------------------------------------


def stake_median(weights: list[Row], row_stake: list[float], column: int, kappa: float) -> float:
    """2.6, the literal definition: the largest x among the column's weights of participating
    rows (and 0) such that the rows with W >= x hold at least kappa of the participating stake.

    Brute force over every candidate value. A missing entry is a weight of 0.
    """
    participating = [r for r, s in enumerate(row_stake) if s > 0]
    total = sum(row_stake[r] for r in participating)
    needed = kappa * total * (1.0 - MEDIAN_RELATIVE_MARGIN)
    candidates = {0.0} | {weights[r].get(column, 0.0) for r in participating}
    best = 0.0
    for x in candidates:
        holding = sum(row_stake[r] for r in participating if weights[r].get(column, 0.0) >= x)
        if holding >= needed and x > best:
            best = x
    return best


# --- 2.7 / 2.9 ----------------------------------------------------------------------------------


def clip_row(row: Row, consensus: list[float]) -> Row:
    """2.7: min(W, c); an entry above a zero consensus is dropped, not kept as 0."""
    out: Row = {}
    for j, value in row.items():
        if value > consensus[j]:
            if consensus[j] > 0:
                out[j] = consensus[j]
        else:
            out[j] = value
    return out


def interpolate_row(row: Row, clipped: Row, beta: float) -> Row:
    """2.9: W + beta (Wc - W). beta = 0 is W itself, beta = 1 the clipped row itself (entries
    as they are, explicit zeros included); in between only positive entries are kept."""
    if beta == 0:
        return dict(row)
    if beta == 1:
        return dict(clipped)
    out: Row = {}
    for j in sorted(set(row) | set(clipped)):
        value = row.get(j, 0.0) + beta * (clipped.get(j, 0.0) - row.get(j, 0.0))
        if value > 0:
            out[j] = value
    return out


# --- 2.10 bonds and dividends -------------------------------------------------------------------


def previous_bonds(inputs: EpochInputs) -> list[list[float]]:
    """2.1 / 2.10: stored bonds with the columns of uids registered since the last epoch, and of
    uids whose bonds were reset, set to zero."""
    n = inputs.n
    recent = inputs.recent_registration_block
    fresh = {j for j in range(n) if int(inputs.block_at_registration[j]) >= recent}
    fresh |= {int(uid) for uid in inputs.reset_bond_uids}
    return [
        [0.0 if j in fresh else float(inputs.bonds[r, j]) for j in range(n)]
        for r in range(len(inputs.validator_uids))
    ]


def classic_bonds(
    old: list[list[float]],
    bond_weights: list[Row],
    row_stake: list[float],
    incentive: list[float],
    params: YumaParams,
) -> tuple[list[list[float]], list[float]]:
    """2.10a: column-normalised EMA of stake-weighted bond deltas; stored column-max-upscaled."""
    n = len(incentive)
    alpha = 1.0 - params.bonds_moving_avg
    old_normal = normalize_columns(old, n)
    delta = normalize_columns(
        [[row_stake[r] * w for w in dense(row, n)] for r, row in enumerate(bond_weights)], n
    )
    ema = [
        [alpha * delta[r][j] + (1 - alpha) * old_normal[r][j] for j in range(n)]
        for r in range(len(old))
    ]
    bonds = normalize_columns(ema, n)
    dividends = normalize([dot(row, incentive) for row in bonds])
    stored = [[0.0] * n for _ in bonds]
    for j in range(n):
        peak = max((row[j] for row in bonds), default=0.0)
        if peak > 0:
            for r, row in enumerate(bonds):
                stored[r][j] = row[j] / peak
    return stored, dividends


def yuma3_bonds(
    old: list[list[float]],
    bond_weights: list[Row],
    consensus: list[float],
    row_stake: list[float],
    incentive: list[float],
    params: YumaParams,
) -> tuple[list[list[float]], list[float]]:
    """2.10b: absolute per-pair bonds; stake enters at the dividends only. Stored absolute."""
    n = len(incentive)
    alpha = 1.0 - params.bonds_moving_avg
    liquid = params.liquid_alpha_enabled and any(c != 0 for c in consensus)
    bonds = []
    for r, row in enumerate(bond_weights):
        if liquid:
            # Only entries present in the new weight row are written (quirk 2.14.1): an omitted
            # uid's bond is erased, an explicit zero decays.
            new_row = [0.0] * n
            for j, w in row.items():
                a = liquid_alpha(w, old[r][j], consensus[j], params)
                value = min(1.0, (1 - a) * old[r][j] + max(0.0, a * w))
                new_row[j] = value if value > 0 else 0.0
        else:
            new_row = []
            for w, b in zip(dense(row, n), old[r], strict=True):
                value = alpha * w + (1 - alpha) * b
                new_row.append(value if value > 0 else 0.0)  # the sparse EMA keeps positives
        bonds.append(new_row)
    shares = normalize_columns(bonds, n)
    dividends = normalize([row_stake[r] * dot(shares[r], incentive) for r in range(len(bonds))])
    return bonds, dividends


def liquid_alpha(weight: float, bond: float, consensus: float, params: YumaParams) -> float:
    """2.10b Liquid Alpha 2: alpha_low + (alpha_high - alpha_low) sigmoid(slope (d - 1/2))."""
    if weight >= bond:  # buying
        distance = min(max(weight - consensus, 0.0), 1.0)
    else:  # selling
        distance = min(max(bond - weight, 0.0), 1.0)
    # sigmoid(x) = 1 / (1 + exp(-x)); the chain clamps the exponent to [-20, 20] (2.13, exp_safe).
    exponent = -(params.alpha_sigmoid_steepness / 100.0) * (distance - 0.5)
    exponent = min(max(exponent, -20.0), 20.0)
    sigmoid = 1.0 / (1.0 + math.exp(exponent))
    low, high = params.alpha_low, params.alpha_high
    return min(max(low + (high - low) * sigmoid, low), high)


# --- 2.11 emission ------------------------------------------------------------------------------


def emission_shares(
    incentive: list[float], dividends: list[float], active_stake: list[float], stake: list[float]
) -> tuple[list[float], list[float], list[float]]:
    """2.11: I/s, D/s and normalise(I + D), with s = sum(I + D); if s = 0 the validator and
    combined emission follow active stake, or stake when no stake is active."""
    total = sum(incentive) + sum(dividends)
    if total > 0:
        server = [i / total for i in incentive]
        validator = [d / total for d in dividends]
        combined = normalize([i + d for i, d in zip(incentive, dividends, strict=True)])
        return server, validator, combined
    fallback = active_stake if any(s > 0 for s in active_stake) else stake
    return [0.0] * len(incentive), list(fallback), list(fallback)
