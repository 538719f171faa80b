"""Array kernels of Yuma Consensus: normalisation, the stake-weighted median, top-k permits.

Pure numpy float64 functions with a leading batch axis K, so one call evaluates K epochs. They
follow subtensor's ``pallets/subtensor/src/epoch/math.rs`` semantics (cited per function); the
epoch itself is assembled in ``subnet/yuma.py``.

Shapes: ``K`` batch, ``v`` weight-setting rows (validators), ``n`` uids.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "column_max_upscale",
    "normalize_columns",
    "normalize_last",
    "top_k_nonzero",
    "weighted_median_columns",
]

# Tolerance of the median's ">= kappa" test. subtensor compares exact I32F32 integers, whose
# resolution is 2**-32 (~2.3e-10); float64 sums of the normalised stakes carry round-off of
# ~1e-16 per term. A margin far below the fixed-point grid and far above float64 noise makes
# exact ties in the chain (stake share == kappa) ties here too, without moving any real case.
MEDIAN_TOLERANCE = 1e-12


def normalize_last(values: np.ndarray) -> np.ndarray:
    """Divide along the last axis by its sum; all-zero slices stay zero (``normalize``)."""
    return values * _reciprocal(values.sum(axis=-1, keepdims=True))


def normalize_columns(matrix: np.ndarray) -> np.ndarray:
    """Column-normalise ``(..., v, n)`` so every non-zero column sums to 1 (``col_normalize``)."""
    return matrix * _reciprocal(matrix.sum(axis=-2, keepdims=True))


def column_max_upscale(matrix: np.ndarray) -> np.ndarray:
    """Scale each column of ``(..., v, n)`` so its largest entry is 1 (``col_max_upscale``).

    This is how classic bonds are stored: the chain keeps only their column proportions. Each
    entry is *divided* by its column's maximum (``math.rs : inplace_col_max_upscale_sparse``,
    ``value.safe_div(max)``), so the maximum itself becomes exactly 1 and is stored as 65535;
    multiplying by the reciprocal instead left ~23% of column maxima at 0.99999999999999989,
    stored as 65534.
    """
    if matrix.shape[-2] == 0:
        return matrix.copy()
    peak = matrix.max(axis=-2, keepdims=True)
    usable = peak >= np.finfo(float).tiny
    return np.divide(matrix, peak, out=np.zeros_like(matrix), where=usable)


def _reciprocal(total: np.ndarray) -> np.ndarray:
    """1 / total where total > 0, else 0 (subtensor's ``safe_div`` of a sum).

    A subnormal total (below float64's smallest normal, ~2.2e-308) counts as zero: its
    reciprocal would overflow to inf and turn 0 entries into NaN. The chain cannot hold such
    sums (its proportions are u16 or I32F32), so nothing real is lost.
    """
    return np.divide(1.0, total, out=np.zeros_like(total), where=total >= np.finfo(float).tiny)


def top_k_nonzero(stake: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Validator permits: the ``k`` largest non-zero stakes of each row of ``(K, n)``.

    Mirrors ``math.rs : is_topk_nonzero``: uids are sorted ascending by stake with a *stable*
    sort and the first ``n - k`` lose the permit, so a tie at the boundary goes to the higher
    uid. Zero stake never gets a permit. ``k`` has shape ``(K,)``.
    """
    count = stake.shape[-1]
    order = np.argsort(stake, axis=-1, kind="stable")
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.arange(count)[None, :].repeat(len(stake), 0), axis=-1)
    return (stake != 0) & (position >= (count - k)[:, None])


def weighted_median_columns(
    weights: np.ndarray, stake: np.ndarray, kappa: np.ndarray
) -> np.ndarray:
    """Stake-weighted median of every column: the consensus weight of each uid.

    ``c_j`` is the largest weight ``x`` such that the validators with ``W_ij >= x`` hold at least
    ``kappa`` of the stake of the participating rows (subtensor ``docs/consensus.md`` eq. 3 and
    ``math.rs : weighted_median``; reaching exactly kappa is enough). Only rows with positive
    stake participate; a missing entry is a weight of 0. Returns 0 for a column nobody weights.

    Args:
        weights: ``(Kw, v, n)`` row-normalised weights.
        stake: ``(Ks, v)`` active stake of each row (any scale; zero rows do not participate).
        kappa: ``(Kk,)`` majority fraction. Batch sizes are 1 or a common K and broadcast, so
            one sort serves K kappas when weights and stake are shared.

    Returns:
        ``(K, n)`` consensus weights.
    """
    if weights.shape[-2] == 0:  # nobody holds a weight row: no consensus anywhere
        batch = max(weights.shape[0], stake.shape[0], kappa.shape[0])
        return np.zeros((batch, weights.shape[-1]))
    participating = stake > 0  # (Ks, v)
    # Work on (K, n, v) so the sort runs along contiguous memory. Tie order does not matter:
    # the answer only depends on the stake at or above each candidate value.
    values = np.where(participating[:, None, :], np.swapaxes(weights, -1, -2), 0.0)
    order = np.argsort(values, axis=-1)  # ascending weight per column
    sorted_values = _gather_last(values, order)
    sorted_stake = _gather_last(np.broadcast_to(stake[:, None, :], values.shape), order)
    total = stake.sum(axis=-1)  # (Ks,)
    # Stake at sorted positions >= k, i.e. held by weights >= sorted_values[k] (within a tie
    # group it undercounts, which never changes the last position that reaches kappa).
    at_or_above = total[:, None, None] - np.cumsum(sorted_stake, axis=-1) + sorted_stake
    threshold = (kappa * total)[:, None, None] * (1.0 - MEDIAN_TOLERANCE)  # (K, 1, 1)
    enough = at_or_above >= threshold
    # Last sorted position that still reaches kappa: the largest such weight.
    last = values.shape[-1] - 1 - np.argmax(enough[..., ::-1], axis=-1)
    median = _gather_last(np.broadcast_to(sorted_values, enough.shape), last[..., None])[..., 0]
    valid = enough.any(axis=-1) & (total > 0)[:, None]
    return np.where(valid, median, 0.0)


def _gather_last(array: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``take_along_axis(array, index, -1)`` through one flat gather (several times faster
    than numpy's generic version for many short rows)."""
    array = np.ascontiguousarray(array)
    rows = array.size // array.shape[-1]
    offsets = (np.arange(rows) * array.shape[-1]).reshape(*array.shape[:-1], 1)
    return array.reshape(-1)[index + offsets]
