"""A miner's query policy, like Bittensor's axon blacklist and priority checks.

Before a miner spends compute on a query it checks the caller: a hotkey that is not
registered on the subnet, or that holds less than ``min_stake`` TAO, is refused; a caller that
already made ``rate_limit`` queries to this miner in the current window of ``rate_window``
blocks is refused too. The rate limit is the seed's defence against black-box model extraction:
whoever wants a miner's answers at scale has to stake, and even then gets only so many.

Counters are one ``(miners, uids)`` array, reset per miner when its window rolls over, so a
check of k miners is a few vectorised operations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from subnetsim.subnet.scenario import QueryPolicy

__all__ = ["ADMITTED", "LOW_STAKE", "RATE_LIMITED", "UNREGISTERED", "VERDICT_NAMES", "QueryGuard"]

ADMITTED, UNREGISTERED, LOW_STAKE, RATE_LIMITED = 0, 1, 2, 3
VERDICT_NAMES = ("admitted", "unregistered", "low_stake", "rate_limited")


class QueryGuard:
    """Admission checks and per-caller rate limits for ``miners`` miners on ``uids`` uids."""

    def __init__(self, policy: QueryPolicy, miners: int, uids: int) -> None:
        self.policy = policy
        self.counts = np.zeros((miners, uids), dtype=np.int32)  # queries this window
        self.window = np.full(miners, -1, dtype=np.int64)  # window index of each row's counts

    def admit(self, miners: np.ndarray, caller_uid: int | None, caller_stake: float,
              block: int) -> np.ndarray:
        """Verdict per miner (int8 codes) for one caller; admitted queries are counted.

        Args:
            miners: (k,) distinct miner keys being asked.
            caller_uid: the caller's uid, or None when its hotkey is not registered.
            caller_stake: the caller's stake, TAO.
            block: the current block (selects the rate window).
        """
        verdict = np.zeros(len(miners), dtype=np.int8)
        if caller_uid is None:
            verdict[:] = UNREGISTERED
            return verdict
        if caller_stake < self.policy.min_stake:
            verdict[:] = LOW_STAKE
            return verdict
        if self.policy.rate_limit == 0:
            return verdict
        window = block // self.policy.rate_window
        stale = miners[self.window[miners] != window]
        self.counts[stale] = 0
        self.window[stale] = window
        used = self.counts[miners, caller_uid]
        limited = used >= self.policy.rate_limit
        verdict[limited] = RATE_LIMITED
        self.counts[miners[~limited], caller_uid] += 1
        return verdict

    def state(self) -> dict[str, Any]:
        """Counters (for checkpoints)."""
        return {"counts": self.counts.copy(), "window": self.window.copy()}

    def restore(self, state: dict[str, Any]) -> None:
        """Inverse of ``state``."""
        self.counts = state["counts"].copy()
        self.window = state["window"].copy()
