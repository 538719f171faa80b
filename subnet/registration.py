"""Registration economics and pruning, as subtensor computes them (pure functions).

Burn price, subtensor HEAD (``registration.rs``; ``burn_model = "decay"``):

- every block after block 1, in ``on_initialize``, the burn decays by a per-block factor ``f``
  with ``f ** BurnHalfLife ~ 1/2`` (Q32 fixed point, ``utils/misc.rs : decay_factor_q32``,
  found by bisection over ``pow_q32``), then is clamped to [MinBurn, MaxBurn]
  (``update_registration_prices_for_networks``);
- each successful registration multiplies it by ``BurnIncreaseMult`` (U64F64, default 1.26) and
  clamps again (``bump_registration_price_after_registration``).
- no per-interval or per-block registration cap is enforced at HEAD.

Until 2026-01 (``burn_model = "interval"``, for replaying history): every ``adjustment_interval``
blocks the burn moved toward ``burn * (regs + target) / (2 target)``, blended with the old value
by ``adjustment_alpha`` (``block_step.rs : upgraded_burn``), raised only when registrations
exceeded the target and lowered only when there were none (cases B/D/E of
``adjust_registration_terms_for_networks``, burn registrations only); at most ``3 * target``
registrations per interval (``checked_allowed_register``) and ``max_registrations_per_block``
per block.

Pruning (``registration.rs : get_neuron_to_prune``): the owner's hotkeys are never pruned; the
lowest emission, then the older registration, then the lower uid; a non-immune uid only while
more than ``MinNonImmuneUids`` (10) non-immune uids remain, otherwise the best immune one.
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np

__all__ = [
    "RAO", "bump_burn", "decay_burn", "decay_factor_q32", "interval_burn", "neuron_to_prune",
]

RAO = 1_000_000_000
_ONE_Q32 = 1 << 32
_U64_MAX = (1 << 64) - 1


def _mul_q32(value: int, factor_q32: int) -> int:
    """``utils/misc.rs : mul_by_q32``: (value * factor) >> 32, clamped to u64."""
    return min((value * factor_q32) >> 32, _U64_MAX)


def _pow_q32(base_q32: int, exponent: int) -> int:
    """``pow_q32``: exponentiation by squaring in Q32 (each product floored)."""
    result, factor, power = _ONE_Q32, base_q32, exponent
    while power > 0:
        if power & 1:
            result = _mul_q32(result, factor)
        power >>= 1
        if power > 0:
            factor = _mul_q32(factor, factor)
    return result


@functools.lru_cache(maxsize=16)
def decay_factor_q32(half_life: int) -> int:
    """``decay_factor_q32``: the largest Q32 ``f`` with ``f ** half_life <= 1/2`` (bisection)."""
    if half_life == 0:
        return _ONE_Q32
    low, high = 0, _ONE_Q32
    while low + 1 < high:
        middle = low + ((high - low) >> 1)
        if _pow_q32(middle, half_life) > (1 << 31):
            high = middle
        else:
            low = middle
    return low


def _clamp_rao(value: int, min_burn: float, max_burn: float) -> int:
    return min(max(value, round(min_burn * RAO)), round(max_burn * RAO))


def decay_burn(burn: float, half_life: int, min_burn: float, max_burn: float) -> float:
    """One block's decay of the burn (TAO in, TAO out; computed on rao like the chain)."""
    rao = round(burn * RAO)
    if half_life > 0:
        rao = _mul_q32(rao, decay_factor_q32(half_life))
    return _clamp_rao(rao, min_burn, max_burn) / RAO


def bump_burn(burn: float, increase_mult: float, min_burn: float, max_burn: float) -> float:
    """The burn after one registration: U64F64(burn) * max(mult, 1), floored to rao."""
    mult_bits = max(round(Fraction(increase_mult) * (1 << 64)), 1 << 64)
    rao = (round(burn * RAO) * mult_bits) >> 64
    return _clamp_rao(rao, min_burn, max_burn) / RAO


def interval_burn(burn: float, registrations: int, target: int, alpha: float,
                  min_burn: float, max_burn: float) -> float:
    """The legacy interval adjustment (``upgraded_burn``), burn registrations only: raised when
    registrations exceed the target (case B), lowered when there were none (case E),
    unchanged otherwise (case D adjusts only the PoW difficulty)."""
    if 0 < registrations <= target:
        return burn
    updated = burn * (registrations + target) / (2 * target)
    blended = alpha * burn + (1 - alpha) * updated
    return float(min(max(blended, min_burn), max_burn))


def neuron_to_prune(registered: np.ndarray, emission: np.ndarray,
                    block_at_registration: np.ndarray, block: int, immunity_period: int,
                    immortal: np.ndarray, min_non_immune: int) -> int | None:
    """The uid a registration replaces when the subnet is full, or None (``NoNeuronIdAvailable``).

    ``immortal`` marks the owner's hotkeys (``get_immune_owner_hotkeys``), which are skipped.
    """
    candidates = registered & ~immortal
    immune = (block - block_at_registration) < immunity_period
    free = candidates & ~immune
    if free.sum() > min_non_immune:
        return _lowest(free, emission, block_at_registration)
    return _lowest(candidates & immune, emission, block_at_registration)


def _lowest(mask: np.ndarray, emission: np.ndarray, registered_at: np.ndarray) -> int | None:
    """Lowest emission, then earliest registration, then lowest uid among ``mask``."""
    uids = np.flatnonzero(mask)
    if not len(uids):
        return None
    order = np.lexsort((uids, registered_at[uids], emission[uids]))
    return int(uids[order[0]])
