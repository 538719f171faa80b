"""Which miners a validator queries in a round: a uniform sample of the servable uids."""

from __future__ import annotations

import numpy as np

__all__ = ["query_candidates", "sample_targets", "servable"]


def servable(registered: np.ndarray, validator_permit: np.ndarray, stake: np.ndarray,
             validator_stake: float) -> np.ndarray:
    """(n,) uids that look like miners: registered and not a validator, where a validator is a
    uid with a permit *and* at least ``validator_stake`` TAO (like Bittensor's
    ``vpermit_tao_limit``; miners collect stake and permits too as they earn)."""
    return registered & ~(validator_permit & (stake >= validator_stake))


def query_candidates(servable_uids: np.ndarray, own_uid: int) -> np.ndarray:
    """Uids worth querying: the servable ones except the caller itself."""
    candidates = servable_uids.copy()
    candidates[own_uid] = False
    return np.flatnonzero(candidates)


def sample_targets(rng: np.random.Generator, candidates: np.ndarray, size: int) -> np.ndarray:
    """Up to ``size`` distinct candidates drawn uniformly with ``rng``, ascending."""
    if len(candidates) <= size:
        return candidates.copy()
    return np.sort(rng.choice(candidates, size=size, replace=False))
