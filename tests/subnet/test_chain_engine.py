"""The chain engine as a whole: epoch schedule, conservation of TAO, who gets paid, determinism.

Small worlds (4 scripted validators, 12 idle miners, 16 uids, tempo 20) built with
``build_world`` from ``scenario_from_dict``, driven through the SimPy clock.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import pytest
import simpy

from subnetsim.run import run
from subnetsim.subnet.chain import BLOCK_SECONDS
from subnetsim.subnet.extrinsics import AddStake, Register
from subnetsim.subnet.scenario import Scenario, scenario_from_dict
from subnetsim.world import World, build_world
from tests.subnet.conftest import through

OWNER_CUT = 11796 / 65535  # subtensor's SubnetOwnerCut, the default subnet_owner_cut
VALIDATORS = range(0, 4)
MINERS = range(4, 16)


def small_scenario(commit_reveal: bool = False, **hyper: Any) -> Scenario:
    """~4 validators + 12 miners, tempo 20, weights every 11 blocks."""
    return scenario_from_dict({
        "name": "small",
        "blocks": 200,
        "hyperparameters": {"tempo": 20, "max_allowed_uids": 16, "weights_rate_limit": 10,
                            "commit_reveal_weights_enabled": commit_reveal, **hyper},
        "neurons": [
            {"role": "validator", "count": 4, "behaviour": "fixed", "stake": 1000.0,
             "stake_spread": 0.5, "balance": 100.0},
            {"role": "miner", "count": 12, "behaviour": "idle", "balance": 10.0},
        ],
    })


# ----------------------------------------------------------------------------------------------
# the epoch schedule


@pytest.mark.parametrize(("tempo", "netuid", "first"), [
    # subtensor's table in run_coinbase.rs (tempo | netuid | first epoch block); block 0 is
    # genesis here, so a first epoch "at 0" shows up one period later.
    (1, 0, 0), (1, 1, 1), (2, 0, 1), (2, 1, 0), (100, 0, 99), (100, 1, 98), (9, 1, 7),
])
def test_epochs_run_on_the_classic_schedule(env, make_chain, recorder, tempo, netuid, first):
    chain = make_chain(tempo=tempo, netuid=netuid, epoch_schedule="modulo")
    last = 2 * (tempo + 1) + first + 1
    env.run(until=through(last))

    epoch_blocks = [record.block for record in recorder.epochs]
    assert epoch_blocks == [b for b in range(first, last + 1, tempo + 1) if b >= 1]
    assert all((b + netuid + 1) % (tempo + 1) == tempo for b in epoch_blocks)
    assert [record.index for record in recorder.epochs] == list(range(1, len(epoch_blocks) + 1))
    assert chain.epoch_index == len(epoch_blocks)


@pytest.mark.parametrize(("tempo", "netuid"), [(1, 0), (2, 1), (9, 1), (20, 3)])
def test_epochs_run_every_tempo_blocks_after_the_last_epoch(env, make_chain, recorder, tempo,
                                                            netuid):
    # run_coinbase.rs : should_run_epoch (HEAD, dynamic tempo): block - LastEpochBlock >= tempo,
    # LastEpochBlock starting at genesis minus netuid % tempo, saturating at 0
    # (subnet.rs : init_new_network). A period of tempo, not tempo + 1.
    chain = make_chain(tempo=tempo, netuid=netuid)
    last = 4 * tempo + 1
    env.run(until=through(last))

    epoch_blocks = [record.block for record in recorder.epochs]
    assert epoch_blocks == list(range(tempo, last + 1, tempo))
    assert chain.last_epoch_block == epoch_blocks[-1]


# ----------------------------------------------------------------------------------------------
# conservation and payouts


def total_tao(world: World) -> float:
    """Everything that exists: stake, free balances, burned TAO and emission not yet paid."""
    chain = world.chain
    ledger = chain.ledger
    return ledger.total_stake() + ledger.total_balance() + ledger.burned + chain.pending.total


def test_tao_is_conserved_block_by_block_minted_in_nothing_else(recorder):
    world = build_world(small_scenario(), seed=11, recorder=recorder)
    # Weights halted for the first two epochs: those pay the miners' pool to validators.
    world.chain.set_halt(("weights",), until_block=40)
    initial = total_tao(world)
    residuals: list[float] = []
    outcomes: dict[str, Any] = {}

    def auditor(env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        """Checks the books between blocks; delegates once and registers once on the way."""
        chain = world.chain
        while chain.block < 200:
            yield env.timeout(BLOCK_SECONDS)
            expected = initial + chain.minted
            residuals.append(abs(total_tao(world) - expected) / expected)
            if chain.block == 30:  # a validator's coldkey delegates to another validator
                outcomes["stake"] = chain.submit(
                    AddStake(hotkey="validator-1", coldkey="coldkey-0", amount=50.0))
            if chain.block == 45:  # a full subnet: the registration burns and prunes
                outcomes["register"] = chain.submit(
                    Register(hotkey="late-miner", coldkey="coldkey-6"))

    world.env.process(auditor(world.env))
    world.run_to_block(200)

    assert outcomes["stake"].value.accepted and outcomes["register"].value.accepted
    assert world.chain.ledger.burned > 0 and world.chain.epoch_index >= 9
    assert world.chain.minted == pytest.approx(200 * 1.0)
    assert len(residuals) == 200
    assert max(residuals) < 1e-9
    # The first epoch (block 20, tempo 20) had no weights: validators got both pools of its
    # 20 blocks.
    first = recorder.epochs[0]
    assert first.block == 20 and sum(first.incentive_tao) == 0.0
    assert sum(first.dividends_tao) == pytest.approx(20 * (1 - OWNER_CUT))


def test_incentive_goes_to_miners_and_dividends_to_validators():
    world = build_world(small_scenario(), seed=5)
    world.run_to_block(130)  # epochs at 20, 40, ..., 120: several with weights set
    last = world.chain.last_epoch
    outputs = last

    assert last.block == 120
    assert outputs.incentive[list(VALIDATORS)].sum() == 0.0
    assert outputs.incentive[list(MINERS)].sum() == pytest.approx(1.0)
    assert outputs.dividends[list(MINERS)].sum() == 0.0
    assert (outputs.dividends[list(VALIDATORS)] > 0).all()
    # One tempo of emission: after the owner's cut, half to miners, half to validators.
    pool = 20 * 1.0 * (1 - OWNER_CUT) * 0.5
    assert last.incentive_tao.sum() == pytest.approx(pool)
    assert last.dividends_tao.sum() == pytest.approx(pool)
    assert last.incentive_tao[list(VALIDATORS)].sum() == 0.0
    assert last.dividends_tao[list(MINERS)].sum() == 0.0
    assert world.chain.ledger.stake[list(MINERS)].sum() > 0  # miners started with none


# ----------------------------------------------------------------------------------------------
# determinism


def test_running_in_chunks_gives_the_same_chain_as_one_run():
    scenario = small_scenario(commit_reveal=True)
    end = 150.25 * BLOCK_SECONDS
    whole = build_world(scenario, seed=2)
    whole.run_for(end)
    chunked = build_world(scenario, seed=2)
    for seconds in (7.0, 100.5, 0.25, 12.0 * 37, 6.0):
        chunked.run_for(seconds)
    chunked.run_for(end - chunked.env.now)

    assert whole.chain.block == chunked.chain.block == 150
    assert chunked.chain.head_hash == whole.chain.head_hash


def test_same_scenario_and_seed_give_the_same_digest_and_another_seed_another():
    scenario = small_scenario(commit_reveal=True)
    first = run(scenario, seed=9, blocks=120)
    again = run(scenario, seed=9, blocks=120)
    other = run(scenario, seed=10, blocks=120)

    assert first.digest == again.digest
    np.testing.assert_array_equal(first.stake, again.stake)
    assert other.digest != first.digest


@pytest.mark.parametrize("commit_reveal", [False, True], ids=["set_weights", "commit_reveal"])
def test_a_checkpoint_restored_mid_run_continues_to_the_uninterrupted_digest(commit_reveal):
    scenario = small_scenario(commit_reveal=commit_reveal)
    uninterrupted = build_world(scenario, seed=4)
    uninterrupted.run_to_block(160)

    original = build_world(scenario, seed=4)
    original.run_to_block(67)  # mid-epoch, with commits waiting for their reveal
    checkpoint = original.state()
    restored = World.from_state(scenario, 4, checkpoint, original.chain.head_hash)
    restored.start()
    restored.run_to_block(160)
    original.run_to_block(160)  # taking the checkpoint did not disturb the original

    assert restored.chain.block == 160
    assert restored.chain.head_hash == uninterrupted.chain.head_hash
    assert original.chain.head_hash == uninterrupted.chain.head_hash
    np.testing.assert_array_equal(restored.chain.ledger.stake, uninterrupted.chain.ledger.stake)
