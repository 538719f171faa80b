"""An epoch's validator and root alpha by each hotkey's root / alpha split, against subtensor's
drain vectors (tests/data/dtao_vectors.json, T28 of the reference's section 9.4), run through a
real network: the network's coinbase hooks, a subnet chain, its Yuma epoch and its payout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import simpy

from subnetsim.subnet.chain import Chain
from subnetsim.subnet.dtao.economy import Economy, SubnetEconomy
from subnetsim.subnet.dtao.network import Network
from subnetsim.subnet.dtao.params import NetworkParams
from subnetsim.subnet.dtao.payout import dividend_parts
from subnetsim.subnet.dtao.pool import Pool
from subnetsim.subnet.emission import EmissionRules, PendingEmission
from tests.subnet.conftest import Genesis, build_ledger

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "dtao_vectors.json").read_text())
T28 = VECTORS["drain_two_stakers_and_root"]
RAO = 1e9
POOL = 10.0  # the subnet's pool (TAO and alpha); not started, so the coinbase leaves it alone


def _network(tao_weight: float, root: list[int], pending: PendingEmission,
             pending_root: float = 0.0) -> tuple[Network, Chain]:
    """Two hotkeys of one coldkey with T28's alpha stake, root stakes ``root`` (rao), take 0."""
    stake = T28["stake_before"] / RAO
    neurons = [Genesis(hotkey=f"hotkey{i}", coldkey="coldkey", stake=stake, permit=True)
               for i in (1, 2)]
    ledger = build_ledger(neurons, balances={}, tempo=3, validator_take=0.0)
    chain = Chain(simpy.Environment(), ledger, EmissionRules(), netuid=1)
    chain.pending = pending
    root_stake = {("coldkey", f"hotkey{i}"): r / RAO for i, r in zip((1, 2), root, strict=True)}
    held = 2 * stake + pending.total
    economy = Economy(params=NetworkParams(tao_weight=tao_weight, subnet_owner_cut=0.0,
                                           validator_take=0.0), root_stake=root_stake)
    economy.issuance = economy.genesis_issuance = POOL + economy.root_tao
    economy.subnets[1] = SubnetEconomy(
        netuid=1, name="sn1", owner_coldkey="owner", pool=Pool(tao=POOL, alpha=POOL),
        alpha_out=held + pending_root, alpha_minted=POOL + held + pending_root,
        pending_root=pending_root)
    return Network(chain.env, economy, {1: chain}), chain


def _through_first_epoch(network: Network, chain: Chain) -> None:
    while chain.epoch_index == 0:  # the network checks its invariants every block
        network.produce_block()


@pytest.mark.parametrize("case", T28["cases"], ids=lambda c: f"tw{c['tao_weight']}-{c['root']}")
def test_each_hotkey_gains_half_the_pending_alpha_t28(case: dict) -> None:
    half = T28["pending_alpha"] / 2 / RAO
    network, chain = _network(case["tao_weight"], case["root"],
                              PendingEmission(miners=half, validators=half))
    before = chain.ledger.stake[:2].copy()
    root_before = dict(network.economy.root_stake)
    _through_first_epoch(network, chain)
    record = chain.last_epoch
    assert record is not None and record.incentive.sum() == 0  # nobody set weights
    growth = (chain.ledger.stake[:2] - before) * RAO
    assert growth == pytest.approx([T28["growth_each"]] * 2, abs=T28["epsilon"])
    assert network.economy.root_stake == root_before  # no pending root alpha: nothing claimed


def test_root_stake_earns_root_alpha_not_alpha_dividends() -> None:
    """Hotkey 1 holds twice hotkey 2's root: Yuma pays it 3/5 of the dividends (stake weights
    1 + 2 vs 1 + 1), the alpha pool is still shared 1:1, the root alpha 2:1 (by root parts
    2/5 and 1/5), and the root alpha is claimed into root stake (no take here)."""
    network, chain = _network(1.0, [2_000_000_000, 1_000_000_000],
                              PendingEmission(miners=0.5, validators=0.5), pending_root=0.3)
    before = chain.ledger.stake[:2].copy()
    root_before = network.economy.root_tao
    by_hotkey = dict(network.economy.root_stake)
    pool_tao = network.economy.subnets[1].pool.tao
    _through_first_epoch(network, chain)
    record = chain.last_epoch
    assert record is not None
    assert record.validator_emission[:2] == pytest.approx([0.6, 0.4])
    assert chain.ledger.stake[:2] - before == pytest.approx([0.5, 0.5], abs=1e-12)
    sold = pool_tao - network.economy.subnets[1].pool.tao  # the claims' fee-free sells
    assert network.economy.root_tao - root_before == pytest.approx(sold, rel=1e-12)
    assert sold > 0
    gained = [network.economy.root_stake[key] - by_hotkey[key] for key in sorted(by_hotkey)]
    assert gained[0] / gained[1] == pytest.approx(2.0, rel=0.05)  # 0.2 vs 0.1 alpha sold


def test_dividend_parts() -> None:
    alpha, root = dividend_parts(np.array([0.6, 0.4, 0.0, 1.0]), np.array([1.0, 1.0, 5.0, 0.0]),
                                 np.array([2.0, 1.0, 5.0, 0.0]))
    assert alpha == pytest.approx([0.2, 0.2, 0.0, 1.0])
    assert root == pytest.approx([0.4, 0.2, 0.0, 0.0])
