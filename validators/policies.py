"""What each validator behaviour prefers: a non-negative score per uid, turned into weights by
``subnetsim.validators.scoring.weights_from_scores``.

* ``honest``: its own EMA of measured rewards.
* ``lazy``: no work, the same score for every servable uid.
* ``weight_copier``: no work; the stake-weighted mean of the weight rows other validators made
  visible on chain (or the last epoch's consensus). With commit-reveal on, visible rows were
  committed an epoch or more ago, so what it copies is stale by the time it counts.
* ``cabal`` / ``self_dealer``: everything on the uids its operator runs.
* ``rogue``: scores like ``honest`` but ignores a serving halt: it keeps querying (and keeps
  trying to set weights) whoever still answers.
"""

from __future__ import annotations

import numpy as np

from subnetsim.validators import AGENT_BEHAVIOURS, HALT_IGNORING_BEHAVIOURS

__all__ = ["HALT_IGNORING_BEHAVIOURS", "QUERYING_BEHAVIOURS", "VALIDATOR_BEHAVIOURS",
           "copied_scores", "operator_scores"]

VALIDATOR_BEHAVIOURS = AGENT_BEHAVIOURS  # the real agents (the package lists them all)
QUERYING_BEHAVIOURS = ("honest", "rogue")


def copied_scores(weights: np.ndarray, stake: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Stake-weighted mean of the row-normalised visible weight rows of ``sources``.

    Args:
        weights: (n, n) weight rows as stored on chain (any scale per row).
        stake: (n,) TAO.
        sources: uids whose rows are copied (validators other than the copier).
    """
    rows = weights[sources].astype(np.float64)
    totals = rows.sum(axis=1)
    keep = totals > 0
    if not keep.any():
        return np.zeros(weights.shape[1])
    normalised = rows[keep] / totals[keep, None]
    stake_of = stake[sources][keep]
    if stake_of.sum() <= 0:
        return normalised.mean(axis=0)
    return stake_of @ normalised / stake_of.sum()


def operator_scores(capacity: int, own_uids: list[int]) -> np.ndarray:
    """1 on the operator's own uids, 0 elsewhere."""
    scores = np.zeros(capacity)
    scores[own_uids] = 1.0
    return scores
