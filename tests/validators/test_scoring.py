"""Scoring maths: bad replies score zero without raising; weights obey the chain's rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from subnetsim.subnet import weight_calls
from subnetsim.subnet.config import Hyperparameters
from subnetsim.subnet.ledger import Ledger, RegistrationRules
from subnetsim.validators.scoring import (
    cap_shares,
    duplicate_replies,
    ema,
    reply_losses,
    rewards_from_losses,
    weights_from_scores,
    well_formed,
)


class MeanSquaredTask:
    """A typed fake task: regression with one output and a unit baseline."""

    output_dim = 1
    baseline_loss = 1.0

    def sample(self, rng, count, pool="train"):
        raise NotImplementedError

    def losses(self, predictions, targets):
        return ((predictions - targets) ** 2).mean(dim=(-2, -1))


TARGETS = torch.zeros(4, 1)


class Exploding(torch.Tensor):
    """A reply whose data must never be read (reading it raises)."""


def test_every_kind_of_bad_reply_gets_an_infinite_loss_and_no_exception():
    good = torch.full((4, 1), 0.5)
    oversized = torch.zeros(1, 1).expand(4_000_000, 1)
    replies = [good, None, "junk", {"a": 1}, torch.zeros(5, 1), torch.full((4, 1), float("nan")),
               oversized, torch.zeros(4, 1, dtype=torch.int64), torch.full((4, 1), float("inf"))]
    losses = reply_losses(replies, TARGETS, MeanSquaredTask(), max_bytes=1024)
    assert losses[0] == pytest.approx(0.25)
    assert np.isinf(losses[1:]).all()
    assert (rewards_from_losses(losses, 1.0)[1:] == 0).all()


class FlaggingTask(MeanSquaredTask):
    """The same loss, declared to turn any non-finite entry into a non-finite loss."""

    loss_flags_non_finite = True


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.5, -2.0, 3e19, -3e19, 1e-30, float("nan"),
                                 float("inf"), float("-inf")]), min_size=4, max_size=4),
       st.lists(st.integers(0, 6), min_size=1, max_size=8))
def test_losses_without_a_finiteness_check_equal_those_with_one(values, picks):
    """A task whose loss flags non-finite replies is scored without the per-reply finiteness
    check (one call fewer per round); every loss comes out bit for bit the same."""
    kinds = [torch.tensor(values).reshape(4, 1), torch.full((4, 1), 0.25), None,
             torch.tensor(values[::-1]).reshape(4, 1), torch.zeros(4, 1, dtype=torch.float64),
             torch.zeros(5, 1), torch.full((4, 1), float("nan"))]
    replies = [kinds[pick] for pick in picks]
    checked = reply_losses(replies, TARGETS, MeanSquaredTask(), max_bytes=1024)
    flagged = reply_losses(replies, TARGETS, FlaggingTask(), max_bytes=1024)
    assert np.array_equal(checked, flagged)


def test_size_is_checked_from_metadata_only():
    oversized = torch.zeros(1, 1).expand(10**9, 1)  # claims 4 GB, allocates 4 bytes
    assert not well_formed(oversized, (10**9, 1), max_bytes=65536)


def test_rewards_are_one_for_perfect_zero_at_the_baseline_and_monotone():
    losses = np.array([0.0, 0.25, 0.5, 1.0, 3.0, np.inf, np.nan])
    assert rewards_from_losses(losses, 1.0).tolist() == [1.0, 0.75, 0.5, 0.0, 0.0, 0.0, 0.0]


def test_ema_moves_toward_new_rewards():
    assert ema(np.array([0.0, 1.0]), np.array([1.0, 1.0]), 0.25).tolist() == [0.25, 1.0]


def test_duplicates_lose_to_the_most_senior_identical_reply():
    same = torch.ones(4, 1)
    replies = [same.clone(), torch.zeros(4, 1), same.clone(), None, same.clone()]
    seniority = np.array([30, 5, 10, 1, 40])
    assert duplicate_replies(replies, seniority).tolist() == [True, False, False, False, True]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1e3), min_size=1, max_size=40), st.floats(0.01, 1.0))
def test_cap_shares_sums_to_one_and_respects_a_feasible_cap(values, cap):
    shares = np.array(values) + 1e-9
    capped = cap_shares(shares, cap)
    assert capped.sum() == pytest.approx(1.0)
    if len(shares) * cap > 1.0 + 1e-6:
        assert capped.max() <= cap


def _ledger(n: int = 10, **hyper) -> Ledger:
    ledger = Ledger(hyper=Hyperparameters(max_allowed_uids=n, **hyper), rules=RegistrationRules())
    ledger.registered[:] = True
    ledger.validator_permit[0] = True
    return ledger


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=10, max_size=10), st.integers(0, 9),
       st.floats(0.1, 1.0), st.integers(0, 9), st.floats(0.5, 3.0))
def test_weights_pass_the_chains_own_checks(scores, top_k, limit, minimum, exponent):
    ledger = _ledger(max_weights_limit=limit, min_allowed_weights=minimum)
    eligible = np.ones(10, dtype=bool)
    eligible[0] = False
    uids, weights = weights_from_scores(np.array(scores), eligible, top_k=top_k,
                                        exponent=exponent, max_weight=limit, min_weights=minimum)
    if not uids:
        assert not any(scores[1:])
        return
    assert list(uids) == sorted(uids) and 0 not in uids
    feasible = 9 * limit > 1.0 + 1e-6
    if feasible:
        # raises ExtrinsicError if the chain refuses
        weight_calls.checked_weight_row(ledger, 0, uids, weights)


def test_weights_keep_the_top_k_and_rank_by_score():
    scores = np.array([0.0, 0.9, 0.1, 0.5, 0.7])
    uids, weights = weights_from_scores(scores, np.ones(5, dtype=bool), top_k=2, exponent=1.0,
                                        max_weight=1.0, min_weights=0)
    assert uids == (1, 4)
    assert weights[0] > weights[1]
