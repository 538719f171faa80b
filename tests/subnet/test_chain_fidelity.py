"""The chain follows subtensor's current rules (issue 14): one test per discrepancy fixed, each
naming the subtensor source (file : function) it follows. Expected values come from the rule
as stated there, never from the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from subnetsim.subnet.extrinsics import CommitTimelockedWeights, Register, SetWeights
from subnetsim.subnet.ledger import RegistrationRules
from subnetsim.subnet.yuma import EpochInputs, YumaParams, epoch
from tests.subnet.conftest import Genesis, through

U16 = 65535


# --- classic bonds storage ---------------------------------------------------------------------


def test_every_stored_classic_bond_column_peaks_at_65535():
    # math.rs : inplace_col_max_upscale_sparse divides each entry by its column maximum, so the
    # maximum is exactly 1 and stored as 65535 (multiplying by the reciprocal stored ~23% of
    # column maxima as 65534).
    rng = np.random.default_rng(7)
    v, n = 16, 128
    rows = np.arange(v)
    weights = np.where(rng.random((v, n)) < 0.7, rng.integers(1, U16 + 1, (v, n)), 0)
    inputs = EpochInputs(
        stake=rng.random(n) * (np.arange(n) < v), weights=weights / U16,
        bonds=rng.integers(0, U16 + 1, (v, n)) / U16, validator_uids=rows,
        validator_permit=np.arange(n) < v, last_update=np.full(n, 10),
        block_at_registration=np.zeros(n, dtype=int), current_block=20,
        recent_registration_block=11)
    for backend in ("numpy", "compiled"):
        stored = np.floor(epoch(inputs, YumaParams(), backend=backend).bonds * U16)
        peaks = stored.max(axis=0)
        assert (peaks[peaks > 0] == U16).all(), backend


# --- order within a block and the schedule ---------------------------------------------------


def test_the_epoch_runs_before_the_extrinsics_of_its_block(env, make_chain, submit_at, recorder):
    # block_step.rs : block_step runs the epoch in on_initialize, before the block's
    # extrinsics: weights set in the epoch block count only from the next epoch.
    chain = make_chain(tempo=10)
    submit_at(chain, 10, SetWeights(hotkey="val-0", uids=(2,), weights=(1.0,)))
    submit_at(chain, 10, SetWeights(hotkey="val-1", uids=(2,), weights=(1.0,)))
    env.run(until=through(20))
    first, second = recorder.epochs[0], recorder.epochs[1]
    assert (first.block, second.block) == (10, 20)
    assert first.incentive.sum() == 0.0
    assert second.incentive[2] == pytest.approx(1.0)


# --- registration ----------------------------------------------------------------------------


def test_the_burn_halves_every_half_life_and_rises_by_the_multiplier_per_registration(
        env, make_chain, submit_at, call_after):
    # registration.rs : update_registration_prices_for_networks decays the burn every block
    # after block 1 by f with f ** BurnHalfLife = 1/2 (utils/misc.rs : decay_factor_q32);
    # bump_registration_price_after_registration multiplies it by BurnIncreaseMult (1.26).
    # HEAD enforces no per-block or per-interval cap: three registrations in one block pass.
    rules = RegistrationRules(initial_burn=1.0, min_burn=0.0005, burn_half_life=360)
    chain = make_chain(rules=rules, max_allowed_uids=16, balances={"newcomer": 100.0})
    at_361 = call_after(361, lambda: chain.ledger.burn)
    done = [submit_at(chain, 362, Register(hotkey=f"hot-{k}", coldkey="newcomer"))
            for k in range(3)]
    after = call_after(362, lambda: chain.ledger.burn)
    env.run(until=through(362))
    assert at_361.value == pytest.approx(0.5, rel=1e-6)  # 360 decays since block 1
    assert all(d.value.accepted for d in done)
    paid = [d.value.facts["burn"] for d in done]
    assert paid[1] == pytest.approx(paid[0] * 1.26, rel=1e-8)
    assert paid[2] == pytest.approx(paid[0] * 1.26 ** 2, rel=1e-8)
    assert after.value == pytest.approx(paid[0] * 1.26 ** 3, rel=1e-8)


def test_the_legacy_interval_model_caps_one_registration_per_block(env, make_chain, submit_at):
    # checked_allowed_register (until 2026-01): RegistrationsThisBlock < MaxRegistrationsPerBlock.
    rules = RegistrationRules(burn_model="interval", max_registrations_per_block=1)
    chain = make_chain(rules=rules, max_allowed_uids=16)
    done = [submit_at(chain, 2, Register(hotkey=f"hot-{k}", coldkey="newcomer")) for k in (0, 1)]
    env.run(until=through(2))
    assert done[0].value.accepted
    assert done[1].value.error == "TooManyRegistrationsThisBlock"


PRUNE_GUARD = [
    # (min_non_immune_uids, uid pruned): uids 0, 1 immune (registered at 8), 2, 3 not; lowest
    # emission: uid 1 (immune), then uid 3 among the non-immune.
    (1, 3),  # two non-immune uids > 1: prune among them
    (2, 1),  # two non-immune uids, not > 2: prune the best immune uid instead
]


@pytest.mark.parametrize(("min_free", "pruned"), PRUNE_GUARD)
def test_pruning_keeps_min_non_immune_uids(env, make_chain, submit_at, min_free, pruned):
    # registration.rs : get_neuron_to_prune: a non-immune uid only while more than
    # MinNonImmuneUids non-immune uids remain, else the lowest-emission immune uid.
    neurons = [Genesis(hotkey=f"hot-{uid}", coldkey=f"cold-{uid}", registered_at=block)
               for uid, block in enumerate((8, 8, 0, 0))]
    chain = make_chain(neurons=neurons, max_allowed_uids=4, immunity_period=5,
                       rules=RegistrationRules(min_non_immune_uids=min_free))
    chain.ledger.last_emission[:] = (3.0, 0.5, 2.0, 1.0)
    done = submit_at(chain, 10, Register(hotkey="new-hot", coldkey="newcomer"))
    env.run(until=through(10))
    assert done.value.facts["uid"] == pruned


def test_the_owner_hotkey_is_never_pruned(env, make_ledger):
    # registration.rs : get_neuron_to_prune skips the owner's immortal hotkeys entirely.
    ledger = make_ledger(max_allowed_uids=6, rules=RegistrationRules(min_non_immune_uids=0))
    ledger.last_emission[:] = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)[: ledger.capacity]
    ledger.owner_uid = None
    assert ledger.uid_to_prune(100) == 0
    ledger.owner_uid = 0
    assert ledger.uid_to_prune(100) == 1


def test_a_uid_registered_in_an_epoch_block_inherits_its_predecessors_bond_column(
        env, make_chain, submit_at, call_after):
    # uids.rs : clear_neuron keeps other validators' bonds to a replaced uid; run_epoch.rs masks
    # them only if last_tempo <= BlockAtRegistration with last_tempo = LastMechansimStepBlock
    # + 1. The epoch runs before the block's extrinsics, so a uid registered in the epoch block
    # is older than that epoch and keeps (inherits) the column at the next one.
    neurons = [Genesis(hotkey="val-0", coldkey="cold-0", stake=100.0, permit=True),
               Genesis(hotkey="val-1", coldkey="cold-1", stake=50.0, permit=True),
               Genesis(hotkey="miner-2", coldkey="cold-2"),
               Genesis(hotkey="miner-3", coldkey="cold-3")]
    chain = make_chain(neurons=neurons, tempo=10, max_allowed_uids=4,
                       rules=RegistrationRules(min_non_immune_uids=0))
    for validator in ("val-0", "val-1"):  # miner-3 earns least: the one pruned at block 20
        submit_at(chain, 2, SetWeights(hotkey=validator, uids=(2, 3), weights=(1.0, 0.25)))
    done = submit_at(chain, 20, Register(hotkey="heir", coldkey="newcomer"))
    column = call_after(19, lambda: chain.ledger.bonds[:2, 3].copy())
    gathered = call_after(29, lambda: chain.gather_epoch_inputs(30))
    env.run(until=through(29))
    assert done.value.facts["uid"] == 3 and column.value.min() > 0
    inputs = gathered.value
    assert inputs.block_at_registration[3] == 20 < inputs.recent_registration_block == 21
    assert (inputs.bonds[:2, 3] > 0).all()


# --- commit-reveal ---------------------------------------------------------------------------


def test_timelocked_commits_are_revealed_by_the_chain_before_the_reveal_epoch(
        env, make_chain, submit_at, call_after, recorder):
    # weights.rs : internal_commit_timelocked_weights stores the commit under the current
    # epoch and sets LastUpdate at the commit; reveal_commits.rs :
    # reveal_crv3_commits_for_subnet opens it in on_initialize of the block whose epoch is
    # commit epoch + reveal period, before that epoch runs. Nobody sends a reveal.
    chain = make_chain(tempo=10, commit_reveal_weights_enabled=True, commit_reveal_period=1)
    for validator in ("val-0", "val-1"):
        submit_at(chain, 3, CommitTimelockedWeights(hotkey=validator, uids=(2,), weights=(1.0,)))
    before = call_after(9, lambda: chain.ledger.weights[:2, 2].copy())
    env.run(until=through(10))
    assert chain.ledger.last_update[:2].tolist() == [3, 3]
    assert not before.value.any()  # sealed until the reveal
    assert chain.ledger.weights[:2, 2].tolist() == [U16, U16]
    assert recorder.epochs[0].block == 10
    assert recorder.epochs[0].incentive[2] == pytest.approx(1.0)
    assert [e.data["uid"] for e in recorder.events_of("weights_revealed")] == [0, 1]


def test_a_v2_commit_is_refused_on_a_timelocked_subnet(env, make_chain, submit_at):
    from subnetsim.subnet.extrinsics import CommitWeights

    chain = make_chain(commit_reveal_weights_enabled=True)
    done = submit_at(chain, 2, CommitWeights(hotkey="val-0", commit_hash="00"))
    env.run(until=through(2))
    assert done.value.error == "IncorrectCommitRevealVersion"


# --- emission accounting ---------------------------------------------------------------------


def test_owner_cut_is_staked_and_owner_incentive_recycled(env, make_chain, submit_at, recorder):
    # run_coinbase.rs : distribute_dividends_and_incentives stakes the owner cut to the owner
    # hotkey and burns (or recycles) incentive earned by the owner's hotkeys: the "owner burn"
    # pattern, where validators weight the owner's uid and that share of the miner pool leaves
    # supply.
    chain = make_chain(tempo=10)
    chain.owner_uid = chain.ledger.owner_uid = 2  # miner-2's hotkey is the owner's
    for validator in ("val-0", "val-1"):
        submit_at(chain, 2, SetWeights(hotkey=validator, uids=(2, 3), weights=(3.0, 1.0)))
    stake_before = chain.ledger.stake[2]
    env.run(until=through(10))
    record = recorder.epochs[0]
    cut = chain.hyper.subnet_owner_cut
    miners_pool = 10 * (1 - cut) * 0.5
    assert record.incentive[2] == pytest.approx(0.75)
    assert record.incentive_tao[2] == 0.0  # withheld from the owner's hotkey
    assert record.incentive_tao[3] == pytest.approx(0.25 * miners_pool)
    assert chain.ledger.stake[2] - stake_before == pytest.approx(10 * cut)  # the owner cut
    assert chain.ledger.burned == pytest.approx(0.75 * miners_pool)


def test_emission_nobody_can_be_paid_is_lost_not_carried(env, make_chain, recorder):
    # run_coinbase.rs : drain_pending empties every pending pool at the epoch; with no stake
    # and no incentive nobody receives the validator alpha, and the next epoch starts from zero.
    neurons = [Genesis(hotkey=f"miner-{uid}", coldkey=f"cold-{uid}") for uid in range(4)]
    chain = make_chain(neurons=neurons, tempo=10)
    env.run(until=through(10))
    assert recorder.epochs[0].emission_tao.sum() == 0.0
    assert chain.pending.total == 0.0
    assert chain.ledger.burned == pytest.approx(10 * (1 - chain.hyper.subnet_owner_cut))


# --- snapshots ---------------------------------------------------------------------------------


def test_subnetsim_epoch_reads_snapshot_weights_as_the_chain_stores_them(tmp_path):
    # weights.rs : internal_set_weights stores each row max-upscaled to u16 and rounded
    # (math.rs : vec_max_upscale_to_u16); the epoch reads those integers, not the floats.
    import json
    import subprocess
    import sys

    rows = {"0": [[2, 0.3], [3, 0.7001]], "1": [[2, 1.0], [3, 0.123456]]}
    snapshot = {"format": "subnetsim.snapshot/1", "block": 1000, "n_uids": 4,
                "stake": [100.0, 60.0, 0.0, 0.0], "weights": rows,
                "validator_permit": [True, True, False, False]}
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(snapshot))
    stored = np.zeros((2, 4))
    for row, entries in rows.items():
        peak = max(value for _, value in entries)
        for uid, value in entries:
            stored[int(row), uid] = np.floor(value / peak * U16 + 0.5)
    expected = epoch(EpochInputs(
        stake=snapshot["stake"], weights=stored / U16, bonds=np.zeros((2, 4)),
        validator_uids=np.array([0, 1]), validator_permit=snapshot["validator_permit"],
        last_update=np.full(4, 1000), block_at_registration=np.zeros(4, dtype=int),
        current_block=1000, recent_registration_block=1001), YumaParams())
    result = subprocess.run([sys.executable, "-m", "subnetsim", "epoch", str(path), "--json"],
                            capture_output=True, text=True, check=True)
    report = json.loads(result.stdout)
    assert report["incentive"] == expected.incentive.tolist()
    assert report["dividends"] == expected.dividends.tolist()


@pytest.mark.slow  # real agents (torch): ~10 s alone, ~25 s on a loaded machine
def test_the_owner_burn_scenario_recycles_the_miner_incentive():
    # scenarios/owner_burn.toml: validators weight the owner's uid 3; its incentive is withheld
    # and recycled, the owner cut is staked to it (run_coinbase.rs :
    # distribute_dividends_and_incentives).
    from subnetsim.api import load_scenario
    from subnetsim.world import build_world

    world = build_world(load_scenario("owner_burn"), seed=21)
    world.run_to_block(125)
    last = world.chain.last_epoch
    assert last is not None and last.incentive[3] == pytest.approx(1.0)
    assert last.incentive_tao[3] == 0.0
    assert world.chain.ledger.burned > 0
    cut = world.scenario.hyperparameters.subnet_owner_cut
    assert world.chain.ledger.stake[3] == pytest.approx(120 * cut)  # two epochs paid


def test_a_commit_in_an_epoch_block_masks_sniping_until_its_reveal_epoch_ends(
        env, make_chain, submit_at, recorder):
    # weights.rs : is_commit_expired compares current_epoch_with_lookahead to the commit epoch,
    # which for a commit in an epoch block is the epoch that just ran (on_initialize first).
    # So a commit made at the epoch block 10 (epoch 1) still counts in the anti-sniping mask of
    # the epoch at block 20 (epoch 2 = 1 + period), and is gone from the one at block 30.
    from subnetsim.subnet.extrinsics import CommitWeights

    chain = make_chain(tempo=10, commit_reveal_weights_enabled=True, commit_reveal_period=1,
                       commit_reveal_version="v2")
    submit_at(chain, 10, CommitWeights(hotkey="val-0", commit_hash="ab"))
    env.run(until=through(30))
    masks = {}
    for record in recorder.epochs:
        rows = list(record.inputs.validator_uids)
        masks[record.block] = int(record.inputs.commit_block[rows.index(0)])
    assert masks == {10: -1, 20: 10, 30: -1}


def test_the_owner_can_trigger_an_epoch_ten_blocks_ahead(env, make_chain, submit_at, recorder):
    # tempo_control.rs : do_trigger_epoch sets PendingEpochAt = now + AdminFreezeWindow (10);
    # run_coinbase.rs : should_run_epoch fires it, and the period restarts from it.
    from subnetsim.subnet.extrinsics import TriggerEpoch

    chain = make_chain(tempo=100)
    stranger = submit_at(chain, 5, TriggerEpoch(coldkey="cold-0"))
    done = submit_at(chain, 20, TriggerEpoch(coldkey=chain.owner_coldkey()))
    again = submit_at(chain, 25, TriggerEpoch(coldkey=chain.owner_coldkey()))
    late = submit_at(chain, 125, TriggerEpoch(coldkey=chain.owner_coldkey()))
    env.run(until=through(135))
    assert stranger.value.error == "NotSubnetOwner"
    assert done.value.facts == {"fires_at": 30}
    assert again.value.error == "EpochTriggerAlreadyPending"
    assert late.value.error == "AutoEpochAlreadyImminent"  # next epoch at 130
    assert [record.block for record in recorder.epochs] == [30, 130]
