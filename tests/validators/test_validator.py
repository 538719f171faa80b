"""Validator agents in a tiny SimPy subnet with a typed fake miner server."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from subnetsim.subnet import signing_worker
from subnetsim.subnet.chain import BLOCK_SECONDS
from tests.validators.conftest import BATCH, make_validator_world


def _through(block: int) -> float:
    return block * BLOCK_SECONDS + 1e-6


def test_honest_validator_scores_replies_and_sets_weights_by_quality():
    world = make_validator_world()
    validator = world.validator(0)
    world.start(validator)
    world.env.run(until=_through(30))
    scores = validator.scores
    assert scores[3] > scores[4] > 0  # perfect beats half-right
    assert scores[5] == scores[6] == scores[7] == 0  # junk, too slow, wrong shape
    weights = world.weights(0)
    assert weights[3] > weights[4] and weights[5:].sum() == 0
    stats = validator.stats
    assert stats["timeout"] > 0 and stats["invalid"] > 0 and stats["rounds"] >= 25


@pytest.mark.parametrize("mode", ["unsigned", "other_key", "other_output"])
def test_unsigned_and_mis_signed_replies_score_zero(mode):
    """An answer earns its score only with its own hotkey's valid signature over this query
    and this output: uid 4's half-right answers score above 0 when signed (the test above)."""
    world = make_validator_world()
    world.miners.signing[4] = mode  # uid 4's half-right answers, badly signed
    validator = world.validator(0)
    world.start(validator)
    world.env.run(until=_through(20))
    assert validator.scores[3] > 0  # a perfect, properly signed answer scores
    assert validator.scores[4] == 0  # a scorable answer without a valid signature does not
    assert validator.stats["unsigned"] >= validator.stats["rounds"] > 0
    assert world.weights(0)[4] == 0


def test_only_rewarded_replies_have_their_signatures_checked():
    """A failed check can only take a reward away: uid 4 answering zeros (the know-nothing
    answer: no reward) unsigned scores 0 without a check and is not counted unsigned; uid 3's
    rewarded answer is checked in every round."""
    world = make_validator_world()
    world.miners.answers[4] = torch.zeros(BATCH, 1)
    world.miners.signing[4] = "unsigned"
    validator = world.validator(0)
    world.start(validator)
    opened = signing_worker.rows["open_replies"]
    world.env.run(until=_through(20))
    stats = validator.stats
    assert validator.scores[3] > 0 and validator.scores[4] == 0
    assert stats["unsigned"] == 0 and stats["rounds"] > 0
    assert signing_worker.rows["open_replies"] - opened == stats["rounds"]  # uid 3's alone


def test_validators_never_query_themselves_or_other_validators():
    world = make_validator_world()
    sent = []
    original = world.network.request
    world.network.request = lambda query, key: sent.append(query.targets) or original(query, key)
    world.start(world.validator(1))
    world.env.run(until=_through(10))
    assert sent and all(set(targets.tolist()) <= {3, 4, 5, 6, 7} for targets in sent)


def test_with_commit_reveal_weights_appear_only_after_the_reveal_epoch():
    world = make_validator_world(commit_reveal_weights_enabled=True, commit_reveal_period=1)
    world.start(world.validator(0))
    world.env.run(until=_through(18))  # before the first epoch (tempo 20, netuid 1: block 19)
    assert world.chain.ledger.commits.get(0) and not world.chain.ledger.weights[0].any()
    world.env.run(until=_through(30))
    assert world.weights(0)[3] > world.weights(0)[4] > 0


def test_weight_copier_copies_visible_weights_without_querying():
    world = make_validator_world()
    honest, copier = world.validator(0), world.validator(2, "weight_copier")
    world.start(honest, copier)
    world.env.run(until=_through(40))
    assert copier.stats["rounds"] == 0
    np.testing.assert_allclose(world.weights(2), world.weights(0), atol=1e-3)


def test_lazy_validator_weights_every_miner_equally():
    world = make_validator_world()
    lazy = world.validator(1, "lazy")
    world.start(lazy)
    world.env.run(until=_through(12))
    assert lazy.stats["rounds"] == 0
    np.testing.assert_allclose(world.weights(1)[3:], 0.2, atol=1e-4)


@pytest.mark.parametrize("behaviour", ["cabal", "self_dealer"])
def test_operator_validators_weight_only_their_own_miners(behaviour):
    world = make_validator_world()
    world.start(world.validator(0, behaviour, own=("hotkey-5", "hotkey-6")))
    world.env.run(until=_through(12))
    weights = world.weights(0)
    assert weights[5] == pytest.approx(0.5, abs=1e-4) and weights[6] == pytest.approx(0.5, abs=1e-4)
    assert weights[3] < 1e-4


def test_a_replaced_uid_starts_from_zero():
    world = make_validator_world()
    validator = world.validator(0)
    world.start(validator)
    world.env.run(until=_through(10))
    assert validator.scores[3] > 0
    world.chain.ledger.block_at_registration[3] = 10  # a new miner took uid 3
    validator._forget_replaced(world.chain.ledger.block_at_registration)
    assert validator.scores[3] == 0 and validator.scores[4] > 0


def test_state_round_trip_continues_identically():
    def run(until, state=None):
        world = make_validator_world()
        validator = world.validator(0, sample_size=2)
        if state is not None:
            validator.restore(state)
        world.start(validator)
        world.env.run(until=_through(until))
        return validator

    first = run(10)
    resumed = make_validator_world().validator(0, sample_size=2)
    resumed.restore(first.state())
    np.testing.assert_array_equal(resumed.scores, first.scores)
    assert resumed.sample_stream.random() == first.sample_stream.random()


def test_a_uid_with_a_permit_but_little_stake_is_still_queried_as_a_miner():
    world = make_validator_world()
    world.chain.ledger.validator_permit[4] = True  # miners earn stake and permits too
    sent = []
    original = world.network.request
    world.network.request = lambda query, key: sent.append(query.targets) or original(query, key)
    world.start(world.validator(0))
    world.env.run(until=_through(5))
    assert any(4 in targets for targets in sent)


def test_consensus_copier_follows_the_last_epochs_consensus():
    world = make_validator_world()
    honest = world.validator(0)
    copier = world.validator(2, "weight_copier", copy_source="consensus")
    world.start(honest, copier)
    world.env.run(until=_through(18))
    assert not world.chain.ledger.weights[2].any()  # no epoch yet: nothing to copy
    world.env.run(until=_through(45))  # epochs at blocks 19 and 40
    consensus = world.chain.last_epoch.consensus
    assert consensus[3] > consensus[4] > 0
    np.testing.assert_allclose(world.weights(2), consensus / consensus.sum(), atol=1e-3)
