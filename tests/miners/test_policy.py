"""The axon-style query policy: registration, stake and per-caller rate limits."""

from __future__ import annotations

import numpy as np

from subnetsim.miners.policy import ADMITTED, LOW_STAKE, RATE_LIMITED, UNREGISTERED, QueryGuard
from subnetsim.subnet.scenario import QueryPolicy

MINERS = np.array([0, 2])


def test_unregistered_and_low_stake_callers_are_refused_without_using_their_quota():
    guard = QueryGuard(QueryPolicy(min_stake=10.0, rate_limit=1, rate_window=5), 3, 8)
    assert (guard.admit(MINERS, None, 1e6, block=1) == UNREGISTERED).all()
    assert (guard.admit(MINERS, 4, 9.99, block=1) == LOW_STAKE).all()
    assert (guard.admit(MINERS, 4, 10.0, block=1) == ADMITTED).all()


def test_rate_limit_caps_each_caller_per_window_and_resets_in_the_next():
    guard = QueryGuard(QueryPolicy(min_stake=0.0, rate_limit=2, rate_window=10), 3, 8)
    verdicts = [guard.admit(MINERS, 5, 1.0, block=block)[0] for block in (10, 11, 19)]
    assert verdicts == [ADMITTED, ADMITTED, RATE_LIMITED]
    assert guard.admit(MINERS, 6, 1.0, block=19)[0] == ADMITTED  # another caller, own quota
    assert guard.admit(np.array([1]), 5, 1.0, block=19)[0] == ADMITTED  # another miner
    assert guard.admit(MINERS, 5, 1.0, block=20)[0] == ADMITTED  # new window


def test_zero_rate_limit_means_unlimited_and_state_round_trips():
    open_guard = QueryGuard(QueryPolicy(min_stake=0.0, rate_limit=0), 1, 4)
    assert all(open_guard.admit(np.array([0]), 1, 0.0, 3)[0] == ADMITTED for _ in range(50))
    guard = QueryGuard(QueryPolicy(min_stake=0.0, rate_limit=1, rate_window=10), 2, 4)
    guard.admit(np.array([1]), 3, 0.0, 4)
    copy = QueryGuard(guard.policy, 2, 4)
    copy.restore(guard.state())
    assert copy.admit(np.array([1]), 3, 0.0, 5)[0] == RATE_LIMITED
