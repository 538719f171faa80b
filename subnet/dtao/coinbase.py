"""One block's coinbase terms for every emitting subnet at once (``coinbase/run_coinbase.rs``).

Every function takes numpy arrays with one entry per emitting subnet (a scalar works too, as a
one-subnet network), so the network's per-block coinbase is a handful of array operations
instead of a Python loop over 128 subnets:

- ``subnet_terms``: TAO emission T at spot price P with alpha emission A and root proportion rp
  -> tao_in, alpha_in (capped at rp * A), the excess TAO the chain spends buying alpha, and
  alpha_out = A (``get_subnet_terms``).
- ``split_alpha_out``: owner cut, then half to miners, half to validators of which rp goes to
  root stakers (recycled instead when the root sell flag is off) (``emit_to_subnets``).
- ``moving_price``: the EMA of min(spot, 1) with the slow start b / (b + H)
  (``update_moving_price``).

In exact (rao) worlds every term is the chain's float64 product floored to rao, which float64
arrays compute bit for bit as Python floats do (amounts stay below 2^53 rao).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["AlphaSplit", "SubnetTerms", "moving_price", "root_proportion", "root_sell_flag",
           "split_alpha_out", "subnet_terms"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SubnetTerms:
    """The emitting subnets' coinbase terms for one block (token units, or rao when exact),
    one array entry per subnet."""

    tao_in: Any
    alpha_in: Any
    excess_tao: Any
    alpha_out: Any


@dataclasses.dataclass(slots=True)
class AlphaSplit:
    """Where one subnet's alpha_out of a block goes: pending owner cut, miners (server),
    validators, root dividends, and the root part recycled when root stakers may not sell.
    (Slots: the coinbase makes one per subnet per block; a checkpoint keeps the last one.)"""

    owner: Any = 0.0
    server: Any = 0.0
    validator: Any = 0.0
    root: Any = 0.0
    recycled: Any = 0.0


def _floor(values: Any, exact: bool) -> Any:
    return np.floor(values) if exact else values


def root_proportion(tao_weight: float, root_tao: Any, alpha_issuance: Any) -> Any:
    """rp = tw R / (tw R + alpha issuance); 0 where both are 0."""
    weighted = tao_weight * np.asarray(root_tao, dtype=float)
    total = weighted + np.asarray(alpha_issuance, dtype=float)
    return np.divide(weighted, total, out=np.zeros_like(total), where=total > 0)


def subnet_terms(tao_emission: Any, price: Any, alpha_emission: Any, rp: Any,
                 exact: bool = False) -> SubnetTerms:
    """tao_in, alpha_in, excess TAO and alpha_out of each subnet for one block."""
    tao_emission = np.asarray(tao_emission, dtype=float)
    price = np.asarray(price, dtype=float)
    alpha_emission = np.asarray(alpha_emission, dtype=float)
    priced = price > 0
    uncapped = _floor(np.divide(tao_emission, price, out=np.zeros_like(tao_emission),
                                where=priced), exact)
    cap = _floor(rp * alpha_emission, exact)
    capped = uncapped > cap
    alpha_in = np.where(capped, cap, uncapped)
    tao_in = np.where(capped, _floor(cap * price, exact), tao_emission)
    return SubnetTerms(tao_in=tao_in, alpha_in=alpha_in, excess_tao=tao_emission - tao_in,
                       alpha_out=alpha_emission)


def split_alpha_out(alpha_out: Any, owner_cut: Any, rp: Any, root_sell: bool,
                    exact: bool = False) -> AlphaSplit:
    """The owner cut, then half of the rest to miners and half to validators, of which rp goes
    to root (``rp`` recomputed after this block's injection and mint)."""
    alpha_out = np.asarray(alpha_out, dtype=float)
    owner = _floor(alpha_out * owner_cut, exact)
    rest = alpha_out - owner
    root = _floor(rp * rest / 2, exact)
    server = _floor(rest / 2, exact)
    validator = _floor(rest / 2 - root, exact)
    if root_sell:
        return AlphaSplit(owner=owner, server=server, validator=validator, root=root,
                          recycled=np.zeros_like(root))
    return AlphaSplit(owner=owner, server=server, validator=validator,
                      root=np.zeros_like(root), recycled=root)


def root_sell_flag(moving_prices: Any) -> bool:
    """Root stakers earn alpha only while the emitting subnets' EMA prices sum past 1 (summed
    in netuid order, as the chain does)."""
    return sum(np.asarray(moving_prices, dtype=float).tolist(), 0.0) > 1.0


def moving_price(ema: Any, spot: Any, moving_alpha: float, blocks_since_start: Any,
                 halving_blocks: int) -> Any:
    """EMA <- a min(spot, 1) + (1 - a) EMA, a = SubnetMovingAlpha * b / (b + H)."""
    b = np.maximum(np.asarray(blocks_since_start, dtype=float), 0.0)
    span = b + halving_blocks
    weight = np.divide(moving_alpha * b, span, out=np.zeros_like(b), where=span > 0)
    return weight * np.minimum(spot, 1.0) + (1.0 - weight) * np.asarray(ema, dtype=float)
