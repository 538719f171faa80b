"""One block's coinbase for one subnet, as pure functions (``coinbase/run_coinbase.rs``).

- ``subnet_terms``: TAO emission T at spot price P with alpha emission A and root proportion rp
  -> tao_in, alpha_in (capped at rp * A), the excess TAO the chain spends buying alpha, and
  alpha_out = A (``get_subnet_terms``).
- ``split_alpha_out``: owner cut, then half to miners, half to validators of which rp goes to
  root stakers (recycled instead when the root sell flag is off) (``emit_to_subnets``).
- ``moving_price``: the EMA of min(spot, 1) with the slow start b / (b + H)
  (``update_moving_price``).
"""

from __future__ import annotations

import dataclasses
import math

__all__ = ["AlphaSplit", "SubnetTerms", "moving_price", "root_proportion", "root_sell_flag",
           "split_alpha_out", "subnet_terms"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SubnetTerms:
    """A subnet's coinbase terms for one block (token units, or rao when exact)."""

    tao_in: float
    alpha_in: float
    excess_tao: float
    alpha_out: float


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AlphaSplit:
    """Where one block's alpha_out goes: pending owner cut, miners (server), validators, root
    dividends, and the root part recycled when root stakers may not sell."""

    owner: float = 0.0
    server: float = 0.0
    validator: float = 0.0
    root: float = 0.0
    recycled: float = 0.0


def _floor(value: float, exact: bool) -> float:
    return float(math.floor(value)) if exact else value


def root_proportion(tao_weight: float, root_tao: float, alpha_issuance: float) -> float:
    """rp = tw R / (tw R + alpha issuance); 0 when both are 0."""
    weighted = tao_weight * root_tao
    total = weighted + alpha_issuance
    return weighted / total if total > 0 else 0.0


def subnet_terms(tao_emission: float, price: float, alpha_emission: float, rp: float,
                 exact: bool = False) -> SubnetTerms:
    """tao_in, alpha_in, excess TAO and alpha_out of one subnet for one block."""
    alpha_in = _floor(tao_emission / price, exact) if price > 0 else 0.0
    tao_in = tao_emission
    cap = _floor(rp * alpha_emission, exact)
    if alpha_in > cap:
        alpha_in = cap
        tao_in = _floor(cap * price, exact)
    return SubnetTerms(tao_in=tao_in, alpha_in=alpha_in, excess_tao=tao_emission - tao_in,
                       alpha_out=alpha_emission)


def split_alpha_out(alpha_out: float, owner_cut: float, rp: float, root_sell: bool,
                    exact: bool = False) -> AlphaSplit:
    """The owner cut, then half of the rest to miners and half to validators, of which rp goes
    to root (``rp`` recomputed after this block's injection and mint)."""
    owner = _floor(alpha_out * owner_cut, exact)
    rest = alpha_out - owner
    root = _floor(rp * rest / 2, exact)
    server = _floor(rest / 2, exact)
    validator = _floor(rest / 2 - root, exact)
    if root_sell:
        return AlphaSplit(owner=owner, server=server, validator=validator, root=root)
    return AlphaSplit(owner=owner, server=server, validator=validator, recycled=root)


def root_sell_flag(moving_prices: list[float]) -> bool:
    """Root stakers earn alpha only while the emitting subnets' EMA prices sum past 1."""
    return sum(moving_prices) > 1.0


def moving_price(ema: float, spot: float, moving_alpha: float, blocks_since_start: int,
                 halving_blocks: int) -> float:
    """EMA <- a min(spot, 1) + (1 - a) EMA, a = SubnetMovingAlpha * b / (b + H)."""
    b = max(blocks_since_start, 0)
    weight = moving_alpha * b / (b + halving_blocks) if b + halving_blocks > 0 else 0.0
    return weight * min(spot, 1.0) + (1.0 - weight) * ema
