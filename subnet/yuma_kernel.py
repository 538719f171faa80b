"""Yuma Consensus compiled with numba: the same epoch as ``subnet/yuma.py``, bit for bit.

``subnet/yuma.py`` is the readable numpy reference; this module computes the same epochs in
loops that numba compiles (``njit``, ``cache=True``, no fastmath), so an epoch costs a few
passes over ``v x n`` instead of ~40 numpy calls, and the stake-weighted median is a selection
(O(v) expected per column) instead of a full sort.

Bit compatibility with the reference is a requirement, not a nicety: the chain records epoch
outputs as float reprs in its hash chain, so a last-bit difference would change run digests.
Every float operation therefore follows the order in which numpy evaluates the reference:

- sums along the last axis (``normalize_last``, ``.sum(axis=-1)``) use numpy's pairwise
  summation (8 accumulators, blocks of 128; ``_pairwise_sum``);
- column sums (``axis=-2``) add the rows in order, one at a time; with one column (``n == 1``)
  numpy reduces that column as a contiguous run, pairwise;
- ``einsum("kv,kvn->kn")`` adds ``a_v * b_vn`` row after row (separately rounded, no FMA:
  numpy's baseline here is x86-64-v2), and ``einsum("kvn,kn->kv")`` is numpy's 2-lane SIMD dot
  product (``_einsum_dot``);
- normalisation multiplies by the reciprocal of the total, as ``consensus._reciprocal`` does;
- ``exp`` is numpy's: its AVX-512 float64 exp differs from libm's (numba's) in the last bit for
  ~5% of arguments, so liquid alpha runs in two compiled stages with ``np.exp`` between them.

The one place that is not the same arithmetic is the median's stake test: the reference sums
the stake at or above a candidate as ``total - cumsum + s`` over a sorted column, the selection
sums it directly. Both compare against ``kappa * total * (1 - 1e-12)``; they can only disagree
when the true share lies within float64 round-off (~1e-16 relative) of that threshold, which
the 1e-12 margin keeps away from every exact tie the chain can produce (MEDIAN_TOLERANCE).

No loop here accumulates across threads: ``prange`` runs only over the independent epochs of a
batch, so results do not depend on the number of threads. A single epoch runs on one thread:
on this shared 2-core machine a parallel region waits for a scheduler slice (~8 ms measured
for the column-parallel median), far more than the median's whole cost.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from subnetsim.subnet.consensus import MEDIAN_TOLERANCE

__all__ = ["FLOAT_PARAMS", "INT_PARAMS", "run_epochs", "weighted_median_columns"]

NO_COMMIT = -1  # yuma.NO_COMMIT (yuma imports this module, so the value is repeated here)
TINY = float(np.finfo(float).tiny)  # totals below this normalise to zero (consensus._reciprocal)
# The reference's threshold factor, computed once in Python exactly as it does.
KAPPA_MARGIN = 1.0 - MEDIAN_TOLERANCE
# numpy's pairwise summation: runs below 8 are added one by one, runs up to 128 with 8
# accumulators, longer runs split in two (numpy/_core/src/umath/loops_utils.h.src).
PAIRWISE_UNROLL = 8
PAIRWISE_BLOCK = 128

# Parameter columns of the packed arrays (order matters: the kernel reads them by index).
FLOAT_PARAMS = (
    "kappa", "bonds_penalty", "bonds_moving_avg", "alpha_low", "alpha_high",
    "alpha_sigmoid_steepness", "stake_threshold",
)
INT_PARAMS = (
    "yuma3_enabled", "liquid_alpha_enabled", "max_allowed_validators", "activity_cutoff",
    "commit_reveal_weights_enabled",
)
_KAPPA, _BETA, _MOVING_AVG, _ALPHA_LOW, _ALPHA_HIGH, _STEEPNESS, _THRESHOLD = range(7)
_YUMA3, _LIQUID, _MAX_VALIDATORS, _ACTIVITY_CUTOFF, _COMMIT_REVEAL = range(5)

# Stages of one epoch: all of it, or split around numpy's exp for liquid alpha.
STAGE_ALL, STAGE_FRONT, STAGE_BACK = 0, 1, 2


# --- numpy's summation orders -------------------------------------------------------------


@njit(cache=True)
def _pairwise_sum(values):
    """numpy's ``add.reduce`` of a contiguous run (pairwise, 8-way unrolled)."""
    count = values.shape[0]
    if count < PAIRWISE_UNROLL:
        total = 0.0
        for i in range(count):
            total += values[i]
        return total
    if count <= PAIRWISE_BLOCK:
        r0, r1, r2, r3 = values[0], values[1], values[2], values[3]
        r4, r5, r6, r7 = values[4], values[5], values[6], values[7]
        i = 8
        end = count - count % 8
        while i < end:
            r0 += values[i]
            r1 += values[i + 1]
            r2 += values[i + 2]
            r3 += values[i + 3]
            r4 += values[i + 4]
            r5 += values[i + 5]
            r6 += values[i + 6]
            r7 += values[i + 7]
            i += 8
        total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < count:
            total += values[i]
            i += 1
        return total
    half = count // 2
    half -= half % 8
    return _pairwise_sum(values[:half]) + _pairwise_sum(values[half:])


@njit(cache=True)
def _einsum_dot(a, b):
    """``einsum`` of two contiguous runs into one output (numpy's 2-lane SIMD dot product:
    each lane accumulates blocks of four pairs from the last, the lanes are added at the end,
    then the sum is added to the zero output)."""
    count = a.shape[0]
    lane0 = 0.0
    lane1 = 0.0
    i = 0
    while count - i >= 8:
        lane0 = a[i + 6] * b[i + 6] + lane0
        lane1 = a[i + 7] * b[i + 7] + lane1
        lane0 = a[i + 4] * b[i + 4] + lane0
        lane1 = a[i + 5] * b[i + 5] + lane1
        lane0 = a[i + 2] * b[i + 2] + lane0
        lane1 = a[i + 3] * b[i + 3] + lane1
        lane0 = a[i] * b[i] + lane0
        lane1 = a[i + 1] * b[i + 1] + lane1
        i += 8
    while i < count:
        lane0 = a[i] * b[i] + lane0
        # The odd last element pairs with a zero-padded lane (numpy's load_tillz).
        lane1 = a[i + 1] * b[i + 1] + lane1 if i + 1 < count else 0.0 * 0.0 + lane1
        i += 2
    return 0.0 + (lane0 + lane1)


@njit(cache=True)
def _reciprocal(total):
    """1 / total, or 0 for a zero or subnormal total (``consensus._reciprocal``)."""
    return 1.0 / total if total >= TINY else 0.0


@njit(cache=True)
def _normalize(values):
    """``consensus.normalize_last`` of one vector, in place."""
    scale = _reciprocal(_pairwise_sum(values))
    for i in range(values.shape[0]):
        values[i] = values[i] * scale


# --- the stake-weighted median by selection -----------------------------------------------


@njit(cache=True)
def _weighted_median(values, stakes, spare_values, spare_stakes, count, threshold):
    """Largest ``x`` among ``values[:count]`` whose holders of weights ``>= x`` have at least
    ``threshold`` stake, or 0 when none has.

    Quickselect on stake: each round splits the working set around a pivot into the weights
    above, equal to and below it, with their stakes; only the side that can hold the answer
    is kept, the stake above it carried. The split is branch-free (every element is written
    to both sides, the write index advances on one) because the comparisons are unpredictable
    on real data. ``spare_*`` are scratch buffers of the same length; contents are clobbered.
    """
    carried = 0.0
    while count > 0:
        # Deterministic median-of-three pivot (no randomness: results must be reproducible).
        a, b, c = values[0], values[count // 2], values[count - 1]
        pivot = max(min(a, b), min(max(a, b), c))
        # Two accumulators each (even and odd positions) halve the add-latency chain.
        above_even = above_odd = equal_even = equal_odd = 0.0
        high = 0
        low = 0
        for i in range(0, count - 1, 2):
            value = values[i]
            stake = stakes[i]
            above_even += stake if value > pivot else 0.0
            equal_even += stake if value == pivot else 0.0
            # Above-side elements gather at the front of values (i >= high always),
            # below-side ones in the spare buffers.
            values[high] = value
            stakes[high] = stake
            high += value > pivot
            spare_values[low] = value
            spare_stakes[low] = stake
            low += value < pivot
            value = values[i + 1]
            stake = stakes[i + 1]
            above_odd += stake if value > pivot else 0.0
            equal_odd += stake if value == pivot else 0.0
            values[high] = value
            stakes[high] = stake
            high += value > pivot
            spare_values[low] = value
            spare_stakes[low] = stake
            low += value < pivot
        if count % 2 == 1:
            value = values[count - 1]
            stake = stakes[count - 1]
            above_even += stake if value > pivot else 0.0
            equal_even += stake if value == pivot else 0.0
            values[high] = value
            stakes[high] = stake
            high += value > pivot
            spare_values[low] = value
            spare_stakes[low] = stake
            low += value < pivot
        above_total = above_even + above_odd
        equal_total = equal_even + equal_odd
        if carried + above_total >= threshold and high > 0:
            count = high  # the smallest weight above the pivot already has enough stake
        elif carried + above_total + equal_total >= threshold:
            return pivot
        else:
            carried += above_total + equal_total
            values, spare_values = spare_values, values
            stakes, spare_stakes = spare_stakes, stakes
            count = low
    return 0.0


@njit(cache=True)
def _consensus_columns(W, stake_rows, threshold, first, last, C):
    """Consensus of columns ``first:last``, gathered a cache line (8 columns) at a time.
    Only rows with stake take part, and zero weights stay out of the selection: with any
    stake participating, 0 always has enough stake at or above it, so the answer is a
    positive weight or 0."""
    v = W.shape[0]
    group = 8
    values = np.empty((group, v))
    stakes = np.empty((group, v))
    spare = np.empty((2, v))
    counts = np.zeros(group, dtype=np.int64)
    for j0 in range(first, last, group):
        width = min(group, last - j0)
        counts[:] = 0
        for r in range(v):
            stake = stake_rows[r]
            if stake > 0:
                for g in range(width):
                    weight = W[r, j0 + g]
                    values[g, counts[g]] = weight
                    stakes[g, counts[g]] = stake
                    counts[g] += weight > 0
        for g in range(width):
            C[j0 + g] = _weighted_median(values[g], stakes[g], spare[0], spare[1], counts[g],
                                         threshold)


# --- one epoch ----------------------------------------------------------------------------


@njit(cache=True)
def _top_k_nonzero(S, k, owner, permit):
    """``consensus.top_k_nonzero`` (stable ascending order) plus the owner's permit."""
    n = S.shape[0]
    order = np.argsort(S, kind="mergesort")
    for position in range(n):
        uid = order[position]
        permit[uid] = (S[uid] != 0 and position >= n - k) or uid == owner


@njit(cache=True)
def _masked_weights(weights, weight_set, rows, prev_permit, last_update, registered, commit,
                    owner, commit_reveal, W, present):
    """Section 2.5 (``yuma._masked_weights``): masks, then row normalisation, in place."""
    v, n = W.shape
    for r in range(v):
        uid = rows[r]
        row_ok = prev_permit[uid]
        own_row = uid == owner
        update = last_update[uid]
        committed = commit_reveal and commit[r] != NO_COMMIT
        for j in range(n):
            keep = weight_set[r, j] and row_ok and (own_row or j != uid)
            keep = keep and update > registered[j]
            if committed and commit[r] < registered[j]:
                keep = False
            present[r, j] = keep
            W[r, j] = weights[r, j] if keep else 0.0
        _normalize(W[r])


@njit(cache=True)
def _clip_and_rank(A_rows, W, C, present, beta, bonds, restart, I, trust_rows, Wb, present_b,
                   old):
    """Sections 2.7-2.9 and the 2.10 inputs in one pass over the rows: clipped weights' row
    sums (trust), the stake-weighted column sums (``einsum("kv,kvn->kn")``) normalised into
    ``I``, W~ = W + beta (Wc - W) with its sparse presence, and the stored bonds with new or
    reset columns restarted from zero."""
    v, n = W.shape
    I[:] = 0.0
    clipped_row = np.empty(n)
    for r in range(v):
        a = A_rows[r]
        for j in range(n):
            w = W[r, j]
            clipped = min(w, C[j])
            clipped_row[j] = clipped
            I[j] = a * clipped + I[j]
            Wb[r, j] = w + beta * (clipped - w)
            if beta == 0:
                present_b[r, j] = present[r, j]
            elif beta == 1:
                present_b[r, j] = present[r, j] and not (C[j] == 0 and w > 0)
            else:
                present_b[r, j] = Wb[r, j] > 0
            old[r, j] = 0.0 if restart[j] else bonds[r, j]
        trust_rows[r] = _pairwise_sum(clipped_row)
    if n == 1 and v > 0:  # numpy's inner run is then the row axis: its dot product
        column = np.empty(v)
        for r in range(v):
            column[r] = min(W[r, 0], C[0])
        I[0] = _einsum_dot(A_rows, column)
    _normalize(I)


@njit(cache=True)
def _fix_single_column(matrix, sums):
    """With one column numpy sums it as a contiguous run: pairwise, not row by row."""
    if matrix.shape[1] == 1:
        sums[0] = _pairwise_sum(np.ascontiguousarray(matrix[:, 0]))


@njit(cache=True)
def _classic_bonds(old, Wb, A_rows, I, alpha, B, dividend_rows):
    """Section 2.10a (``yuma._classic_bonds``) in four passes; ``B`` gets the
    column-max-upscaled bonds."""
    v, n = Wb.shape
    delta_sums = np.zeros(n)
    old_sums = np.zeros(n)
    for r in range(v):
        a = A_rows[r]
        for j in range(n):
            delta_sums[j] = delta_sums[j] + a * Wb[r, j]
            old_sums[j] = old_sums[j] + old[r, j]
    if n == 1:
        delta_column = np.empty((v, 1))
        for r in range(v):
            delta_column[r, 0] = A_rows[r] * Wb[r, 0]
        _fix_single_column(delta_column, delta_sums)
        _fix_single_column(old, old_sums)
    for j in range(n):
        delta_sums[j] = _reciprocal(delta_sums[j])
        old_sums[j] = _reciprocal(old_sums[j])
    keep = 1 - alpha
    mix_sums = np.zeros(n)
    for r in range(v):
        a = A_rows[r]
        for j in range(n):
            mixed = alpha * (a * Wb[r, j] * delta_sums[j]) + keep * (old[r, j] * old_sums[j])
            B[r, j] = mixed
            mix_sums[j] = mix_sums[j] + mixed
    _fix_single_column(B, mix_sums)
    peak = np.zeros(n)
    for j in range(n):
        mix_sums[j] = _reciprocal(mix_sums[j])
    for r in range(v):
        for j in range(n):
            value = B[r, j] * mix_sums[j]
            B[r, j] = value
            peak[j] = max(peak[j], value) if r > 0 else value
        dividend_rows[r] = _einsum_dot(B[r], I)
    _normalize(dividend_rows)
    # Divide by the column maximum (consensus.column_max_upscale, math.rs
    # inplace_col_max_upscale_sparse), so the maximum is exactly 1.
    for r in range(v):
        for j in range(n):
            B[r, j] = B[r, j] / peak[j] if peak[j] >= TINY else 0.0


@njit(cache=True)
def _liquid_exponent(old, Wb, C, steepness, exponent):
    """The sigmoid's clipped exponent per pair (``yuma._liquid_alpha`` before its exp)."""
    v, n = Wb.shape
    slope = steepness / 100.0
    for r in range(v):
        for j in range(n):
            if Wb[r, j] >= old[r, j]:  # buying
                distance = min(max(Wb[r, j] - C[j], 0.0), 1.0)
            else:
                distance = min(max(old[r, j] - Wb[r, j], 0.0), 1.0)
            exponent[r, j] = min(max(-slope * (distance - 0.5), -20.0), 20.0)


@njit(cache=True)
def _yuma3_bonds(old, Wb, present_b, A_rows, I, alpha, liquid, exp_term, low, high,
                 B, dividend_rows):
    """Section 2.10b (``yuma._yuma3_bonds``); ``exp_term`` is numpy's exp of the exponent."""
    v, n = Wb.shape
    keep = 1 - alpha
    sums = np.zeros(n)
    for r in range(v):
        for j in range(n):
            if not liquid:
                value = alpha * Wb[r, j] + keep * old[r, j]
            elif not present_b[r, j]:
                value = 0.0  # mat_ema_alpha_sparse writes only present entries
            else:
                pair = low + (high - low) / (1.0 + exp_term[r, j])
                pair = min(max(pair, low), high)
                value = min(1.0, (1 - pair) * old[r, j] + max(0.0, pair * Wb[r, j]))
            B[r, j] = value
            sums[j] = sums[j] + value
    _fix_single_column(B, sums)
    for j in range(n):
        sums[j] = _reciprocal(sums[j])
    normalised_row = np.empty(n)
    for r in range(v):
        for j in range(n):
            normalised_row[j] = B[r, j] * sums[j]
        dividend_rows[r] = A_rows[r] * _einsum_dot(normalised_row, I)
    _normalize(dividend_rows)


@njit(cache=True)
def _emission_shares(I, D, A, S, server, validator, combined):
    """Section 2.11 (``yuma._emission_shares``)."""
    n = I.shape[0]
    for j in range(n):
        combined[j] = I[j] + D[j]
    total = _pairwise_sum(combined)
    use_active = _pairwise_sum(A) > 0
    scale = _reciprocal(total)
    for j in range(n):
        fallback = A[j] if use_active else S[j]
        if total > 0:
            server[j] = I[j] / total
            validator[j] = D[j] / total
            combined[j] = combined[j] * scale
        else:
            server[j] = 0.0
            validator[j] = fallback
            combined[j] = fallback


@njit(cache=True)
def _front(stake, weights, bonds, weight_set, prev_permit, last_update, registered, commit,
           rows, current_block, recent_block, owner, reset, fp, ip,
           S, active, permit, A, C, I, trust, W, present_b, Wb, old, exponent):
    """Sections 2.1-2.9 of one epoch, and the liquid-alpha exponent where it is needed."""
    n = stake.shape[0]
    v = rows.shape[0]
    # 2.1-2.4: activity, stake, permits, active stake.
    for j in range(n):
        active[j] = last_update[j] + ip[_ACTIVITY_CUTOFF] >= current_block
        below = stake[j] < fp[_THRESHOLD] and j != owner
        S[j] = 0.0 if below else stake[j]
    _normalize(S)
    _top_k_nonzero(S, ip[_MAX_VALIDATORS], owner, permit)
    for j in range(n):
        A[j] = S[j] * active[j] * prev_permit[j]
    _normalize(A)
    A_rows = np.empty(v)
    for r in range(v):
        A_rows[r] = A[rows[r]]
    # 2.5: masked, row-normalised weights.
    present = np.empty((v, n), dtype=np.bool_)
    _masked_weights(weights, weight_set, rows, prev_permit, last_update, registered, commit,
                    owner, ip[_COMMIT_REVEAL] != 0, W, present)
    # 2.6: consensus.
    total = _pairwise_sum(A_rows)
    threshold = (fp[_KAPPA] * total) * KAPPA_MARGIN
    valid = v > 0 and total > 0
    if valid:
        _consensus_columns(W, A_rows, threshold, 0, n, C)
    else:
        C[:] = 0.0
    # 2.7-2.10 inputs: trust, incentive, bond weights, stored bonds.
    restart = np.empty(n, dtype=np.bool_)
    for j in range(n):
        restart[j] = registered[j] >= recent_block or reset[j]
    trust_rows = np.empty(v)
    _clip_and_rank(A_rows, W, C, present, fp[_BETA], bonds, restart, I, trust_rows, Wb,
                   present_b, old)
    trust[:] = 0.0
    for r in range(v):
        trust[rows[r]] = trust_rows[r]
    if ip[_YUMA3] != 0 and ip[_LIQUID] != 0 and _any_positive(C):
        _liquid_exponent(old, Wb, C, fp[_STEEPNESS], exponent)


@njit(cache=True)
def _any_positive(values):
    return (values > 0).any()


@njit(cache=True)
def _back(rows, fp, ip, S, permit, A, C, I, present_b, Wb, old, exp_term,
          D, bonds_out, emission, server, validator):
    """Sections 2.10-2.11 of one epoch: bonds, dividends, emission shares."""
    v = rows.shape[0]
    A_rows = np.empty(v)
    for r in range(v):
        A_rows[r] = A[rows[r]]
    alpha = 1.0 - fp[_MOVING_AVG]
    dividend_rows = np.empty(v)
    if ip[_YUMA3] != 0:
        liquid = ip[_LIQUID] != 0 and _any_positive(C)
        _yuma3_bonds(old, Wb, present_b, A_rows, I, alpha, liquid, exp_term,
                     fp[_ALPHA_LOW], fp[_ALPHA_HIGH], bonds_out, dividend_rows)
    else:
        _classic_bonds(old, Wb, A_rows, I, alpha, bonds_out, dividend_rows)
    D[:] = 0.0
    for r in range(v):
        D[rows[r]] = dividend_rows[r]
        if not permit[rows[r]]:
            bonds_out[r, :] = 0.0
    _emission_shares(I, D, A, S, server, validator, emission)


@njit(cache=True)
def _epoch_at(k, stage, x_stake, x_weights, x_bonds, x_weight_set, x_permit, x_last_update,
              x_registered, x_commit, x_scalars, x_reset, rows, fparams, iparams, out_S,
              out_active, out_permit, out_A, out_C, out_I, out_trust, out_D, out_bonds,
              out_emission, out_server, out_validator,
              ws_present, ws_Wb, ws_old, ws_exp):
    """Stage ``stage`` of epoch ``k`` of a batch (inputs and params of batch size 1 broadcast).
    With STAGE_ALL the per-pair scratch matrices are local; the split stages keep them in the
    ``ws_*`` workspaces between the two calls."""
    xi = k if x_stake.shape[0] > 1 else 0
    pi = k if fparams.shape[0] > 1 else 0
    fp, ip = fparams[pi], iparams[pi]
    v, n = x_weights.shape[1], x_weights.shape[2]
    if stage == STAGE_ALL:
        present_b = np.empty((v, n), dtype=np.bool_)
        Wb = np.empty((v, n))
        old = np.empty((v, n))
        exp_term = np.empty((0, 0))  # read only by liquid alpha, which runs split stages
    else:
        present_b, Wb, old, exp_term = ws_present[k], ws_Wb[k], ws_old[k], ws_exp[k]
    if stage != STAGE_BACK:
        W = np.empty((v, n))
        _front(x_stake[xi], x_weights[xi], x_bonds[xi], x_weight_set[xi], x_permit[xi],
               x_last_update[xi], x_registered[xi], x_commit[xi], rows, x_scalars[xi, 0],
               x_scalars[xi, 1], x_scalars[xi, 2], x_reset[xi], fp, ip,
               out_S[k], out_active[k], out_permit[k], out_A[k], out_C[k], out_I[k],
               out_trust[k], W, present_b, Wb, old, exp_term)
    if stage != STAGE_FRONT:
        _back(rows, fp, ip, out_S[k], out_permit[k], out_A[k], out_C[k], out_I[k], present_b,
              Wb, old, exp_term, out_D[k], out_bonds[k], out_emission[k], out_server[k],
              out_validator[k])


@njit(cache=True)
def _epochs_serial(stage, x_stake, x_weights, x_bonds, x_weight_set, x_permit, x_last_update,
                   x_registered, x_commit, x_scalars, x_reset, rows, fparams, iparams,
                   out_S, out_active, out_permit, out_A, out_C, out_I,
                   out_trust, out_D, out_bonds, out_emission, out_server, out_validator,
                   ws_present, ws_Wb, ws_old, ws_exp):
    for k in range(out_S.shape[0]):
        _epoch_at(k, stage, x_stake, x_weights, x_bonds, x_weight_set, x_permit,
                  x_last_update, x_registered, x_commit, x_scalars, x_reset, rows, fparams,
                  iparams, out_S, out_active, out_permit, out_A, out_C,
                  out_I, out_trust, out_D, out_bonds, out_emission, out_server, out_validator,
                  ws_present, ws_Wb, ws_old, ws_exp)


@njit(cache=True, parallel=True)
def _epochs_parallel(stage, x_stake, x_weights, x_bonds, x_weight_set, x_permit,
                     x_last_update, x_registered, x_commit, x_scalars, x_reset, rows, fparams,
                     iparams, out_S, out_active, out_permit, out_A, out_C,
                     out_I, out_trust, out_D, out_bonds, out_emission, out_server,
                     out_validator, ws_present, ws_Wb, ws_old, ws_exp):
    for k in prange(out_S.shape[0]):  # epochs are independent: any thread count, same bytes
        # np.int64: prange's index is unsigned, and unsigned mixed with int64 types as float.
        _epoch_at(np.int64(k), stage, x_stake, x_weights, x_bonds, x_weight_set, x_permit,
                  x_last_update, x_registered, x_commit, x_scalars, x_reset, rows, fparams,
                  iparams, out_S, out_active, out_permit, out_A, out_C,
                  out_I, out_trust, out_D, out_bonds, out_emission, out_server, out_validator,
                  ws_present, ws_Wb, ws_old, ws_exp)


# --- entry point --------------------------------------------------------------------------


def run_epochs(x: dict[str, np.ndarray], fparams: np.ndarray, iparams: np.ndarray,
               rows: np.ndarray) -> dict[str, np.ndarray]:
    """K epochs. ``x`` holds the stacked inputs (batch axis 1 or K, as ``yuma._stack_inputs``
    makes them, plus ``scalars``: (Ki, 3) current block, recent registration block, owner);
    ``fparams``/``iparams`` are (Kp, len(FLOAT_PARAMS)/len(INT_PARAMS)) with Kp 1 or K.
    Returns the output arrays by ``EpochOutputs`` field name, each with a batch axis K."""
    batch = max(x["stake"].shape[0], fparams.shape[0])
    n = x["stake"].shape[1]
    v = rows.shape[0]
    out = {
        "S": np.empty((batch, n)),
        "active": np.empty((batch, n), dtype=bool),
        "validator_permit": np.empty((batch, n), dtype=bool),
        "active_stake": np.empty((batch, n)),
        "consensus": np.empty((batch, n)),
        "incentive": np.empty((batch, n)),
        "validator_trust": np.empty((batch, n)),
        "dividends": np.empty((batch, n)),
        "bonds": np.empty((batch, v, n)),
        "emission": np.empty((batch, n)),
        "server_emission": np.empty((batch, n)),
        "validator_emission": np.empty((batch, n)),
    }
    liquid = bool((iparams[:, _YUMA3] & iparams[:, _LIQUID]).any())
    if liquid:
        workspaces = [np.empty((batch, v, n), dtype=bool)] + [np.zeros((batch, v, n))
                                                              for _ in range(3)]
    else:
        workspaces = [np.empty((1, 1, 1), dtype=bool)] + [np.empty((1, 1, 1)) for _ in range(3)]
    # Read-only everywhere, so every call has one numba signature (one compilation, one cache).
    for array in x.values():
        array.flags.writeable = False
    kernel = _epochs_parallel if batch > 1 else _epochs_serial
    arguments = (
        x["stake"], x["weights"], x["bonds"], x["weight_set"], x["validator_permit"],
        x["last_update"], x["block_at_registration"], x["commit_block"], x["scalars"],
        x["reset_bond"], rows, fparams, iparams, *out.values(), *workspaces,
    )
    if not liquid:
        kernel(STAGE_ALL, *arguments)
    else:
        kernel(STAGE_FRONT, *arguments)
        exponent = workspaces[3]
        np.exp(exponent, out=exponent)  # numpy's exp, as the reference computes it
        kernel(STAGE_BACK, *arguments)
    del out["S"]
    return out


def weighted_median_columns(weights: np.ndarray, stake: np.ndarray, kappa: float) -> np.ndarray:
    """The consensus of every column of ``(v, n)`` weights by selection: the compiled twin of
    ``consensus.weighted_median_columns`` for one epoch (for tests and measurements)."""
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    stake = np.ascontiguousarray(stake, dtype=np.float64)
    out = np.zeros(weights.shape[1])
    total = _pairwise_sum(stake) if len(stake) else 0.0
    if len(stake) and total > 0:
        threshold = (kappa * total) * KAPPA_MARGIN
        _consensus_columns(weights, stake, threshold, 0, weights.shape[1], out)
    return out
