"""How a block's TAO emission is shared across subnets: the pluggable share rule.

``price`` (spec 425, the default; ``coinbase/subnet_emissions.rs : get_shares``):
s = EMA price / sum, w = s * (1 - min(1, MinerBurned)) renormalised (s if every w is 0), then
renormalised over the emission-enabled subnets. ``flow`` and ``net_flow`` are the rules of
2025-11-04 -> 2026-06-22 (``get_shares_flow``, kept for what-if and back-testing): shares from
the EMA of each subnet's net TAO stake flow, less the normalised protocol flow for ``net_flow``.

``price_gate`` (opt-in, [POST] spec 440 of 2026-07-27, after the reference's pinned spec 425;
``get_shares`` with ``apply_emission_gate`` in the FORK-E source the reference cites): the
``price`` shares s (after the MinerBurned step, before the enabled filter) pass through a Hill
gate, e ~ s / (1 + (theta / s)^h), renormalised (the ungated shares if every product is 0).
The bar theta is recomputed every 360 blocks, or while it is still 0: sort the shares
descending and add them up until the sum reaches the quantile q; theta is the share at which
it did (``EmissionBarQuantile`` 0.61, ``EmissionGateExponent`` h = 3). Subnets above the bar
keep about their share; those far below it lose most of theirs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SHARE_RULES = ("price", "flow", "net_flow", "price_gate")
FLOW_EMA_FACTOR = 29_597_889_189_277 / 2**63  # FlowEmaSmoothingFactor / i64::MAX, about 3.2e-6
EMISSION_BAR_UPDATE_INTERVAL = 360  # blocks between recomputations of the gate's bar

__all__ = ["EMISSION_BAR_UPDATE_INTERVAL", "FLOW_EMA_FACTOR", "SHARE_RULES", "emission_gate",
           "emission_gate_bar", "enabled_filter", "flow_shares", "gated_price_shares",
           "net_flow_scores", "pow_normalize", "price_shares", "update_flow_ema"]


def _normalised(values: np.ndarray) -> np.ndarray:
    total = values.sum()
    return values / total if total > 0 else np.zeros_like(values)


def pow_normalize(values: np.ndarray, exponent: float = 1.0) -> np.ndarray:
    """x^p / sum x^p (``inplace_pow_normalize``); zeros when everything is zero."""
    return _normalised(np.power(np.maximum(values, 0.0), exponent))


def enabled_filter(shares: np.ndarray, enabled: np.ndarray) -> np.ndarray:
    """Zero the disabled subnets' shares and renormalise the rest (applied only when some
    subnet is disabled, as the chain does)."""
    if enabled.all():
        return shares
    return _normalised(np.where(enabled, shares, 0.0))


def _burn_weighted(moving_prices: np.ndarray, miner_burned: np.ndarray) -> np.ndarray:
    """EMA price shares x (1 - min(1, MinerBurned)), renormalised (unweighted if all are 0)."""
    price_share = _normalised(moving_prices.astype(float))
    burned = price_share * (1.0 - np.minimum(1.0, miner_burned))
    return _normalised(burned) if burned.sum() > 0 else price_share


def price_shares(moving_prices: np.ndarray, miner_burned: np.ndarray,
                 enabled: np.ndarray) -> np.ndarray:
    """Spec 425 shares over the emitting subnets, from EMA prices and MinerBurned."""
    return enabled_filter(_burn_weighted(moving_prices, miner_burned), enabled)


def emission_gate_bar(shares: np.ndarray, quantile: float) -> float:
    """theta: the share at which the descending running sum of ``shares`` reaches
    ``quantile`` (the smallest share if it never does; 0 with no shares)."""
    theta = 0.0
    cumulative = 0.0
    for share in sorted(shares.tolist(), reverse=True):
        cumulative += share
        theta = share
        if cumulative >= quantile:
            break
    return theta


def emission_gate(shares: np.ndarray, theta: float, exponent: float) -> np.ndarray:
    """s / (1 + (theta / s)^h) renormalised; unchanged when theta is 0 (the gate is off) or
    every gated share is 0."""
    if theta <= 0:
        return shares
    positive = shares > 0
    ratio = np.divide(theta, shares, out=np.zeros_like(shares), where=positive)
    gated = np.where(positive, shares / (1.0 + ratio ** exponent), 0.0)
    return _normalised(gated) if gated.sum() > 0 else shares


def gated_price_shares(moving_prices: np.ndarray, miner_burned: np.ndarray,
                       enabled: np.ndarray, bar: float, block: int, quantile: float,
                       exponent: float) -> tuple[np.ndarray, float]:
    """The ``price_gate`` rule: (shares, the bar after this block). The bar is recomputed from
    this block's pre-gate shares every EMISSION_BAR_UPDATE_INTERVAL blocks or while it is 0
    (a bar of 0 is never stored)."""
    weighted = _burn_weighted(moving_prices, miner_burned)
    if bar <= 0 or block % EMISSION_BAR_UPDATE_INTERVAL == 0:
        bar = emission_gate_bar(weighted, quantile) or bar
    return enabled_filter(emission_gate(weighted, bar, exponent), enabled), bar


def update_flow_ema(ema: Any, flow: Any, factor: float = FLOW_EMA_FACTOR) -> Any:
    """EMAflow <- (1 - a) EMAflow + a F, once per block (floats, or arrays: every subnet)."""
    return (1.0 - factor) * ema + factor * flow


def net_flow_scores(user_ema: np.ndarray, protocol_ema: np.ndarray) -> np.ndarray:
    """S = EMAflow - k P for P > 0 (else - P), k = min(1, sum max(EMAflow, 0) / sum max(P, 0))."""
    positive_protocol = np.maximum(protocol_ema, 0.0).sum()
    k = 0.0
    if positive_protocol > 0:
        k = min(1.0, np.maximum(user_ema, 0.0).sum() / positive_protocol)
    return user_ema - np.where(protocol_ema > 0, k * protocol_ema, protocol_ema)


def flow_shares(scores: np.ndarray, enabled: np.ndarray, cutoff: float = 0.0,
                exponent: float = 1.0) -> np.ndarray:
    """Flow shares: z = max(S - L, 0), L = max(cutoff, min(min S, 0)), share = z^p / sum z^p."""
    if scores.size == 0:
        return scores.astype(float)
    floor = max(cutoff, min(float(scores.min()), 0.0))
    return enabled_filter(pow_normalize(np.maximum(scores - floor, 0.0), exponent), enabled)
