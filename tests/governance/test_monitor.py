"""The monitor's detectors (pure functions, hand-worked numbers) and its SimPy process."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import simpy

from subnetsim.governance.monitor import (
    Alarm,
    Monitor,
    MonitorConfig,
    find_weight_bloc,
    herfindahl,
    recent_registrations,
)
from subnetsim.subnet.chain import BLOCK_SECONDS
from subnetsim.subnet.extrinsics import Register
from subnetsim.subnet.scenario import scenario_from_dict
from subnetsim.world import build_world

# ----------------------------------------------------------------------------------------------
# detectors


def test_herfindahl_is_the_sum_of_squared_shares():
    assert herfindahl(np.ones(4)) == pytest.approx(0.25)
    assert herfindahl(np.array([0.0, 3.0, 0.0])) == pytest.approx(1.0)
    assert herfindahl(np.array([1.0, 3.0])) == pytest.approx(0.25**2 + 0.75**2)
    assert herfindahl(np.zeros(3)) == 0.0


def noisy_views(count: int, seed: int) -> np.ndarray:
    """Honest validators: one shared quality over 10 miners, each with its own noise."""
    rng = np.random.default_rng(seed)
    quality = rng.random(10)
    return np.clip(quality + rng.normal(0, 0.05, (count, 10)), 0, None)


def test_honest_validators_with_their_own_noise_form_no_divergent_bloc():
    weights = noisy_views(6, seed=1)  # some pairs happen to correlate above 0.99
    assert find_weight_bloc(weights, np.full(6, 100.0), np.arange(6), 0.99, 0.9) is None


def test_identical_weights_that_diverge_from_the_rest_are_a_bloc_with_its_stake_share():
    cabal = np.zeros((3, 10))
    cabal[:, [8, 9]] = 1.0
    weights = np.vstack([noisy_views(3, seed=2), cabal])
    stake = np.array([100.0, 100.0, 100.0, 300.0, 200.0, 100.0])
    bloc = find_weight_bloc(weights, stake, np.array([4, 5, 6, 7, 8, 9]), 0.99, 0.9)

    assert bloc is not None and bloc.uids == (7, 8, 9)
    assert bloc.stake_share == pytest.approx(600 / 900)


def test_validators_that_all_agree_are_not_a_bloc():
    weights = np.tile(noisy_views(1, seed=3), (4, 1))
    assert find_weight_bloc(weights, np.ones(4), np.arange(4), 0.99, 0.9) is None


def test_a_bloc_that_agrees_with_the_others_is_not_flagged():
    honest = noisy_views(3, seed=4)
    copies = np.tile(honest.mean(axis=0), (2, 1))  # two copiers of the honest consensus
    weights = np.vstack([honest, copies])
    assert find_weight_bloc(weights, np.ones(5), np.arange(5), 0.99, 0.9) is None


def test_recent_registrations_count_the_window_and_skip_genesis():
    at = np.array([0, 0, 3, 5, 8, 9, 10])
    registered = np.array([True, True, True, True, True, False, True])
    # window (5, 10]: blocks 8 and 10 (the uid from block 9 was pruned again)
    assert recent_registrations(at, registered, block=10, window=5) == 2
    assert recent_registrations(at, registered, block=4, window=10) == 1  # genesis not counted


# ----------------------------------------------------------------------------------------------
# the process


@dataclasses.dataclass(slots=True)
class FakeEpoch:
    block: int
    incentive: np.ndarray


@dataclasses.dataclass(slots=True)
class FakeChain:
    """What the concentration detector reads: the block and the last epoch's incentive."""

    block: int = 0
    last_epoch: FakeEpoch | None = None


def test_a_concentration_jump_alarms_once_per_new_epoch_only():
    chain = FakeChain()
    config = MonitorConfig(concentration_jump=0.2, bloc_stake_fraction=0.0,
                           registration_burst=0)
    monitor = Monitor(chain, config, sink=lambda alarm: None)  # type: ignore[arg-type]
    found = []
    for block, incentive in ((20, [1, 1, 1, 1]), (30, [1, 1, 1, 1]), (41, [1, 1, 1, 1]),
                             (62, [0, 0, 1, 3])):
        chain.block, chain.last_epoch = block, FakeEpoch(block=block // 20 * 20,
                                                         incentive=np.array(incentive))
        found += monitor.check(now=block * BLOCK_SECONDS)

    assert [(a.block, a.detector) for a in found] == [(62, "emission_concentration")]
    assert found[0].value == pytest.approx(0.625 - 0.25)


def small_world():
    scenario = scenario_from_dict({
        "hyperparameters": {"max_allowed_uids": 32, "tempo": 20, "immunity_period": 0,
                            "commit_reveal_weights_enabled": False},
        "registration": {"initial_burn": 0.1, "min_burn": 0.1,
                         "max_registrations_per_interval": 100},
        "neurons": [{"role": "validator", "count": 2, "stake": 100.0, "balance": 50.0},
                    {"role": "miner", "count": 4}],
    })
    return build_world(scenario, seed=1)


def test_the_monitor_process_raises_each_alarm_once_into_its_sink():
    world = small_world()
    env, chain = world.env, world.chain
    sink: list[Alarm] = []
    config = MonitorConfig(concentration_jump=0.0, bloc_stake_fraction=0.0,
                           registration_window_blocks=5, registration_burst=8,
                           scheduled_alarms=(6,))
    monitor = Monitor(chain, config, sink=sink.append)
    env.process(monitor.watch(env))

    def flood(env: simpy.Environment, block: int, first: int):
        yield env.timeout((block - 0.5) * BLOCK_SECONDS)
        for index in range(first, first + 8):
            chain.submit(Register(hotkey=f"sybil-{index}", coldkey="coldkey-0"))

    env.process(flood(env, 3, 0))
    env.process(flood(env, 8, 8))
    world.run_to_block(12)

    assert [(a.block, a.detector, a.value) for a in sink] == [
        (3, "registration_burst", 8.0), (6, "scheduled_drill", 6.0)]
    assert sink[0].time == pytest.approx(3.75 * BLOCK_SECONDS)
    assert monitor.alarms == sink
