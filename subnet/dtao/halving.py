"""Block emission with halvings by issuance (subtensor ``coinbase/block_emission.rs``).

``r = log2(1 / (1 - I / 21e15))``, ``emission = 1e9 / 2^floor(r)`` rao, 0 at or past the cap.
The same function gives a subnet's alpha per block from its alpha issuance (``AlphaIn +
AlphaOut``): alpha has the same 21 M cap and its own halvings.
"""

from __future__ import annotations

import math
from typing import Any

RAO_PER_TAO = 1_000_000_000
TOTAL_SUPPLY_RAO = 21_000_000 * RAO_PER_TAO
DEFAULT_BLOCK_EMISSION_RAO = RAO_PER_TAO

__all__ = ["DEFAULT_BLOCK_EMISSION_RAO", "RAO_PER_TAO", "TOTAL_SUPPLY_RAO", "block_emission",
           "block_emission_rao", "block_emissions", "halving_issuance"]


def _halvings(issued: float, supply: float) -> int:
    """floor(log2(supply / (supply - issued))), the halvings an issuance has passed, as the
    largest n with 2^n (supply - issued) <= supply: exact in integers, so the emission halves
    exactly at the documented issuance (10.5 M, 15.75 M, ...)."""
    remaining = supply - issued
    n = max(math.floor(math.log2(supply / remaining)) - 1, 0)
    while (remaining * 2 ** (n + 1)) <= supply:
        n += 1
    return n


def block_emission_rao(issuance_rao: int) -> int:
    """Rao minted per block at ``issuance_rao`` (TAO) or per subnet block (alpha)."""
    if issuance_rao >= TOTAL_SUPPLY_RAO:
        return 0
    return DEFAULT_BLOCK_EMISSION_RAO >> _halvings(issuance_rao, TOTAL_SUPPLY_RAO)


def block_emission(issuance: float) -> float:
    """``block_emission_rao`` in token units (TAO or alpha) for float-mode worlds."""
    total = TOTAL_SUPPLY_RAO / RAO_PER_TAO
    if issuance >= total:
        return 0.0
    return 1.0 / (1 << _halvings(issuance, total))


def block_emissions(issuances: list[Any], exact: bool) -> list[Any]:
    """``block_emission`` (``block_emission_rao`` when ``exact``) of many issuances, e.g. every
    subnet's alpha. Below half the supply no halving has passed (2 (S - I) > S), so only the
    issuances at or past it are worked out one by one."""
    if exact:
        return [DEFAULT_BLOCK_EMISSION_RAO if 2 * (TOTAL_SUPPLY_RAO - issued) > TOTAL_SUPPLY_RAO
                else block_emission_rao(int(issued)) for issued in issuances]
    total = TOTAL_SUPPLY_RAO / RAO_PER_TAO
    return [1.0 if 2 * (total - issued) > total else block_emission(issued)
            for issued in issuances]


def halving_issuance(halvings: int) -> float:
    """The issuance (token units) of the ``halvings``-th halving: 10.5 M, 15.75 M, ..."""
    total = TOTAL_SUPPLY_RAO / RAO_PER_TAO
    return total * (1.0 - 0.5 ** halvings)
