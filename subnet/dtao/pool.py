"""A subnet's pool and its swaps (subtensor ``pallets/swap``: ``impls.rs : do_swap``,
``swap_step.rs``), spec 425.

A ``Pool`` is immutable; a swap returns the new pool and a ``Swap`` receipt. Two arithmetics
share every formula (``balancer.py``): float pools hold token units (TAO, alpha); exact pools
(``exact=True``) hold integer rao and compute at 80 significant digits (the chain's big-integer
``pow_ratio_scaled``), flooring every result to rao as the chain's ``U64F64 -> u64`` does.

Swap rules, in the chain's order:
1. the net input may be at most 1000 x the input-side reserve (``SwapInputTooLarge``);
2. the output-side reserve must hold at least ``MinimumReserve`` (``ReservesTooLow``);
3. a buy needs price < limit, a sell price > limit (``PriceLimitExceeded``);
4. fee = floor(gross * FeeRate / 65535), unless the swap drops fees (protocol buys, root sells);
5. if swapping the whole net input would cross the limit, only the amount that reaches it is
   swapped (fee f/(65535 - f) of it), the rest refunded, when partial fills are allowed;
   otherwise ``SlippageTooHigh``;
6. the output uses the pre-swap reserves; the fee leaves the pool for the block author (a sell's
   alpha fee is first sold to the pool without a fee).
"""

from __future__ import annotations

import contextlib
import dataclasses
import decimal
from decimal import Decimal
from typing import Any

import numpy as np

from subnetsim.subnet.dtao import balancer
from subnetsim.subnet.errors import ExtrinsicError

FEE_DENOMINATOR = 65535  # FeeRate is a u16 fraction of u16::MAX
DEFAULT_FEE_RATE = 33  # swap pallet default, about 0.0504 %
MAX_INPUT_MULTIPLIER = 1000  # swap_step.rs : MAX_SWAP_INPUT_RESERVE_MULTIPLIER
MIN_RESERVE_RAO = 1_000_000  # runtime SwapMinimumReserve
RAO_PER_TAO = 1_000_000_000
MAX_PRICE = 1_000_000.0  # default buy limit: 1e15 rao per alpha
MIN_PRICE = 1e-6  # default sell limit: 1 000 rao per alpha
POOL_KINDS = ("balancer", "constant_product")
_EXACT = decimal.Context(prec=80, rounding=decimal.ROUND_HALF_EVEN)

__all__ = ["DEFAULT_FEE_RATE", "FEE_DENOMINATOR", "MAX_INPUT_MULTIPLIER", "POOL_KINDS", "Pool",
           "PoolArrays", "RAO_PER_TAO", "Swap", "injection_weights", "max_amount_add",
           "max_amount_remove", "protocol_buys", "spot_prices", "swap_alpha_for_tao",
           "swap_tao_for_alpha"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Pool:
    """One subnet's pool: ``tao`` (SubnetTAO, y), ``alpha`` (SubnetAlphaIn, x), the quote weight
    w2 (``SwapBalancer``), the fee rate (u16) and the kind: ``balancer`` re-weights on every
    injection so the price holds; ``constant_product`` (the 2025 pools) keeps w2 = 0.5."""

    tao: Any
    alpha: Any
    weight_quote: float = 0.5
    fee_rate: int = DEFAULT_FEE_RATE
    kind: str = "balancer"
    exact: bool = False

    @property
    def price(self) -> float:
        """Spot TAO per alpha (``current_alpha_price``)."""
        if self.exact:
            with decimal.localcontext(_EXACT):
                return float(balancer.spot_price(Decimal(self.alpha), Decimal(self.tao),
                                                 _weight(self)))
        return balancer.spot_price(self.alpha, self.tao, self.weight_quote)

    def with_reserves(self, tao: Any, alpha: Any) -> Pool:
        """This pool with other reserves (swaps are hot: ``_new_pool``)."""
        return _new_pool(tao, alpha, self.weight_quote, self.fee_rate, self.kind, self.exact)

    @property
    def min_reserve(self) -> float | int:
        """The output-side reserve floor, in this pool's units."""
        return MIN_RESERVE_RAO if self.exact else MIN_RESERVE_RAO / RAO_PER_TAO


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Swap:
    """What a swap did. ``gross`` is the input taken (after a partial fill's refund), ``fee`` the
    input-side fee, ``fee_tao`` what the block author receives in TAO."""

    gross: Any
    fee: Any
    net: Any
    out: Any
    fee_tao: Any
    refund: Any
    price_before: float
    price_after: float


def _context(pool: Pool) -> contextlib.AbstractContextManager[Any]:
    """The exact pool's 80-digit Decimal context; nothing to set up for a float pool."""
    return _exact_context(pool.exact)


def _exact_context(exact: bool) -> contextlib.AbstractContextManager[Any]:
    return decimal.localcontext(_EXACT) if exact else contextlib.nullcontext()


def _weight(pool: Pool) -> Any:
    return Decimal(repr(pool.weight_quote)) if pool.exact else pool.weight_quote


def _num(pool: Pool, value: Any) -> Any:
    return Decimal(value) if pool.exact else value


def _price(pool: Pool, price: float) -> Any:
    """A price (TAO per alpha, a float) in the pool's arithmetic."""
    return _price_of(pool.exact, price)


def _price_of(exact: bool, price: float) -> Any:
    return Decimal(repr(price)) if exact else price


def _out(pool: Pool, value: Any) -> Any:
    """A result in the pool's units: floored to rao in exact pools (never negative)."""
    return _floor_rao(value) if pool.exact else max(value, 0.0)


def _floor_rao(value: Decimal) -> int:
    return max(int(value.to_integral_value(rounding=decimal.ROUND_FLOOR)), 0)


def _fee(pool: Pool, gross: Any, drop_fees: bool) -> Any:
    if drop_fees:
        return 0 if pool.exact else 0.0
    if pool.exact:
        return gross * pool.fee_rate // FEE_DENOMINATOR
    return gross * pool.fee_rate / FEE_DENOMINATOR


def _fee_on_net(pool: Pool, net: Any) -> Any:
    """The fee that makes ``net`` the amount left of a gross input (partial fills, max amounts)."""
    if pool.exact:
        return net * pool.fee_rate // (FEE_DENOMINATOR - pool.fee_rate)
    return net * pool.fee_rate / (FEE_DENOMINATOR - pool.fee_rate)


def _open_swap(pool: Pool, gross: Any, limit: float, drop_fees: bool,
               buy: bool) -> tuple[float, Any, Any]:
    """Rules 1-4 of a swap: (price before, fee, net input), or the chain's error."""
    price = pool.price
    if _past_limit(price, limit, buy):
        raise ExtrinsicError("PriceLimitExceeded", f"price {price:.9g}, limit {limit:.9g}")
    fee = _fee(pool, gross, drop_fees)
    net = gross - fee
    reserve, out_reserve = (pool.tao, pool.alpha) if buy else (pool.alpha, pool.tao)
    if _input_too_large(net, reserve):
        raise ExtrinsicError("SwapInputTooLarge", f"{net} > 1000 x reserve {reserve}")
    if _reserve_too_low(out_reserve, pool.min_reserve):
        raise ExtrinsicError("ReservesTooLow", f"reserve {out_reserve}")
    return price, fee, net


# Rules 1-3, elementwise on arrays too (the coinbase's protocol buys check every pool at once).
def _past_limit(price: Any, limit: float, buy: bool) -> Any:
    return price >= limit if buy else price <= limit


def _input_too_large(net: Any, reserve: Any) -> Any:
    return net > MAX_INPUT_MULTIPLIER * reserve


def _reserve_too_low(out_reserve: Any, min_reserve: float | int) -> Any:
    return out_reserve < min_reserve


def swap_tao_for_alpha(pool: Pool, gross: Any, limit_price: float | None = None,
                       allow_partial: bool = True, drop_fees: bool = False) -> tuple[Pool, Swap]:
    """Buy alpha with ``gross`` TAO, not past ``limit_price`` TAO per alpha."""
    limit = MAX_PRICE if limit_price is None else limit_price
    price, fee, net = _open_swap(pool, gross, limit, drop_fees, buy=True)
    with _context(pool):
        x, y, w2 = _num(pool, pool.alpha), _num(pool, pool.tao), _weight(pool)
        out_full = balancer.buy_output(x, y, w2, _num(pool, net))
        target = _price(pool, limit)
        if balancer.spot_price(x - out_full, y + _num(pool, net), w2) > target:
            needed = _out(pool, balancer.quote_for_price(y, w2, balancer.spot_price(x, y, w2),
                                                         target))
            if not allow_partial:
                raise ExtrinsicError("SlippageTooHigh", f"the buy would pass {limit:.9g}")
            net = min(net, needed)
            fee = 0 * net if drop_fees else _fee_on_net(pool, net)
        out = _out(pool, balancer.buy_output(x, y, w2, _num(pool, net)))
    new = pool.with_reserves(pool.tao + net, pool.alpha - out)
    swap = Swap(gross=net + fee, fee=fee, net=net, out=out, fee_tao=fee,
                refund=gross - net - fee, price_before=price, price_after=new.price)
    return new, swap


def swap_alpha_for_tao(pool: Pool, gross: Any, limit_price: float | None = None,
                       allow_partial: bool = True, drop_fees: bool = False) -> tuple[Pool, Swap]:
    """Sell ``gross`` alpha for TAO, not below ``limit_price``; the alpha fee is sold to the
    pool without a fee and its TAO is the author's."""
    limit = MIN_PRICE if limit_price is None else limit_price
    price, fee, net = _open_swap(pool, gross, limit, drop_fees, buy=False)
    with _context(pool):
        x, y, w2 = _num(pool, pool.alpha), _num(pool, pool.tao), _weight(pool)
        out_full = balancer.sell_output(x, y, w2, _num(pool, net))
        target = _price(pool, limit)
        if balancer.spot_price(x + _num(pool, net), y - out_full, w2) < target:
            if not allow_partial:
                raise ExtrinsicError("SlippageTooHigh", f"the sell would pass {limit:.9g}")
            needed = _out(pool, balancer.base_for_price(x, w2, balancer.spot_price(x, y, w2),
                                                        target))
            net = min(net, needed)
            fee = 0 * net if drop_fees else _fee_on_net(pool, net)
        out = _out(pool, balancer.sell_output(x, y, w2, _num(pool, net)))
    new = pool.with_reserves(pool.tao - out, pool.alpha + net)
    fee_tao = 0 * out
    if fee:  # the fee alpha is sold without a fee; its TAO goes to the author
        new, fee_swap = swap_alpha_for_tao(new, fee, limit_price=0.0, drop_fees=True)
        fee_tao = fee_swap.out
    swap = Swap(gross=net + fee, fee=fee, net=net, out=out, fee_tao=fee_tao,
                refund=gross - net - fee, price_before=price, price_after=new.price)
    return new, swap


def max_amount_add(pool: Pool, limit_price: float) -> Any:
    """The most gross TAO a buy can take before the price reaches ``limit_price``
    (``get_max_amount_add``); ``PriceLimitExceeded`` if the price is already there."""
    with _context(pool):
        x, y, w2 = _num(pool, pool.alpha), _num(pool, pool.tao), _weight(pool)
        price = balancer.spot_price(x, y, w2)
        target = _price(pool, limit_price)
        if target <= price:
            raise ExtrinsicError("PriceLimitExceeded", f"limit {limit_price:.9g} <= price")
        net = _out(pool, balancer.quote_for_price(y, w2, price, target))
    return net + _fee_on_net(pool, net)


def max_amount_remove(pool: Pool, limit_price: float) -> Any:
    """The most gross alpha a sell can take before the price falls to ``limit_price``."""
    with _context(pool):
        x, y, w2 = _num(pool, pool.alpha), _num(pool, pool.tao), _weight(pool)
        price = balancer.spot_price(x, y, w2)
        target = _price(pool, limit_price)
        if target >= price:
            raise ExtrinsicError("PriceLimitExceeded", f"limit {limit_price:.9g} >= price")
        net = _out(pool, balancer.base_for_price(x, w2, price, target))
    return net + _fee_on_net(pool, net)


def reweighted(pool: Pool, tao: Any, alpha: Any) -> Pool | None:
    """The pool with the quote weight that keeps its price once (tao, alpha) are added
    (``update_weights_for_added_liquidity``), reserves unchanged; None if the weight would
    leave [0.01, 0.99] (the chain then injects nothing). Constant-product pools keep 0.5."""
    pools = PoolArrays.of([pool])
    weights, injected = injection_weights(pools, _column([tao], pool.exact),
                                          _column([alpha], pool.exact))
    if not injected[0]:
        return None
    return Pool(tao=pool.tao, alpha=pool.alpha, weight_quote=float(weights[0]),
                fee_rate=pool.fee_rate, kind=pool.kind, exact=pool.exact)


# --- every subnet's pool at once (the coinbase) ------------------------------------------------

@dataclasses.dataclass(slots=True, kw_only=True)
class PoolArrays:
    """Many pools as columns: reserves as float64 (object arrays of int rao when exact), quote
    weights as float64; ``Pool`` objects are made from them once the block's coinbase is done."""

    tao: np.ndarray
    alpha: np.ndarray
    weight_quote: np.ndarray
    constant_product: np.ndarray
    fee_rate: list[int]
    kind: list[str]
    exact: bool

    @classmethod
    def of(cls, pools: list[Pool]) -> PoolArrays:
        exact = bool(pools) and pools[0].exact
        kinds = [p.kind for p in pools]
        return cls(tao=_column([p.tao for p in pools], exact),
                   alpha=_column([p.alpha for p in pools], exact),
                   weight_quote=np.array([p.weight_quote for p in pools], dtype=float),
                   constant_product=np.array([k == "constant_product" for k in kinds], dtype=bool),
                   fee_rate=[p.fee_rate for p in pools], kind=kinds, exact=exact)

    def pool(self, index: int) -> Pool:
        """Pool ``index`` as a ``Pool`` (Python floats, or ints when exact)."""
        return Pool(tao=_scalar(self.tao[index]), alpha=_scalar(self.alpha[index]),
                    weight_quote=float(self.weight_quote[index]), fee_rate=self.fee_rate[index],
                    kind=self.kind[index], exact=self.exact)

    def pools(self) -> list[Pool]:
        """Every pool as a ``Pool``, in order."""
        return list(map(_new_pool, self.tao.tolist(), self.alpha.tolist(),
                        self.weight_quote.tolist(), self.fee_rate, self.kind,
                        [self.exact] * len(self.kind)))


_SET_TAO, _SET_ALPHA, _SET_WEIGHT, _SET_FEE, _SET_KIND, _SET_EXACT = (
    getattr(Pool, f.name).__set__ for f in dataclasses.fields(Pool))


def _new_pool(tao: Any, alpha: Any, weight_quote: float, fee_rate: int, kind: str,
              exact: bool) -> Pool:
    """``Pool(...)`` without the frozen dataclass's ``__init__`` (a third of the time: it sets
    each slot through ``object.__setattr__``); swaps and the coinbase make new pools all the
    time."""
    pool = object.__new__(Pool)
    _SET_TAO(pool, tao)
    _SET_ALPHA(pool, alpha)
    _SET_WEIGHT(pool, weight_quote)
    _SET_FEE(pool, fee_rate)
    _SET_KIND(pool, kind)
    _SET_EXACT(pool, exact)
    return pool


def _column(values: list[Any], exact: bool) -> np.ndarray:
    return np.array(values, dtype=object) if exact else np.array(values, dtype=float)


def _flags(values: Any) -> np.ndarray:
    """Comparisons of object (rao) arrays give objects: as booleans."""
    return np.asarray(values, dtype=bool)


def _scalar(value: Any) -> Any:
    return value if isinstance(value, int) else float(value)


def _decimals(values: np.ndarray, exact: bool, weights: bool = False) -> np.ndarray:
    """Amounts in the pools' arithmetic: float64 as they are, or 80-digit Decimals (weights
    through their repr, as ``_weight`` does)."""
    if not exact:
        return values
    if weights:
        return np.array([Decimal(repr(float(w))) for w in values], dtype=object)
    return np.array([Decimal(v) for v in values], dtype=object)


def _floored(values: np.ndarray, exact: bool) -> np.ndarray:
    """``_out`` elementwise: floored to rao in exact pools, never negative."""
    if exact:
        return np.array([_floor_rao(v) for v in values], dtype=object)
    return np.maximum(values, 0.0)


def spot_prices(pools: PoolArrays) -> np.ndarray:
    """Every pool's ``Pool.price`` (float64)."""
    with _exact_context(pools.exact):
        price = balancer.spot_price(_decimals(pools.alpha, pools.exact),
                                    _decimals(pools.tao, pools.exact),
                                    _decimals(pools.weight_quote, pools.exact, weights=True))
    return np.asarray(price, dtype=float)


def injection_weights(pools: PoolArrays, tao: np.ndarray,
                      alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``reweighted`` for every pool: the quote weights after adding (tao, alpha) at fixed
    prices, and whether each injection is made (False where the weight would leave
    [0.01, 0.99]: that pool keeps its weight and takes nothing)."""
    weights = pools.weight_quote.copy()
    injected = np.ones(weights.shape, dtype=bool)
    # constant product keeps 0.5; an empty side cannot be priced: both take the injection as is
    live = np.flatnonzero(~pools.constant_product & _flags(pools.tao != 0)
                          & _flags(pools.alpha != 0))
    if live.size == 0:
        return weights, injected
    exact = pools.exact
    with _exact_context(exact):
        new = balancer.weight_after_injection(
            _decimals(pools.alpha[live], exact), _decimals(pools.tao[live], exact),
            _decimals(weights[live], exact, weights=True), _decimals(alpha[live], exact),
            _decimals(tao[live], exact))
    new = np.asarray(new, dtype=float)
    inside = (new >= balancer.MIN_WEIGHT) & (new <= 1 - balancer.MIN_WEIGHT)
    weights[live[inside]] = new[inside]
    injected[live[~inside]] = False
    return weights, injected


def protocol_buys(pools: PoolArrays, spend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coinbase's chain buys: ``swap_tao_for_alpha(pool, spend, drop_fees=True)`` for every
    pool with ``spend`` > 0, at once. Updates ``pools``' reserves in place; returns the alpha
    bought per pool and whether each buy was made (the swap rules refused the others). A buy
    that would cross the default limit price is left to ``swap_tao_for_alpha`` (partial fill)."""
    exact = pools.exact
    out = _column([0] * len(spend), exact) if exact else np.zeros(len(spend))
    bought = np.zeros(len(spend), dtype=bool)
    wanted = np.flatnonzero(_flags(spend > 0))
    if wanted.size == 0:
        return out, bought
    min_reserve = MIN_RESERVE_RAO if exact else MIN_RESERVE_RAO / 1e9
    tao, alpha, net = pools.tao[wanted], pools.alpha[wanted], spend[wanted]
    with _exact_context(exact):
        x, y = _decimals(alpha, exact), _decimals(tao, exact)
        w2 = _decimals(pools.weight_quote[wanted], exact, weights=True)
        price = np.asarray(balancer.spot_price(x, y, w2), dtype=float)
        refused = (_past_limit(price, MAX_PRICE, buy=True) | _flags(_input_too_large(net, tao))
                   | _flags(_reserve_too_low(alpha, min_reserve)))
        net_n = _decimals(net, exact)
        out_full = balancer.buy_output(x, y, w2, net_n)
        crosses = balancer.spot_price(x - out_full, y + net_n, w2) > _price_of(exact, MAX_PRICE)
        got = _floored(out_full, exact)
    plain = ~refused & ~_flags(crosses)
    done = wanted[plain]
    out[done] = got[plain]
    pools.tao[done] = tao[plain] + net[plain]
    pools.alpha[done] = alpha[plain] - got[plain]
    bought[done] = True
    for index in wanted[~refused & ~plain]:  # the default limit binds: a partial fill
        new, swap = swap_tao_for_alpha(pools.pool(index), _scalar(spend[index]), drop_fees=True)
        pools.tao[index], pools.alpha[index] = new.tao, new.alpha
        out[index], bought[index] = swap.out, True
    return out, bought

