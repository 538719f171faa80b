"""A network of subnets: the coinbase drives real subnet chains; staking swaps; invariants."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from subnetsim.network_world import NetworkWorld
from subnetsim.subnet.dtao.halving import halving_issuance
from subnetsim.subnet.dtao.invariants import check_invariants
from subnetsim.subnet.dtao.network import InvariantError, NetworkCall
from subnetsim.subnet.dtao.scenario import load_network_scenario

SCENARIO = Path(__file__).parents[1] / "data" / "net_small.toml"


@pytest.fixture(scope="module")
def scenario():  # noqa: ANN201
    return load_network_scenario(SCENARIO)


def _world(scenario, **network):  # noqa: ANN001, ANN202
    if network:
        scenario = dataclasses.replace(
            scenario, network=dataclasses.replace(scenario.network, **network))
    world = NetworkWorld(scenario, scenario.seed)
    world.start()
    return world


def test_each_subnet_runs_its_own_epochs_paid_in_alpha(scenario) -> None:  # noqa: ANN001
    world = _world(scenario)
    stake_before = {n: w.chain.ledger.stake.sum() for n, w in world.subnets.items()}
    world.run_to_block(61)
    for netuid, sub in world.subnets.items():
        tempo = sub.scenario.hyperparameters.tempo
        assert sub.chain.epoch_index == 61 // tempo  # every subnet on its own tempo
        # Paid in alpha: the stakes grew by what the coinbase minted as alpha_out, not TAO.
        assert sub.chain.ledger.stake.sum() > stake_before[netuid]
    economy = world.economy
    assert economy.minted_tao == pytest.approx(61.0)
    shares = [s.flow.share for s in economy.subnets.values()]
    assert sum(shares) == pytest.approx(1.0)
    assert shares[0] / shares[1] == pytest.approx(
        economy.subnets[1].flow.moving_price / economy.subnets[2].flow.moving_price)


def test_root_stake_enters_stake_weights_and_earns_root_dividends(scenario) -> None:  # noqa: ANN001
    world = _world(scenario)
    root_before = world.economy.root_tao
    world.run_to_block(60)
    chain = world.subnets[1].chain
    last = chain.last_epoch
    assert last is not None
    tw_root = world.economy.params.tao_weight * world.network.root_by_uid(chain)
    assert last.inputs.stake[0] > chain.ledger.stake[0]  # alpha + tw x root (before payout)
    assert tw_root[0] > 0
    assert world.economy.root_tao > root_before  # root dividends claimed into root stake


def test_stake_unstake_and_move_are_swaps(scenario) -> None:  # noqa: ANN001
    world = _world(scenario)
    world.run_to_block(2)
    economy, network = world.economy, world.network
    ledger1 = world.subnets[1].chain.ledger
    coldkey = ledger1.coldkey_of(2)
    balance = economy.balances[coldkey]
    price = economy.subnets[1].pool.price
    done = network.submit(NetworkCall(kind="add_stake", coldkey=coldkey, hotkey="validator-0",
                                      netuid=1, amount=5.0))
    world.run_to_block(3)
    accepted, facts = done.value
    assert accepted
    assert economy.balances[coldkey] == pytest.approx(balance - 5.0)
    assert facts["alpha"] < 5.0 / price  # slippage and the fee: less than spot would give
    assert economy.subnets[1].pool.price > price
    held = ledger1.stake_by_owner[(coldkey, 0)]
    moved = network.submit(NetworkCall(kind="move_stake", coldkey=coldkey, hotkey="validator-0",
                                       netuid=1, amount=held / 2, destination=2))
    sold = network.submit(NetworkCall(kind="remove_stake", coldkey=coldkey,
                                      hotkey="validator-0", netuid=1, amount=held / 4))
    too_much = network.submit(NetworkCall(kind="remove_stake", coldkey=coldkey,
                                          hotkey="validator-0", netuid=1, amount=held))
    world.run_to_block(4)
    assert moved.value[0] and moved.value[1]["restaked"]
    assert world.subnets[2].chain.ledger.stake_by_owner[(coldkey, 0)] == pytest.approx(
        moved.value[1]["alpha"])
    assert sold.value[0]
    assert too_much.value == (False, {})
    # The invariants held every block (checked by the network itself) and hold now.
    assert check_invariants(economy, network.held()) == []


def test_a_broken_book_is_caught_the_same_block(scenario) -> None:  # noqa: ANN001
    world = _world(scenario)
    world.run_to_block(3)
    world.economy.subnets[2].pool = dataclasses.replace(world.economy.subnets[2].pool,
                                                         tao=world.economy.subnets[2].pool.tao
                                                         + 1e-3)
    with pytest.raises(InvariantError, match="TAO: issuance"):
        world.run_to_block(4)
    world = _world(scenario)
    world.run_to_block(3)
    world.subnets[1].chain.ledger.credit_stake("coldkey-0", 0, 1e-3)  # alpha from nowhere
    with pytest.raises(InvariantError, match="alpha sn1"):
        world.run_to_block(4)


def test_emission_halves_at_the_documented_issuance(scenario) -> None:  # noqa: ANN001
    start = halving_issuance(1) - 2270.0 - 2.5  # genesis holdings are 2270 TAO
    world = _world(scenario, initial_issuance=start)
    world.run_to_block(2)
    assert world.economy.last_emission == 1.0
    world.run_to_block(4)
    assert world.economy.issuance_before_emission >= halving_issuance(1)
    assert world.economy.last_emission == 0.5


def test_miner_burn_lowers_the_subnets_share(scenario) -> None:  # noqa: ANN001
    subnets = list(scenario.subnets)
    burner = dataclasses.replace(subnets[0], owner_uid=2)  # the owner's hotkey is a miner
    world = _world(dataclasses.replace(scenario, subnets=(burner, subnets[1])))
    world.run_to_block(41)
    economy = world.economy
    burned = economy.subnets[1].miner_burned
    assert 0.0 < burned < 1.0  # the fixed validators weight every miner, the owner's too
    world.run_to_block(42)
    flows = [economy.subnets[n].flow for n in (1, 2)]
    weighted = [f.moving_price * (1 - f.miner_burned) for f in flows]
    assert flows[0].miner_burned == burned
    assert flows[0].share == pytest.approx(weighted[0] / sum(weighted))
    assert flows[0].share < flows[0].moving_price / (flows[0].moving_price
                                                     + flows[1].moving_price)


def test_same_digest_twice_and_a_different_seed_differs(scenario) -> None:  # noqa: ANN001
    first, second = _world(scenario), _world(scenario)
    first.run_to_block(30)
    second.run_to_block(30)
    assert first.network.head_hash == second.network.head_hash
    other = NetworkWorld(scenario, scenario.seed + 1)
    other.start()
    other.run_to_block(30)
    assert other.network.head_hash != first.network.head_hash


def test_the_shipped_default_network_has_eight_subnets_and_runs() -> None:
    from subnetsim.catalog import resolve

    scenario = load_network_scenario(resolve("dtao_default"))
    assert len(scenario.subnets) == 8
    world = NetworkWorld(scenario, scenario.seed)
    world.start()
    world.run_to_block(5)
    assert check_invariants(world.economy, world.network.held()) == []
    assert sum(s.flow.share for s in world.economy.subnets.values()) == pytest.approx(1.0)


def _with_stakers(scenario):  # noqa: ANN001, ANN202
    from subnetsim.subnet.dtao.scenario import StakerGroup

    return dataclasses.replace(scenario, stakers=(
        StakerGroup(kind="yield_chaser", count=2, interval=10, balance=50.0),
        StakerGroup(kind="momentum", count=2, interval=5, threshold=0.01, balance=50.0),
        StakerGroup(kind="holder", count=2, interval=20, balance=50.0)))


def test_stakers_trade_through_the_pools_on_keyed_streams(scenario) -> None:  # noqa: ANN001
    staked = _with_stakers(scenario)
    first = _world(staked)
    first.run_to_block(120)  # the network checked every invariant on every block
    economy = first.economy
    for staker in first.stakers:
        assert economy.balances[staker.coldkey] < 50.0  # every one of them bought alpha
    assert any(s._held(first.network) > 0 for s in first.stakers)  # noqa: SLF001
    second = _world(staked)
    second.run_to_block(120)
    assert second.network.head_hash == first.network.head_hash
    # Each staker draws from its own keyed stream: adding a group at the end of the list
    # does not change what the others draw.
    from subnetsim.stakers import build_stakers
    from subnetsim.subnet.dtao.scenario import StakerGroup

    more = build_stakers((*staked.stakers, StakerGroup(kind="holder", count=3)), 5)
    fewer = build_stakers(staked.stakers, 5)
    assert [s.rng.random() for s in more[:len(fewer)]] == [s.rng.random() for s in fewer]


def test_an_owner_burn_policy_shows_as_miner_burned_and_cuts_the_share(scenario) -> None:  # noqa: ANN001
    burning = dataclasses.replace(scenario.subnets[0], owner_burn=0.5)
    world = _world(dataclasses.replace(scenario, subnets=(burning, scenario.subnets[1])))
    plain = _world(scenario)
    world.run_to_block(41)
    plain.run_to_block(41)
    assert world.economy.subnets[1].miner_burned == pytest.approx(0.5, abs=0.05)
    assert plain.economy.subnets[1].miner_burned == 0.0
    assert world.economy.subnets[1].flow.share < plain.economy.subnets[1].flow.share


def _registering(scenario, limit: int, **registration):  # noqa: ANN001, ANN003, ANN202
    from subnetsim.subnet.dtao.scenario import SubnetRegistration

    newcomer = dataclasses.replace(
        scenario.subnets[1], name="newcomer",
        neurons=tuple(dataclasses.replace(g, stake=0.0) for g in scenario.subnets[1].neurons))
    entry = SubnetRegistration(block=10, balance=50.0, start_delay=5, subnet=newcomer,
                               **registration)
    return dataclasses.replace(scenario, registrations=(entry,), network=dataclasses.replace(
        scenario.network, subnet_limit=limit))


def test_a_registration_locks_tao_into_a_pool_at_the_median_price(scenario) -> None:  # noqa: ANN001
    world = _world(_registering(scenario, limit=3))
    world.run_to_block(10)
    prices = sorted(s.pool.price for s in world.economy.subnets.values())
    world.run_to_block(11)
    economy = world.economy
    new = economy.subnets[3]
    assert new.name == "newcomer" and new.locked == 1.0  # NetworkMinLockCost, never doubled
    assert economy.balances["registrant-0"] == pytest.approx(49.0)
    assert new.pool.tao == 1.0 and new.pool.price == pytest.approx(sum(prices) / 2)
    assert not new.emission_enabled and not new.started
    world.run_to_block(17)
    assert new.started  # the owner's start_call, 5 blocks later
    assert new.flow.share == 0.0 and new.flow.alpha_out > 0  # no TAO, but alpha to its stakers
    assert economy.registration_cost(17) > 1.0  # doubled after a registration, decaying


def test_at_the_limit_the_lowest_ema_subnet_is_pruned_and_its_stakers_paid(scenario) -> None:  # noqa: ANN001
    world = _world(_registering(scenario, limit=2))
    world.run_to_block(10)
    pruned = world.subnets[1].chain.ledger  # alpha (EMA 0.5) is below beta (EMA 0.8)
    holders = {coldkey for coldkey, _ in pruned.stake_by_owner}
    before = {c: world.economy.balances.get(c, 0.0) for c in holders}
    pot = world.economy.subnets[1].pool.tao
    world.run_to_block(11)
    economy = world.economy
    assert economy.subnets[1].name == "newcomer"
    paid = sum(economy.balances.get(c, 0.0) - before[c] for c in holders)
    assert 0 < paid < pot  # the protocol's share (its alpha and the pool's) is recycled
    assert economy.recycled_tao >= pot - paid - 1e-9
    assert check_invariants(economy, world.network.held()) == []


def test_resume_across_a_pruning_gives_the_same_digest(scenario, tmp_path) -> None:  # noqa: ANN001
    from subnetsim.run import run
    from subnetsim.subnet.store import RunStore

    pruning = _registering(scenario, limit=2)
    with RunStore.open(tmp_path / "r.db") as store:
        run(pruning, 5, blocks=50, store=store)
    with RunStore.open(tmp_path / "r.db") as store:
        resumed = run(pruning, 5, blocks=90, store=store, resume=True)
    assert resumed.digest == run(pruning, 5, blocks=90).digest


def test_a_halt_scoped_to_one_netuid_stops_only_its_emission(scenario) -> None:  # noqa: ANN001
    from subnetsim.subnet.dtao.scenario import ScheduledHalt

    halted = dataclasses.replace(scenario, halts=(
        ScheduledHalt(block=5, netuid=2, scopes=("emissions",), until_block=30),))
    world = _world(halted)
    world.run_to_block(5)
    stake2 = world.subnets[2].chain.ledger.stake.sum() + world.subnets[2].chain.pending.total
    world.run_to_block(29)
    economy = world.economy
    assert economy.subnets[2].flow.share == 0.0 and economy.subnets[2].flow.alpha_out == 0
    assert economy.subnets[1].flow.share == pytest.approx(1.0)  # the rest takes it all
    chain2 = world.subnets[2].chain
    assert chain2.ledger.stake.sum() + chain2.pending.total == pytest.approx(stake2)
    world.run_to_block(31)
    assert economy.subnets[2].flow.share > 0  # lifted at its until_block


@pytest.mark.parametrize("name", ["dtao_owner_burn", "dtao_stake_rush", "dtao_share_rules",
                                  "dtao_halt_subnet"])
def test_the_shipped_network_scenarios_show_what_their_headers_say(name: str) -> None:
    from subnetsim.catalog import resolve
    from subnetsim.run import run

    scenario = load_network_scenario(resolve(name))
    result = run(scenario, scenario.seed, blocks=300)
    rows = {row.name: row for row in result.subnets}
    if name == "dtao_owner_burn":  # shares follow EMA x (1 - MinerBurned)
        assert rows["burn100"].emission_share == 0.0
        assert rows["burn50"].emission_share == pytest.approx(
            rows["honest_a"].emission_share / 2, rel=0.05)
    elif name == "dtao_stake_rush":  # the pump moves the spot, not the EMA
        assert rows["target"].price > 10 * rows["target"].moving_price
        assert rows["target"].moving_price < 0.26
    elif name == "dtao_halt_subnet":  # halted from block 241 to 479
        assert rows["compromised"].emission_share == 0.0
        assert rows["one"].emission_share == pytest.approx(1 / 3)
    else:
        flow = run(dataclasses.replace(scenario, network=dataclasses.replace(
            scenario.network, share_rule="flow")), scenario.seed, blocks=300)
        assert [r.emission_share for r in flow.subnets] != pytest.approx(
            [r.emission_share for r in result.subnets], abs=0.01)


def test_the_emission_gate_is_a_switch_of_the_network(scenario) -> None:  # noqa: ANN001
    plain, gated = _world(scenario), _world(scenario, share_rule="price_gate")
    plain.run_to_block(5)
    gated.run_to_block(5)  # invariants checked every block (shares sum to 1)
    share = {n: s.flow.share for n, s in plain.economy.subnets.items()}
    top = max(share, key=share.__getitem__)
    assert gated.economy.emission_gate_bar > 0
    assert gated.economy.subnets[top].flow.share > share[top]  # the gate concentrates
    assert sum(s.flow.share for s in gated.economy.subnets.values()) == pytest.approx(1.0)
