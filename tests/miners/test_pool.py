"""The miner pool behind the simulated network: behaviours, query policy, training, state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from subnetsim.miners.miner import STAT_NAMES
from subnetsim.subnet.chain import BLOCK_SECONDS
from subnetsim.subnet.scenario import QueryPolicy
from subnetsim.subnet.transport.sim import OK, REFUSED, TIMEOUT, UNREACHABLE
from tests.miners.conftest import FIRST_MINER, TASK, ask, make_pool_world


def _stat(world, key: int, name: str) -> int:
    return int(world.pool.stats[key, STAT_NAMES.index(name)])


def test_better_quality_answers_closer_to_the_truth_and_lazy_answers_the_mean():
    world = make_pool_world([("honest", {"quality": 1.0}), ("honest", {"quality": 0.0}),
                             ("lazy", {"answer": "constant"})])
    responses, truth = ask(world, [0, 1, 2])
    assert responses.status.tolist() == [OK, OK, OK]
    losses = world.pool.task.losses(torch.stack(list(responses.payloads)), truth)
    assert losses[0] < losses[1]
    assert torch.equal(responses.payloads[2], torch.zeros(TASK.batch, 1))


def test_a_query_for_many_miners_is_one_batched_forward(monkeypatch):
    world = make_pool_world([("honest", {}), ("noisy", {}), ("flaky", {"miss_probability": 0.0}),
                             ("sybil", {"operator": "farm"}), ("sybil", {"operator": "farm"})])
    calls = []
    original = world.pool.bank.forward
    monkeypatch.setattr(world.pool.bank, "forward",
                        lambda rows, inputs: calls.append(rows.tolist()) or original(rows, inputs))
    responses, _ = ask(world, [0, 1, 2, 3, 4])
    assert calls == [[0, 1, 2, 3]]  # one call; the two sybils share model 3
    assert torch.equal(responses.payloads[3], responses.payloads[4])
    assert not torch.equal(responses.payloads[1], original(torch.tensor([1]), _inputs(world))[0])


def _inputs(world):
    return world.pool.task.sample(np.random.default_rng(7), TASK.batch, "query")[0]


def test_policy_refuses_unregistered_and_unstaked_callers():
    world = make_pool_world([("honest", {})])
    assert ask(world, [0], caller="stranger")[0].status.tolist() == [REFUSED]
    assert ask(world, [0], caller="pauper")[0].status.tolist() == [REFUSED]
    assert ask(world, [0], caller="caller")[0].status.tolist() == [OK]
    assert _stat(world, 0, "refused") == 2 and _stat(world, 0, "answered") == 1


def test_unknown_targets_are_unreachable_and_slow_replies_time_out():
    world = make_pool_world([("honest", {}), ("copycat", {"victim": FIRST_MINER,
                                                          "relay_seconds": 10.0})],
                            stake={1: 100.0})
    responses, _ = ask(world, [], uids=[0, FIRST_MINER, FIRST_MINER + 1], deadline=2.0)
    assert responses.status.tolist() == [UNREACHABLE, OK, TIMEOUT]
    assert responses.payloads[0] is None and responses.payloads[2] is None


def test_copycat_without_stake_is_refused_by_its_victim():
    world = make_pool_world([("honest", {}), ("copycat", {"victim": FIRST_MINER})])
    responses, _ = ask(world, [1])
    assert responses.status.tolist() == [TIMEOUT]  # it took the query, then had nothing to send
    assert _stat(world, 1, "relay_refused") == 1 and _stat(world, 0, "relayed") == 0


def test_copycat_with_stake_replays_its_victim_until_the_rate_limit():
    world = make_pool_world([("honest", {}), ("copycat", {"victim": FIRST_MINER,
                                                          "relay_seconds": 0.0})],
                            stake={1: 100.0},
                            policy=QueryPolicy(min_stake=10.0, rate_limit=2, rate_window=100))
    outcomes = []
    for caller in ("caller", "caller-1", "caller-2", "caller-3"):  # each within its own quota
        responses, _ = ask(world, [0, 1], caller=caller)
        outcomes.append(responses.status.tolist())
        if responses.status[1] == OK:
            assert torch.equal(responses.payloads[0], responses.payloads[1])
    assert outcomes == [[OK, OK], [OK, OK], [OK, TIMEOUT], [OK, TIMEOUT]]
    assert _stat(world, 1, "relay_rate_limited") == 2 and _stat(world, 0, "relayed") == 2


def test_malformed_and_flaky_miners_fail_without_raising():
    world = make_pool_world([("malformed", {"fault": "mixed"}),
                             ("flaky", {"miss_probability": 1.0}),
                             ("flaky", {"miss_probability": 0.0, "offline_every": 5,
                                        "offline_blocks": 5})])
    responses, _ = ask(world, [0, 1, 2])
    assert responses.status.tolist() == [OK, TIMEOUT, UNREACHABLE]
    assert _stat(world, 1, "missed") == 1


def test_trainer_improves_as_blocks_pass_and_honest_does_not():
    world = make_pool_world([("trainer", {"quality": 0.2, "train_interval": 1,
                                          "train_steps": 5}), ("honest", {"quality": 0.2})])
    uids = [FIRST_MINER, FIRST_MINER + 1]
    before = world.pool.model_losses()[uids]
    world.env.process(world.chain.produce_blocks(world.env))
    world.env.process(world.pool.serve(world.env))
    world.env.run(until=40 * BLOCK_SECONDS)
    after = world.pool.model_losses()[uids]
    assert after[0] < before[0] * 0.7
    assert after[1] == before[1]


def test_model_losses_per_uid():
    world = make_pool_world([("honest", {}), ("malformed", {}), ("copycat", {"victim": 5}),
                             ("lazy", {"answer": "constant"})])
    losses = world.pool.model_losses()
    assert np.isnan(losses[:FIRST_MINER]).all()  # validators and the pauper serve nothing
    assert np.isnan(losses[FIRST_MINER + 1])  # malformed
    assert losses[FIRST_MINER + 2] == losses[FIRST_MINER]  # a copycat serves its victim's answers
    # Zeros are the mean of centred targets: the know-nothing baseline.
    assert losses[FIRST_MINER + 3] == pytest.approx(world.pool.task.baseline_loss, rel=0.1)


def test_state_round_trip_continues_identically():
    miners = [("trainer", {"quality": 0.3, "train_interval": 1}), ("lazy", {"answer": "random"})]
    original = make_pool_world(miners)
    original.env.process(original.chain.produce_blocks(original.env))
    original.env.process(original.pool.serve(original.env))
    original.env.run(until=10 * BLOCK_SECONDS)
    copy = make_pool_world(miners)
    assert not torch.equal(copy.pool.bank.weights[0], original.pool.bank.weights[0])
    copy.pool.restore(original.pool.state())
    assert torch.equal(copy.pool.bank.velocity[0], original.pool.bank.velocity[0])
    one, two = ask(original, [0, 1], block=20)[0], ask(copy, [0, 1], block=20)[0]
    for a, b in zip(one.payloads, two.payloads, strict=True):
        assert torch.equal(a, b)


def test_a_copycat_without_a_named_victim_copies_the_top_miner_by_incentive():
    world = make_pool_world([("honest", {"quality": 0.5}), ("honest", {"quality": 1.0}),
                             ("copycat", {"victim": -1, "relay_seconds": 0.0})],
                            stake={2: 100.0})
    assert ask(world, [2])[0].status.tolist() == [TIMEOUT]  # no epoch yet: nobody to copy

    class LastEpochFake:  # the one field a copycat reads
        incentive = np.zeros(16)

    LastEpochFake.incentive[[FIRST_MINER + 1, FIRST_MINER + 2]] = [0.6, 0.9]
    world.chain.last_epoch = LastEpochFake()  # its own uid is never its victim
    responses, _ = ask(world, [1, 2])
    assert torch.equal(responses.payloads[0], responses.payloads[1])


def test_a_query_with_bad_inputs_is_refused_not_a_crash():
    from subnetsim.subnet.transport.sim import Query

    world = make_pool_world([("honest", {})])
    for payload in (torch.zeros(4, 8, dtype=torch.float64), torch.zeros(4, 3), "inputs", None):
        query = Query(caller_hotkey="caller", targets=np.array([FIRST_MINER]), payload=payload,
                      deadline=1.0, block=1)
        assert world.pool.handle(query).status.tolist() == [REFUSED]
