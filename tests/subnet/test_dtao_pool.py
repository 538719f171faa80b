"""The balancer pool against subtensor's own swap vectors (tests/data/dtao_vectors.json, copied
from the reference's section 9 with its sources)."""

from __future__ import annotations

import json
import math
from decimal import Decimal, localcontext
from pathlib import Path

import numpy as np
import pytest

from subnetsim.subnet.dtao import balancer, staking
from subnetsim.subnet.dtao.economy import Economy, SubnetEconomy
from subnetsim.subnet.dtao.params import NetworkParams
from subnetsim.subnet.dtao.pool import (
    Pool,
    PoolArrays,
    max_amount_add,
    protocol_buys,
    reweighted,
    swap_alpha_for_tao,
    swap_tao_for_alpha,
)
from subnetsim.subnet.errors import ExtrinsicError

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "dtao_vectors.json").read_text())


@pytest.mark.parametrize("row", VECTORS["exp_scaled"]["rows"])
def test_exp_scaled_matches_t1(row: list) -> None:
    w2, reserve, delta, direction, expected = row
    assert balancer.exp_scaled(w2, float(reserve), float(delta), direction) == pytest.approx(
        expected, abs=1e-9)


def test_quote_and_base_deltas_match_t3_t4_t5() -> None:
    t3, t4, t5 = (VECTORS[k] for k in ("quote_delta_in", "base_delta_in",
                                       "base_needed_for_quote"))
    w2 = 1 - t3["w_base"]
    assert math.floor(balancer.quote_for_price(float(t3["tao"]), w2, t3["price"],
                                               t3["target"])) == t3["expected"]
    assert math.floor(balancer.base_for_price(float(t4["alpha"]), t4["w_quote"], t4["price"],
                                              t4["target"])) == t4["expected"]
    assert math.floor(balancer.base_needed_for_quote(
        float(t5["alpha"]), float(t5["tao"]), t5["w_quote"], float(t5["tao_wanted"]))
    ) == t5["expected"]
    t2 = VECTORS["perquintill_power"]
    with localcontext() as ctx:
        ctx.prec = 40
        ratio = Decimal(t2["base"][0]) / Decimal(t2["base"][1])
        value = ratio ** (Decimal("0.6") / Decimal("0.4"))
    assert abs(value - Decimal(t2["expected"])) < Decimal("1e-18")


@pytest.mark.parametrize("exact", [True, False])
def test_a_buy_of_the_quote_delta_lands_on_the_target_price_t7(exact: bool) -> None:
    t7 = VECTORS["reverse_swap"]
    tao, price, target = t7["tao"], t7["price"], t7["target"]
    alpha = int(tao / price)  # w2 = 0.5: alpha = tao / price, as the chain's test sets it
    dy = math.floor(balancer.quote_for_price(float(tao), t7["w_quote"], price, target))
    pool = Pool(tao=tao, alpha=alpha, weight_quote=t7["w_quote"], exact=exact)
    assert pool.price == pytest.approx(price, rel=1e-15)
    new, swap = swap_tao_for_alpha(pool, dy, drop_fees=True)
    assert swap.net == dy
    assert new.price == pytest.approx(target, rel=t7["relative_tolerance"])
    assert swap.price_after == new.price


def test_price_with_weights_and_initialisation_t6_t8() -> None:
    for w2, x, y, price in VECTORS["price_with_weights"]["rows"]:
        assert Pool(tao=y, alpha=x, weight_quote=w2).price == pytest.approx(price, rel=1e-12)
    t8 = VECTORS["initialization"]
    assert Pool(tao=t8["tao"], alpha=t8["alpha"], exact=True).price == pytest.approx(t8["price"])
    w2 = balancer.weight_for_price(float(t8["alpha"]), float(t8["tao"]), t8["init_price"])
    assert w2 == pytest.approx(t8["init_weight"], abs=1e-4)
    assert Pool(tao=t8["tao"], alpha=t8["alpha"], weight_quote=w2).price == pytest.approx(0.2)


@pytest.mark.parametrize("row", VECTORS["swap_basic"]["rows"])
def test_swap_basic_to_the_rao_t9(row: list) -> None:
    t9 = VECTORS["swap_basic"]
    side, gross, fee, net, out = row
    pool = Pool(tao=t9["tao"], alpha=t9["alpha"], fee_rate=t9["fee_rate"], exact=True)
    swap_fn = swap_tao_for_alpha if side == "buy" else swap_alpha_for_tao
    new, swap = swap_fn(pool, gross)
    assert (swap.fee, swap.net) == (fee, net)
    assert abs(swap.out - out) <= t9["tolerance"]
    if side == "buy":  # the pool gains the net TAO and pays the alpha; the fee leaves it
        assert (new.tao, new.alpha) == (pool.tao + net, pool.alpha - swap.out)
        assert swap.fee_tao == fee
    else:  # the alpha fee is sold into the pool, its TAO goes to the author
        assert new.alpha == pool.alpha + gross
        assert new.tao == pool.tao - swap.out - swap.fee_tao


def test_float_and_exact_pools_agree_on_the_grid_t10() -> None:
    for y, x in ((1500, 1000), (1, 10**6), (10**6, 1)):
        for w2 in (0.5, 0.5 + 1e-8, 0.5 - 1e-8, 0.1, 0.9):
            for delta in (1, 10**4, 10**6):
                exact = balancer.buy_output(Decimal(x), Decimal(y), Decimal(repr(w2)),
                                            Decimal(delta))
                assert abs(balancer.buy_output(float(x), float(y), w2, float(delta))
                           - float(exact)) <= 2
                exact = balancer.sell_output(Decimal(x), Decimal(y), Decimal(repr(w2)),
                                             Decimal(delta))
                assert abs(balancer.sell_output(float(x), float(y), w2, float(delta))
                           - float(exact)) <= 2


@pytest.mark.parametrize(("dy", "dx"), [(10**9, 4 * 10**9), (5 * 10**10, 10**9),
                                        (1, 10**11), (7 * 10**11, 3)])
def test_injection_keeps_the_price_t11(dy: int, dx: int) -> None:
    pool = Pool(tao=10**12, alpha=4 * 10**12)
    new = reweighted(pool, float(dy), float(dx))
    assert new is not None
    grown = Pool(tao=pool.tao + dy, alpha=pool.alpha + dx, weight_quote=new.weight_quote)
    assert grown.price == pytest.approx(pool.price, rel=1e-12)
    assert new.weight_quote == pytest.approx((pool.tao + dy) / ((pool.alpha + dx) * pool.price
                                                                 + pool.tao + dy), rel=1e-12)


def test_an_injection_that_pushes_the_weight_out_of_range_is_refused() -> None:
    pool = Pool(tao=1e3, alpha=1e3)
    assert reweighted(pool, 1e6, 0.0) is None  # w2 would pass 0.99


@pytest.mark.parametrize("exact", [False, True])
def test_chain_buys_of_many_pools_are_each_pools_own_swap(exact: bool) -> None:
    """The coinbase buys for every pool at once; each pool must end where its own fee-free
    ``swap_tao_for_alpha`` leaves it: a plain buy, no spend, an input over 1000 x the reserve
    and an alpha reserve under the floor (both refused), a buy that crosses the default limit
    price (a partial fill), a skewed weight."""
    unit = 10**9 if exact else 1.0
    cases = [  # (TAO reserve, alpha reserve, w2, spend), in TAO / alpha
        (1000.0, 1000.0, 0.5, 0.5), (1000.0, 1000.0, 0.5, 0.0), (0.001, 1000.0, 0.5, 2.0),
        (10.0, 0.0001, 0.5, 0.1), (900_000.0, 1.0, 0.5, 1e6), (50.0, 2000.0, 0.9, 3.0)]

    def amount(value: float) -> float | int:
        return round(value * unit) if exact else value

    pools = [Pool(tao=amount(t), alpha=amount(a), weight_quote=w, exact=exact)
             for t, a, w, _ in cases]
    spend = [amount(s) for *_, s in cases]
    columns = PoolArrays.of(pools)
    out, bought = protocol_buys(columns, np.array(spend, dtype=object if exact else float))
    for index, (pool, gross) in enumerate(zip(pools, spend, strict=True)):
        expected, alpha = pool, 0 * gross
        if gross > 0:
            try:
                expected, swap = swap_tao_for_alpha(pool, gross, drop_fees=True)
                alpha = swap.out
            except ExtrinsicError:
                pass
        assert columns.pool(index) == expected, index
        assert bool(bought[index]) == (expected is not pool), index
        assert out[index] == alpha, index
    assert bought.tolist() == [True, False, False, False, True, True]


def test_input_over_1000x_the_reserve_is_refused_t12() -> None:
    pool = Pool(tao=10**9, alpha=10**9, exact=True)
    with pytest.raises(ExtrinsicError, match="SwapInputTooLarge"):
        swap_tao_for_alpha(pool, 1001 * 10**9 + 10**9)
    swap_tao_for_alpha(pool, 999 * 10**9)


def test_add_stake_limit_partial_fill_t13() -> None:
    t13 = VECTORS["add_stake_limit"]
    pool = Pool(tao=t13["tao"], alpha=t13["alpha"], exact=True)
    new, swap = swap_tao_for_alpha(pool, t13["stake"], limit_price=t13["limit"],
                                   allow_partial=True)
    rel = t13["relative_tolerance"]
    assert swap.net == pytest.approx(t13["executed_net"], rel=rel)
    assert swap.out == pytest.approx(t13["alpha_received"], rel=rel)
    assert new.price == pytest.approx(t13["final_price"], rel=rel)
    assert swap.fee == pytest.approx(t13["fee"], rel=rel)
    assert swap.refund == t13["stake"] - swap.net - swap.fee
    with pytest.raises(ExtrinsicError, match="SlippageTooHigh"):
        swap_tao_for_alpha(pool, t13["stake"], limit_price=t13["limit"], allow_partial=False)


@pytest.mark.parametrize("row", VECTORS["max_amount_add"]["rows"])
def test_max_amount_add_to_the_rao_t14(row: list) -> None:
    tao, alpha, limit_rao, expected = row
    pool = Pool(tao=tao, alpha=alpha, exact=True)
    got = max_amount_add(pool, limit_rao / 1e9)
    assert abs(got - expected) <= expected // VECTORS["max_amount_add"]["tolerance_divisor"]


def test_a_limit_at_or_below_the_price_is_refused_t14() -> None:
    pool = Pool(tao=150 * 10**9, alpha=100 * 10**9, exact=True)
    with pytest.raises(ExtrinsicError, match="PriceLimitExceeded"):
        max_amount_add(pool, 1.5)
    with pytest.raises(ExtrinsicError, match="PriceLimitExceeded"):
        swap_tao_for_alpha(pool, 10**9, limit_price=1.4)


def test_output_reserve_floor() -> None:
    with pytest.raises(ExtrinsicError, match="ReservesTooLow"):
        swap_tao_for_alpha(Pool(tao=10**9, alpha=999_999, exact=True), 1000)


def test_sell_partial_fill_stops_at_the_limit() -> None:
    pool = Pool(tao=100.0, alpha=100.0)
    new, swap = swap_alpha_for_tao(pool, 1000.0, limit_price=0.5)
    assert swap.refund > 0
    assert new.price == pytest.approx(0.5, rel=1e-3)  # the fee sale moves it a hair below


def _economy(exact: bool, pool: Pool | None = None) -> Economy:
    economy = Economy(params=NetworkParams(), exact=exact)
    if pool is not None:
        economy.subnets[1] = SubnetEconomy(netuid=1, name="sn1", owner_coldkey="owner",
                                           pool=pool, first_emission_block=1)
    return economy


@pytest.mark.parametrize("exact", [True, False])
def test_root_max_amounts_are_all_or_nothing_t15(exact: bool) -> None:
    t15 = VECTORS["max_amount_root"]
    economy = _economy(exact)
    unlimited = t15["u64_max"] if exact else t15["u64_max"] / 1e9  # u64::MAX rao, in TAO
    for side, rows in ((staking.max_amount_add, t15["add_rows"]),
                       (staking.max_amount_remove, t15["remove_rows"])):
        for limit_rao, expected in rows:
            got = side(economy, staking.ROOT_NETUID, limit_rao / 1e9)
            assert got == (unlimited if expected == "max" else expected), (side, limit_rao)


def test_dynamic_max_amounts_go_through_the_pool_t14() -> None:
    tao, alpha, limit_rao, expected = VECTORS["max_amount_add"]["rows"][4]  # 150/100 TAO, 6
    economy = _economy(True, Pool(tao=tao, alpha=alpha, exact=True))
    got = staking.max_amount_add(economy, 1, limit_rao / 1e9)
    assert abs(got - expected) <= expected // VECTORS["max_amount_add"]["tolerance_divisor"]
    # Selling down to a quarter of the price: x ((P / P')^w2 - 1) net, the fee on top.
    sold = staking.max_amount_remove(economy, 1, 1.5 / 4)
    net = alpha * (2 - 1)
    assert sold == net + net * 33 // (65535 - 33)
    with pytest.raises(ExtrinsicError, match="PriceLimitExceeded"):
        staking.max_amount_remove(economy, 1, 1.5)
