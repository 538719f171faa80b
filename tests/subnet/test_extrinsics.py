"""The chain's extrinsic rules, one SimPy-style test per rule.

Each test builds a small chain (``make_chain``), schedules calls into given blocks
(``submit_at``) or governance actions between blocks (``call_after``), runs the clock with
``env.run(until=through(k))`` and checks the outcome against subtensor's rule (error codes from
``pallets/subtensor``; expected numbers worked out by hand in the test).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from subnetsim.subnet.extrinsics import (
    AddStake,
    CommitWeights,
    Register,
    RemoveStake,
    RevealWeights,
    SetWeights,
    weights_commit_hash,
)
from subnetsim.subnet.ledger import RegistrationRules
from subnetsim.subnet.records import EventRecord, ExtrinsicRecord, extrinsics_hash
from subnetsim.subnet.yuma import NO_COMMIT, YumaParams, epoch
from tests.subnet.conftest import Genesis, through

# ----------------------------------------------------------------------------------------------
# register


def test_register_pays_the_burn_from_the_coldkey_balance(env, make_chain, submit_at, recorder):
    chain = make_chain(rules=RegistrationRules(initial_burn=2.5))
    done = submit_at(chain, 2, Register(hotkey="new-hot", coldkey="newcomer"))
    env.run(until=through(2))

    assert done.value.accepted
    assert done.value.facts["uid"] == 6  # the first free uid after the six genesis neurons
    ledger = chain.ledger
    # Block 2's on_initialize decayed the burn once: 2.5 * 2**(-1/360) (half-life 360 blocks).
    paid = done.value.facts["burn"]
    assert paid == pytest.approx(2.5 * 0.5 ** (1 / 360), rel=1e-8)
    assert ledger.balances["newcomer"] == pytest.approx(10.0 - paid)
    assert ledger.burned == pytest.approx(paid)
    assert (ledger.hotkeys[6], ledger.coldkeys[6]) == ("new-hot", "newcomer")
    assert ledger.block_at_registration[6] == 2
    assert [e.data["hotkey"] for e in recorder.events_of("registered")] == ["new-hot"]


def test_register_without_enough_balance_for_the_burn_is_refused(env, make_chain, submit_at):
    chain = make_chain(rules=RegistrationRules(initial_burn=2.5), balances={"newcomer": 2.0})
    done = submit_at(chain, 2, Register(hotkey="new-hot", coldkey="newcomer"))
    env.run(until=through(2))

    assert done.value.error == "NotEnoughBalanceToPayRegistration"
    assert chain.ledger.balances["newcomer"] == 2.0
    assert "new-hot" not in chain.ledger.hotkeys
    assert chain.ledger.burned == 0.0


def test_registering_an_already_registered_hotkey_is_refused(env, chain, submit_at):
    done = submit_at(chain, 2, Register(hotkey="miner-2", coldkey="newcomer"))
    env.run(until=through(2))

    assert done.value.error == "HotKeyAlreadyRegisteredInSubNet"
    assert chain.ledger.hotkeys.count("miner-2") == 1
    assert chain.ledger.balances["newcomer"] == 10.0


def test_too_many_registrations_in_one_interval_until_the_next_interval(env, make_chain, submit_at):
    rules = RegistrationRules(burn_model="interval", max_registrations_per_interval=2,
                              adjustment_interval=10)
    chain = make_chain(rules=rules, max_allowed_uids=16)
    done = {block: submit_at(chain, block, Register(hotkey=f"hot-{block}", coldkey="newcomer"))
            for block in (2, 3, 4, 11)}
    env.run(until=through(11))

    assert done[2].value.accepted and done[3].value.accepted
    assert done[4].value.error == "TooManyRegistrationsThisInterval"
    assert done[11].value.accepted  # block 10 closed the interval


PRUNE_CASES = {
    # name: (last_emission, block_at_registration, immunity_period, uid pruned at block 10)
    "lowest emission": ((3.0, 1.0, 2.0, 5.0), (0, 0, 0, 0), 0, 1),
    "emission tie goes to the older registration": ((3.0, 1.0, 1.0, 5.0), (0, 3, 1, 0), 0, 2),
    "full tie goes to the lower uid": ((3.0, 1.0, 1.0, 5.0), (0, 2, 2, 0), 0, 1),
    "an immune uid is skipped": ((3.0, 1.0, 2.0, 5.0), (0, 6, 0, 0), 5, 2),
    "immunity ends after immunity_period blocks": ((3.0, 1.0, 2.0, 5.0), (0, 5, 0, 0), 5, 1),
    "everyone immune: lowest emission of all": ((3.0, 1.0, 2.0, 5.0), (8, 8, 8, 8), 5, 1),
}


@pytest.mark.parametrize(("emission", "registered_at", "immunity", "pruned"),
                         list(PRUNE_CASES.values()), ids=list(PRUNE_CASES))
def test_a_full_subnet_prunes_the_lowest_emission_non_immune_uid(
        env, make_chain, submit_at, recorder, emission, registered_at, immunity, pruned):
    neurons = [Genesis(hotkey=f"hot-{uid}", coldkey=f"cold-{uid}", registered_at=block)
               for uid, block in enumerate(registered_at)]
    chain = make_chain(neurons=neurons, max_allowed_uids=4, immunity_period=immunity,
                       rules=RegistrationRules(min_non_immune_uids=0))
    chain.ledger.last_emission[:] = emission
    done = submit_at(chain, 10, Register(hotkey="new-hot", coldkey="newcomer"))
    env.run(until=through(10))

    assert done.value.accepted
    assert done.value.facts["uid"] == pruned
    assert done.value.facts["pruned_hotkey"] == f"hot-{pruned}"
    assert chain.ledger.hotkeys[pruned] == "new-hot"
    assert chain.ledger.block_at_registration[pruned] == 10
    assert recorder.events_of("registered")[0].data["pruned_hotkey"] == f"hot-{pruned}"


def test_a_pruned_uid_returns_its_stake_to_its_owners_and_loses_its_weights_and_bonds(
        env, make_chain, submit_at):
    # uids.rs : clear_neuron removes the pruned uid's own weight and bond rows and zeroes the
    # weights set on it, but leaves other validators' bonds to it in storage (the epoch masks
    # them if the uid registered since the last epoch).
    chain = make_chain(max_allowed_uids=4, rules=RegistrationRules(min_non_immune_uids=0),
                       neurons=[
        Genesis(hotkey="val-0", coldkey="cold-0", stake=100.0, permit=True),
        Genesis(hotkey="val-1", coldkey="cold-1", stake=50.0, permit=True),
        Genesis(hotkey="miner-2", coldkey="cold-2"),
        Genesis(hotkey="miner-3", coldkey="cold-3"),
    ])
    ledger = chain.ledger
    submit_at(chain, 1, AddStake(hotkey="val-0", coldkey="nominator", amount=5.0))
    submit_at(chain, 1, SetWeights(hotkey="val-0", uids=(2, 3), weights=(1.0, 1.0)))
    submit_at(chain, 1, SetWeights(hotkey="val-1", uids=(0, 2), weights=(1.0, 1.0)))
    env.run(until=through(1))
    bonds = ledger.bonds.copy()  # the ledger's matrices are written through the ledger
    bonds[0, 2] = bonds[1, 0] = bonds[1, 2] = 1000
    ledger.set_bonds(np.arange(4), bonds)  # as an epoch left them
    ledger.last_emission[:] = (0.0, 5.0, 5.0, 5.0)
    total_before = ledger.total_stake() + ledger.total_balance() + ledger.burned
    registered = submit_at(chain, 3, Register(hotkey="new-hot", coldkey="newcomer"))
    late = submit_at(chain, 4, AddStake(hotkey="val-0", coldkey="cold-0", amount=1.0))
    env.run(until=through(4))

    facts = registered.value.facts
    assert (facts["pruned_hotkey"], facts["uid"]) == ("val-0", 0)
    assert ledger.balances["cold-0"] == pytest.approx(10.0 + 100.0)
    assert ledger.balances["nominator"] == pytest.approx(20.0)  # 20 - 5 staked + 5 returned
    assert ledger.stake[0] == 0.0
    assert not [key for key in ledger.stake_by_owner if key[1] == 0]
    assert not ledger.weights[0].any() and not ledger.weight_set[0].any()
    assert not ledger.weights[:, 0].any()  # val-1's weight on the old occupant
    assert not ledger.bonds[0].any() and ledger.bonds[1, 0] == 1000
    assert ledger.weights[1, 2] == 65535 and ledger.bonds[1, 2] == 1000  # others untouched
    assert not ledger.validator_permit[0]
    assert late.value.error == "HotKeyNotRegisteredInSubNet"  # the old hotkey is gone
    total_after = ledger.total_stake() + ledger.total_balance() + ledger.burned
    assert total_after == pytest.approx(total_before)


def test_the_burn_moves_toward_the_target_rate_at_each_adjustment_interval(
        env, make_chain, submit_at, call_after):
    # The legacy rule (block_step.rs : adjust_registration_terms_for_networks until 2026-01),
    # burn registrations only, adjustment_alpha 0.
    rules = RegistrationRules(burn_model="interval", initial_burn=1.0, min_burn=0.5,
                              max_burn=100.0, target_registrations_per_interval=2,
                              adjustment_interval=10, max_registrations_per_interval=6)
    chain = make_chain(rules=rules, max_allowed_uids=16, balances={"newcomer": 20.0})
    for block in (2, 3, 4, 5, 12):
        submit_at(chain, block, Register(hotkey=f"hot-{block}", coldkey="newcomer"))
    burns = {block: call_after(block, lambda: chain.ledger.burn) for block in (9, 10, 20, 30, 40)}
    env.run(until=through(40))

    # burn * (registrations + target) / (2 * target), clamped to [min_burn, max_burn], raised
    # above the target (case B), unchanged at or below it with registrations (case D: only the
    # PoW difficulty moves), lowered with none (case E): 4 -> x1.5; 1 -> =; 0 -> x0.5; floor.
    assert {block: p.value for block, p in burns.items()} == pytest.approx(
        {9: 1.0, 10: 1.5, 20: 1.5, 30: 0.75, 40: 0.5})
    assert chain.ledger.balances["newcomer"] == pytest.approx(20.0 - 4 * 1.0 - 1.5)


# ----------------------------------------------------------------------------------------------
# add_stake / remove_stake


def test_a_nominator_stakes_on_someone_elses_hotkey_and_takes_part_of_it_back(
        env, chain, submit_at):
    added = submit_at(chain, 2, AddStake(hotkey="val-0", coldkey="nominator", amount=5.0))
    removed = submit_at(chain, 3, RemoveStake(hotkey="val-0", coldkey="nominator", amount=2.0))
    env.run(until=through(2))
    ledger = chain.ledger
    assert added.value.accepted
    assert ledger.stake_by_owner[("nominator", 0)] == pytest.approx(5.0)
    assert ledger.stake_by_owner[("cold-0", 0)] == pytest.approx(100.0)
    assert ledger.stake[0] == pytest.approx(105.0)
    assert ledger.balances["nominator"] == pytest.approx(15.0)

    env.run(until=through(3))
    assert removed.value.accepted
    assert ledger.stake_by_owner[("nominator", 0)] == pytest.approx(3.0)
    assert ledger.stake[0] == pytest.approx(103.0)
    assert ledger.balances["nominator"] == pytest.approx(17.0)


def test_nobody_withdraws_more_than_their_own_stake_on_a_hotkey(env, chain, submit_at):
    submit_at(chain, 2, AddStake(hotkey="val-0", coldkey="nominator", amount=5.0))
    too_much = submit_at(chain, 3, RemoveStake(hotkey="val-0", coldkey="nominator", amount=6.0))
    stranger = submit_at(chain, 3, RemoveStake(hotkey="val-0", coldkey="newcomer", amount=1.0))
    env.run(until=through(3))

    # val-0 holds 105 TAO, but only 5 of them are the nominator's and none the newcomer's.
    assert too_much.value.error == "NotEnoughStakeToWithdraw"
    assert stranger.value.error == "NotEnoughStakeToWithdraw"
    assert chain.ledger.stake[0] == pytest.approx(105.0)
    assert chain.ledger.balances["nominator"] == pytest.approx(15.0)


@pytest.mark.parametrize("amount", [0.0, -1.0])
@pytest.mark.parametrize("call", [AddStake, RemoveStake])
def test_a_zero_or_negative_stake_amount_is_too_low(env, chain, submit_at, call, amount):
    done = submit_at(chain, 2, call(hotkey="val-0", coldkey="cold-0", amount=amount))
    env.run(until=through(2))

    assert done.value.error == "AmountTooLow"
    assert chain.ledger.stake[0] == 100.0 and chain.ledger.balances["cold-0"] == 10.0


def test_staking_more_than_the_free_balance_is_refused(env, chain, submit_at):
    done = submit_at(chain, 2, AddStake(hotkey="val-0", coldkey="nominator", amount=20.5))
    env.run(until=through(2))

    assert done.value.error == "NotEnoughBalanceToStake"
    assert chain.ledger.balances["nominator"] == 20.0


# ----------------------------------------------------------------------------------------------
# set_weights


def weights_of(hotkey: str, uids: tuple[int, ...] = (2, 3), values: tuple[float, ...] = (1.0, 1.0)
               ) -> SetWeights:
    return SetWeights(hotkey=hotkey, uids=uids, weights=values)


def test_setting_weights_again_before_the_rate_limit_is_too_fast(env, make_chain, submit_at):
    chain = make_chain(weights_rate_limit=5)
    done = {block: submit_at(chain, block, weights_of("val-0")) for block in (2, 4, 6, 7)}
    env.run(until=through(7))

    errors = {block: p.value.error for block, p in done.items()}
    assert errors == {2: None, 4: "SettingWeightsTooFast", 6: "SettingWeightsTooFast", 7: None}
    assert chain.ledger.last_update[0] == 7


def test_fewer_weights_than_min_allowed_weights_is_too_short_unless_a_lone_self_weight(
        env, make_chain, submit_at):
    chain = make_chain(min_allowed_weights=3)
    short = submit_at(chain, 2, weights_of("val-0", (2, 3), (1.0, 1.0)))
    enough = submit_at(chain, 3, weights_of("val-0", (2, 3, 4), (1.0, 1.0, 1.0)))
    itself = submit_at(chain, 4, weights_of("val-1", (1,), (1.0,)))
    env.run(until=through(4))

    assert short.value.error == "WeightVecLengthIsLow"
    assert enough.value.accepted and itself.value.accepted


def test_a_weight_share_above_max_weights_limit_is_refused(env, make_chain, submit_at):
    chain = make_chain(max_weights_limit=0.5)
    lopsided = submit_at(chain, 2, weights_of("val-0", (2, 3), (3.0, 1.0)))  # 75% on uid 2
    even = submit_at(chain, 3, weights_of("val-0", (2, 3), (1.0, 1.0)))  # exactly 50%
    env.run(until=through(3))

    assert lopsided.value.error == "MaxWeightExceeded"
    assert even.value.accepted


def test_weights_from_an_unregistered_hotkey_are_refused(env, chain, submit_at):
    done = submit_at(chain, 2, weights_of("ghost"))
    env.run(until=through(2))

    assert done.value.error == "HotKeyNotRegisteredInSubNet"


@pytest.mark.parametrize(("uids", "error"), [
    ((2, 8), "UidVecContainsInvalidOne"),  # beyond max_allowed_uids (8)
    ((2, 7), "UidVecContainsInvalidOne"),  # a free uid
    ((2, -1), "UidVecContainsInvalidOne"),
    ((3, 3), "DuplicateUids"),
])
def test_weights_on_invalid_or_duplicate_uids_are_refused(env, chain, submit_at, uids, error):
    done = submit_at(chain, 2, weights_of("val-0", uids, (1.0, 1.0)))
    env.run(until=through(2))

    assert done.value.error == error
    assert not chain.ledger.weights[0].any()


def test_weights_are_stored_max_upscaled_to_u16_and_replace_the_previous_row(
        env, chain, submit_at, call_after):
    submit_at(chain, 2, weights_of("val-0", (2, 3, 4), (0.1, 0.4, 0.5)))
    submit_at(chain, 3, weights_of("val-0", (5,), (0.3,)))
    first = call_after(2, lambda: (chain.ledger.weights[0].tolist(),
                                   np.flatnonzero(chain.ledger.weight_set[0]).tolist()))
    env.run(until=through(3))

    # 0.1 / 0.5 * 65535 = 13107, 0.4 / 0.5 * 65535 = 52428, the largest becomes 65535.
    assert first.value == ([0, 0, 13107, 52428, 65535, 0, 0, 0], [2, 3, 4])
    assert chain.ledger.weights[0].tolist() == [0, 0, 0, 0, 0, 65535, 0, 0]
    assert np.flatnonzero(chain.ledger.weight_set[0]).tolist() == [5]


def test_set_weights_is_refused_while_commit_reveal_is_on(env, make_chain, submit_at):
    chain = make_chain(commit_reveal_weights_enabled=True)
    done = submit_at(chain, 2, weights_of("val-0"))
    env.run(until=through(2))

    assert done.value.error == "CommitRevealEnabled"
    assert not chain.ledger.weights[0].any()


# ----------------------------------------------------------------------------------------------
# commit / reveal (tempo 9, netuid 1: epochs run at blocks 7, 17, 27, ...)

UIDS, VALUES = (2, 3), (1.0, 3.0)


def commit_of(salt: str, hotkey: str = "val-0", uids=UIDS, values=VALUES) -> CommitWeights:
    return CommitWeights(hotkey=hotkey,
                         commit_hash=weights_commit_hash(hotkey, uids, values, salt))


def reveal_of(salt: str, hotkey: str = "val-0", uids=UIDS, values=VALUES) -> RevealWeights:
    return RevealWeights(hotkey=hotkey, uids=uids, weights=values, salt=salt)


# The manual hash reveal ("v2") on the classic schedule (epochs at blocks 7, 17, 27 at tempo 9).
V2_CLASSIC = {"commit_reveal_version": "v2", "epoch_schedule": "modulo"}


@pytest.fixture
def cr_chain(make_chain):
    return make_chain(commit_reveal_weights_enabled=True, commit_reveal_period=1, tempo=9,
                      **V2_CLASSIC)


def test_a_reveal_in_the_epoch_after_the_commit_sets_the_weights(env, cr_chain, submit_at):
    submit_at(cr_chain, 2, commit_of("salt"))
    early = submit_at(cr_chain, 5, reveal_of("salt"))
    on_time = submit_at(cr_chain, 10, reveal_of("salt"))
    env.run(until=through(10))

    assert early.value.error == "RevealTooEarly"
    assert on_time.value.accepted
    assert cr_chain.ledger.weights[0, [2, 3]].tolist() == [21845, 65535]  # 1/3 and 3/3 of u16
    # LastUpdate is the commit's block (weights.rs : do_commit_weights), not the reveal's.
    assert cr_chain.ledger.last_update[0] == 2
    assert cr_chain.ledger.commits[0] == []


def test_a_commit_not_revealed_in_its_epoch_expires_at_the_next_epoch(
        env, cr_chain, submit_at, call_after, recorder):
    submit_at(cr_chain, 2, commit_of("salt"))
    before = call_after(16, lambda: len(cr_chain.ledger.commits[0]))
    late = submit_at(cr_chain, 20, reveal_of("salt"))
    env.run(until=through(17))
    assert before.value == 1
    assert cr_chain.ledger.commits[0] == []
    assert recorder.events_of("commits_expired") == [
        EventRecord(block=17, kind="commits_expired", data={"uids": [0]})]

    env.run(until=through(20))
    assert late.value.error == "ExpiredWeightCommit"
    assert not cr_chain.ledger.weights[0].any()


def test_a_reveal_with_another_salt_matches_no_commit(env, cr_chain, submit_at):
    submit_at(cr_chain, 2, commit_of("salt"))
    wrong = submit_at(cr_chain, 10, reveal_of("pepper"))
    env.run(until=through(10))

    assert wrong.value.error == "InvalidRevealCommitHashNotMatch"
    assert not cr_chain.ledger.weights[0].any()
    assert len(cr_chain.ledger.commits[0]) == 1


def test_commits_closer_than_the_rate_limit_are_too_fast(env, make_chain, submit_at):
    chain = make_chain(commit_reveal_weights_enabled=True, tempo=9, weights_rate_limit=5,
                       **V2_CLASSIC)
    done = {block: submit_at(chain, block, commit_of(f"salt-{block}")) for block in (2, 4, 7)}
    env.run(until=through(7))

    errors = {block: p.value.error for block, p in done.items()}
    assert errors == {2: None, 4: "CommittingWeightsTooFast", 7: None}


def test_a_commit_made_before_a_uid_was_sniped_pays_the_new_occupant_nothing(
        env, make_chain, submit_at, call_after, recorder):
    chain = make_chain(commit_reveal_weights_enabled=True, tempo=9, max_allowed_uids=4,
                       rules=RegistrationRules(min_non_immune_uids=0), **V2_CLASSIC, neurons=[
        Genesis(hotkey="val-0", coldkey="cold-0", stake=100.0, permit=True),
        Genesis(hotkey="miner-1", coldkey="cold-1"),
        Genesis(hotkey="miner-2", coldkey="cold-2"),
        Genesis(hotkey="miner-3", coldkey="cold-3"),
    ])
    uids, values = (1, 2), (1.0, 1.0)
    submit_at(chain, 2, commit_of("first", uids=uids, values=values))  # epoch 0
    submit_at(chain, 10, commit_of("second", uids=uids, values=values))  # epoch 1, block 10
    sniped = submit_at(chain, 12, Register(hotkey="sniper", coldkey="newcomer"))
    # A commit after the snipe moves LastUpdate past the registration (so the outdated mask
    # no longer hides the row); the earlier, unexpired commit at 10 still masks the sniper.
    submit_at(chain, 13, commit_of("third", uids=uids, values=values))
    revealed = submit_at(chain, 14, reveal_of("first", uids=uids, values=values))
    gathered = call_after(16, lambda: chain.gather_epoch_inputs(17))
    env.run(until=through(17))

    assert sniped.value.facts["uid"] == 1 and revealed.value.accepted
    inputs = gathered.value
    row = int(np.flatnonzero(inputs.validator_uids == 0)[0])
    assert inputs.commit_block[row] == 10 < inputs.block_at_registration[1] == 12
    assert inputs.last_update[0] == 13  # committed after the snipe: not an outdated weight
    params = YumaParams.from_hyperparameters(chain.hyper)
    masked = epoch(inputs, params)
    assert masked.incentive[1] == 0.0
    assert masked.incentive[2] == pytest.approx(1.0)
    # Without the commit-reveal mask the sniper would have inherited half the incentive.
    unmasked = epoch(dataclasses.replace(
        inputs, commit_block=np.full(len(inputs.validator_uids), NO_COMMIT)), params)
    assert unmasked.incentive[1] == pytest.approx(0.5)
    # The chain's own epoch at block 17 agrees and pays the sniper nothing.
    assert recorder.epochs[-1].block == 17
    assert recorder.epochs[-1].incentive[1] == 0.0
    assert chain.last_epoch.incentive_tao[1] == 0.0 and chain.last_epoch.incentive_tao[2] > 0


# ----------------------------------------------------------------------------------------------
# halts

HALT_BLOCKS = {
    "emissions": set(),
    "weights": {"set_weights"},
    "registrations": {"register"},
    "staking": {"add_stake"},  # remove_stake stays open: holders can always exit
    "all": {"register", "add_stake", "set_weights"},
}


@pytest.mark.parametrize(("scope", "blocked"), list(HALT_BLOCKS.items()), ids=list(HALT_BLOCKS))
def test_a_halt_scope_blocks_exactly_its_extrinsics(env, chain, submit_at, call_after,
                                                    scope, blocked):
    call_after(1, lambda: chain.set_halt((scope,), until_block=None))
    calls = [
        Register(hotkey="new-hot", coldkey="newcomer"),
        AddStake(hotkey="val-0", coldkey="nominator", amount=1.0),
        RemoveStake(hotkey="val-0", coldkey="cold-0", amount=1.0),
        weights_of("val-0"),
    ]
    done = {call.kind: submit_at(chain, 3, call) for call in calls}
    env.run(until=through(3))

    errors = {kind: p.value.error for kind, p in done.items()}
    assert errors == {kind: "SubnetHalted" if kind in blocked else None for kind in errors}


def test_a_weights_halt_also_blocks_commits_and_reveals(env, cr_chain, submit_at, call_after):
    submit_at(cr_chain, 2, commit_of("salt"))
    call_after(8, lambda: cr_chain.set_halt(("weights",), until_block=None))
    reveal = submit_at(cr_chain, 10, reveal_of("salt"))
    commit = submit_at(cr_chain, 10, commit_of("other"))
    env.run(until=through(10))

    assert reveal.value.error == "SubnetHalted" and commit.value.error == "SubnetHalted"
    assert not cr_chain.ledger.weights[0].any()


def test_no_emission_accrues_during_an_emissions_halt_which_expires_at_until_block(
        env, chain, call_after, recorder):
    samples = [call_after(block, lambda: (chain.minted, chain.pending.total))
               for block in range(1, 11)]
    call_after(3, lambda: chain.set_halt(("emissions",), until_block=7))
    env.run(until=through(10))

    minted = [p.value[0] for p in samples]
    # One TAO per block (EmissionRules default) for blocks 1-3 and 7-10; blocks 4-6 halted.
    assert minted == pytest.approx([1, 2, 3, 3, 3, 3, 4, 5, 6, 7])
    assert [p.value[1] for p in samples] == pytest.approx(minted)  # no epoch yet: all pending
    assert [e.block for e in recorder.events_of("halt_expired")] == [7]
    assert chain.ledger.halted_scopes == frozenset() and chain.halt_until is None


def test_extrinsics_in_the_until_block_already_run_unhalted(env, chain, submit_at, call_after):
    call_after(1, lambda: chain.set_halt(("registrations",), until_block=5))
    during = submit_at(chain, 4, Register(hotkey="hot-4", coldkey="newcomer"))
    at_end = submit_at(chain, 5, Register(hotkey="hot-5", coldkey="newcomer"))
    env.run(until=through(5))

    assert during.value.error == "SubnetHalted"
    assert at_end.value.accepted


def test_resume_lifts_a_halt_without_an_end(env, chain, submit_at, call_after, recorder):
    samples = [call_after(block, lambda: chain.minted) for block in range(1, 8)]
    call_after(2, lambda: chain.set_halt(("all",), until_block=None))
    call_after(5, chain.resume)
    halted = submit_at(chain, 4, Register(hotkey="hot-4", coldkey="newcomer"))
    resumed = submit_at(chain, 6, Register(hotkey="hot-6", coldkey="newcomer"))
    env.run(until=through(7))

    assert halted.value.error == "SubnetHalted"
    assert resumed.value.accepted
    assert [p.value for p in samples] == pytest.approx([1, 2, 2, 2, 2, 3, 4])
    assert [e.kind for e in recorder.events if e.kind in ("halt", "resume")] == ["halt", "resume"]


def test_an_unknown_halt_scope_is_an_error(chain):
    with pytest.raises(ValueError, match="unknown halt scope"):
        chain.set_halt(("mining",), until_block=None)
    assert chain.ledger.halted_scopes == frozenset()


# ----------------------------------------------------------------------------------------------
# rejected extrinsics are part of the record


def test_a_rejected_extrinsic_is_recorded_and_the_chain_keeps_producing_blocks(
        env, chain, submit_at, recorder):
    rejected = submit_at(chain, 2, weights_of("ghost"))
    accepted = submit_at(chain, 2, weights_of("val-0"))
    env.run(until=through(5))

    assert not rejected.value.accepted and rejected.value.error == "HotKeyNotRegisteredInSubNet"
    assert accepted.value.accepted
    expected = [
        ExtrinsicRecord(block=2, index=0, kind="set_weights", hotkey="ghost",
                        payload={"uids": [2, 3], "weights": [1.0, 1.0]}, accepted=False,
                        error="HotKeyNotRegisteredInSubNet"),
        ExtrinsicRecord(block=2, index=1, kind="set_weights", hotkey="val-0",
                        payload={"uids": [2, 3], "weights": [1.0, 1.0]}, accepted=True),
    ]
    assert recorder.extrinsics == expected
    assert recorder.blocks[1].extrinsics_hash == extrinsics_hash(expected)
    assert recorder.events_of("rejected") == [EventRecord(
        block=2, kind="rejected",
        data={"kind": "set_weights", "hotkey": "ghost", "error": "HotKeyNotRegisteredInSubNet"})]
    assert [b.number for b in recorder.blocks] == [1, 2, 3, 4, 5] and chain.block == 5
    parents = [block.parent_hash for block in recorder.blocks[1:]]
    assert parents == [block.hash for block in recorder.blocks[:-1]]
