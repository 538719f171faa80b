"""Subnet life cycle as pure functions (spec 425): the lock cost of a registration, which subnet
is pruned at the limit, and how a dissolved subnet's TAO is paid out.

- Lock cost (``coinbase/root.rs : get_network_lock_cost``): ``mult = 1`` before the first
  registration, else 2; ``interval = NetworkLockReductionInterval x (TAO block emission / 1 TAO)``;
  ``cost = max(min_lock, last_lock x mult - last_lock / interval x (now - last_lock_block))``.
- Pruning (``get_network_to_prune``): among subnets past ``NetworkImmunityPeriod`` since their
  registration, the lowest EMA price; ties go to the earliest registered.
- Dissolution (``destroy_alpha_in_out_stakes``): the pool's TAO is split pro rata to alpha held
  by every staker, the protocol (its bought alpha and, for new subnets, the pool's alpha) counted
  as a holder whose share is recycled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

K = TypeVar("K")

__all__ = ["dissolution_payout", "lock_cost", "subnet_to_prune"]


def lock_cost(last_lock: float, last_lock_block: int, now: int, min_lock: float,
              reduction_interval: int, block_emission: float) -> float:
    """TAO a subnet registration locks at block ``now``."""
    mult = 1.0 if last_lock_block == 0 else 2.0
    interval = max(reduction_interval * block_emission, 1.0)
    decayed = last_lock * mult - last_lock / interval * (now - last_lock_block)
    return max(min_lock, decayed)


def subnet_to_prune(candidates: Mapping[int, tuple[float, int]], now: int,
                    immunity_period: int) -> int | None:
    """The netuid to prune from ``{netuid: (EMA price, registered_at)}``; None if all immune."""
    mortal = [(price, registered_at, netuid)
              for netuid, (price, registered_at) in candidates.items()
              if now >= registered_at + immunity_period]
    return min(mortal)[2] if mortal else None


def dissolution_payout(pot: float, holdings: Mapping[K, float],
                       protocol_alpha: float) -> tuple[dict[K, float], float]:
    """Each holder's TAO from a dissolved subnet's ``pot`` and the protocol's (recycled) part."""
    total = sum(holdings.values()) + protocol_alpha
    if total <= 0:
        return {}, pot
    paid = {key: pot * alpha / total for key, alpha in holdings.items() if alpha > 0}
    return paid, pot - sum(paid.values())
