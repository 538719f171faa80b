"""The two-token weighted (Balancer) pool's formulas (subtensor ``pallets/swap/src/pallet/
balancer.rs``, spec 425).

x = alpha reserve (base, weight w1 = 1 - w2), y = TAO reserve (quote, weight w2). The invariant
x^w1 * y^w2 stays constant during a swap. Every function here is written once for any number
type with ``+ - * / **`` (``float`` in float worlds, ``Decimal`` at high precision for the
rao-exact pool, which floors results to rao as the chain's fixed point does), and for numpy
arrays of either (the coinbase works on every subnet's pool at once).

| quantity | formula |
| --- | --- |
| spot price (TAO per alpha) | (w1 / w2) * (y / x) |
| buy: alpha out for net TAO in dy | x * (1 - (y / (y + dy))^(w2 / w1)) |
| sell: TAO out for net alpha in dx | y * (1 - (x / (x + dx))^(w1 / w2)) |
| TAO that moves the price P -> P' (P' > P) | y * ((P' / P)^w1 - 1) |
| alpha that moves the price P -> P' (P' < P) | x * ((P / P')^w2 - 1) |
| quote weight after adding (dy, dx) at a fixed price | w2 x (y+dy) / (w1 y (x+dx) + w2 x (y+dy)) |
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

N = TypeVar("N", float, Any)  # float, or decimal.Decimal for the exact pool

MIN_WEIGHT = 0.01  # balancer.rs : MIN_WEIGHT (the comment says 0.1; the constant is 0.01)

__all__ = ["MIN_WEIGHT", "base_for_price", "base_needed_for_quote", "buy_output", "exp_scaled",
           "quote_for_price", "sell_output", "spot_price", "weight_after_injection",
           "weight_for_price"]


def spot_price(x: N, y: N, w2: N) -> N:
    """TAO per alpha: (w1 / w2) * (y / x); 0 with no alpha reserve."""
    empty = x == 0
    arrays = isinstance(empty, np.ndarray)  # arrays: 0 where a pool has no alpha reserve
    if not arrays and empty:
        return x * 0
    price: Any = (1 - w2) / w2 * (y / (np.where(empty, 1, x) if arrays else x))
    return np.where(empty, 0 * price, price) if arrays else price


def exp_scaled(w2: N, reserve: N, delta: N, base_over_quote: bool) -> N:
    """(r / (r + d))^(w1 / w2) when ``base_over_quote`` (a sell), else ^(w2 / w1) (a buy).

    The ratio is clamped to at most 1 as the chain's ``pow_ratio_scaled`` does."""
    w1 = 1 - w2
    ratio = reserve / (reserve + delta)
    ratio = np.minimum(ratio, 1) if isinstance(ratio, np.ndarray) else min(ratio, ratio * 0 + 1)
    exponent = w1 / w2 if base_over_quote else w2 / w1
    return ratio ** exponent


def buy_output(x: N, y: N, w2: N, dy: N) -> N:
    """Alpha paid out for a net TAO input ``dy`` (pre-swap reserves)."""
    return x * (1 - exp_scaled(w2, y, dy, base_over_quote=False))


def sell_output(x: N, y: N, w2: N, dx: N) -> N:
    """TAO paid out for a net alpha input ``dx`` (pre-swap reserves)."""
    return y * (1 - exp_scaled(w2, x, dx, base_over_quote=True))


def quote_for_price(y: N, w2: N, price: N, target: N) -> N:
    """Net TAO a buy needs to move the price from ``price`` up to ``target``."""
    return y * ((target / price) ** (1 - w2) - 1)


def base_for_price(x: N, w2: N, price: N, target: N) -> N:
    """Net alpha a sell needs to move the price from ``price`` down to ``target``."""
    return x * ((price / target) ** w2 - 1)


def weight_after_injection(x: N, y: N, w2: N, dx: N, dy: N) -> N:
    """The quote weight that keeps the spot price when (dy TAO, dx alpha) are added."""
    w1 = 1 - w2
    grown = w2 * x * (y + dy)
    return grown / (w1 * y * (x + dx) + grown)


def weight_for_price(x: N, y: N, price: N) -> N:
    """The quote weight at which reserves (x, y) quote ``price`` (``maybe_initialize_palswap``
    with a price): w2 = y / (P x + y)."""
    return y / (price * x + y)


def base_needed_for_quote(x: N, y: N, w2: N, tao_out: N) -> N:
    """Net alpha a sell needs to pay out ``tao_out``: x ((y / (y - out))^(w2 / w1) - 1)."""
    return x * ((y / (y - tao_out)) ** (w2 / (1 - w2)) - 1)
