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
    """Divide along the last axis by its sum; all-zero slices stay zero (subtensor ``normalize``)."""
    total = values.sum(axis=-1, keepdims=True)
    return np.divide(values, total, out=np.zeros_like(values), where=total > 0)


def normalize_columns(matrix: np.ndarray) -> np.ndarray:
    """Column-normalise ``(..., v, n)`` so every non-zero column sums to 1 (``col_normalize``)."""
    total = matrix.sum(axis=-2, keepdims=True)
    return np.divide(matrix, total, out=np.zeros_like(matrix), where=total > 0)


def column_max_upscale(matrix: np.ndarray) -> np.ndarray:
    """Scale each column of ``(..., v, n)`` so its largest entry is 1 (``col_max_upscale``).

    This is how classic bonds are stored: the chain keeps only their column proportions.
    """
    peak = matrix.max(axis=-2, keepdims=True) if matrix.shape[-2] else matrix.sum(-2, keepdims=True)
    return np.divide(matrix, peak, out=np.zeros_like(matrix), where=peak > 0)


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
        weights: ``(K or 1, v, n)`` row-normalised weights.
        stake: ``(K, v)`` active stake of each row (any scale; zero rows do not participate).
        kappa: ``(K,)`` majority fraction.

    Returns:
        ``(K, n)`` consensus weights.
    """
    batch = stake.shape[0]
    participating = stake > 0  # (K, v)
    # Work on (K, n, v) so the sort runs along contiguous memory.
    values = np.where(participating[:, None, :], np.swapaxes(weights, -1, -2), 0.0)
    order = np.argsort(-values, axis=-1, kind="stable")  # descending weight per column
    sorted_values = np.take_along_axis(values, order, axis=-1)
    sorted_stake = np.take_along_axis(
        np.broadcast_to(stake[:, None, :], values.shape), order, axis=-1
    )
    reached = np.cumsum(sorted_stake, axis=-1)  # stake holding a weight >= sorted_values
    total = stake.sum(axis=-1)  # (K,)
    threshold = (kappa * total)[:, None, None] * (1.0 - MEDIAN_TOLERANCE)
    enough = reached >= threshold
    first = np.argmax(enough, axis=-1)  # (K, n): first sorted position reaching kappa
    median = np.take_along_axis(sorted_values, first[..., None], axis=-1)[..., 0]
    valid = enough.any(axis=-1) & (total > 0)[:, None]
    return np.where(valid, median, 0.0).reshape(batch, -1)
