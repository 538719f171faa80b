"""What must hold after every block of a network (and in every checkpoint ``verify`` reads).

- TAO: TotalIssuance = pools' TAO + root stake + free balances + burned TAO, and
  genesis issuance + minted = TotalIssuance + recycled.
- Alpha, per subnet: minted = AlphaIn + AlphaOut + recycled, and AlphaOut = staked alpha + pending
  emission + burned payouts (``held``) + pending root dividends + protocol alpha.
- Shares (price rule): the last block's shares sum to 1 over the emitting subnets and are
  proportional to EMA price x (1 - MinerBurned) over the enabled ones.
- Halvings: the last block's emission is 1 TAO halved once per documented halving issuance
  (10.5 M, 15.75 M, ...) the issuance had passed.

Float worlds compare to 1e-9 relative; exact (rao) worlds compare exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from subnetsim.subnet.dtao.economy import Economy
from subnetsim.subnet.dtao.halving import halving_issuance

RELATIVE = 1e-9

__all__ = ["RELATIVE", "check_invariants"]


def _differs(a: Any, b: Any, scale: Any, exact: bool) -> bool:
    if exact:
        return a != b
    return abs(a - b) > RELATIVE * max(abs(scale), 1.0)


def check_invariants(economy: Economy, held: dict[int, Any]) -> list[str]:
    """Every violated invariant, as one line each (empty: all hold). ``held[netuid]``: the
    subnet's alpha in stakes, pending epoch emission and burned payouts (its chain's books)."""
    exact = economy.exact
    problems: list[str] = []
    pools = sum((s.pool.tao for s in economy.subnets.values()), 0 if exact else 0.0)
    balances = sum(economy.balances.values(), 0 if exact else 0.0)
    holdings = pools + economy.root_tao + balances + economy.burned_tao
    if _differs(economy.issuance, holdings, economy.issuance, exact):
        problems.append(f"TAO: issuance {economy.issuance!r} != pools {pools!r} + root "
                        f"{economy.root_tao!r} + balances {balances!r} + burned "
                        f"{economy.burned_tao!r}")
    issued = economy.genesis_issuance + economy.minted_tao
    if _differs(issued, economy.issuance + economy.recycled_tao, issued, exact):
        problems.append(f"TAO: genesis + minted {issued!r} != issuance + recycled "
                        f"{economy.issuance + economy.recycled_tao!r}")
    problems += _alpha_problems(economy, held)
    problems += _share_problems(economy)
    problems += _halving_problems(economy)
    return problems


def _alpha_problems(economy: Economy, held: dict[int, Any]) -> list[str]:
    """Alpha conservation of every subnet at once (columns over the subnets in netuid order;
    object columns of integer rao in exact worlds, compared exactly)."""
    exact = economy.exact
    subnets = sorted(economy.subnets.items())
    if not subnets:
        return []

    def column(values: list[Any]) -> np.ndarray:
        return np.array(values, dtype=object if exact else float)

    alpha_in = column([s.pool.alpha for _, s in subnets])
    alpha_out = column([s.alpha_out for _, s in subnets])
    minted = column([s.alpha_minted for _, s in subnets])
    accounted = alpha_in + alpha_out + column([s.alpha_recycled for _, s in subnets])
    outstanding = (column([held.get(n, 0) for n, _ in subnets])
                   + column([s.pending_root for _, s in subnets])
                   + column([s.protocol_alpha for _, s in subnets]))
    if exact:
        minted_off, out_off = minted != accounted, alpha_out != outstanding
    else:
        scale = RELATIVE * np.maximum(np.abs(minted), 1.0)
        minted_off = np.abs(minted - accounted) > scale
        out_off = np.abs(alpha_out - outstanding) > scale
    problems = []
    for index in np.flatnonzero(np.asarray(minted_off, dtype=bool)
                                | np.asarray(out_off, dtype=bool)):
        netuid = subnets[index][0]
        if minted_off[index]:
            problems.append(f"alpha sn{netuid}: minted {minted[index]!r} != in + out + "
                            f"recycled {accounted[index]!r}")
        if out_off[index]:
            problems.append(f"alpha sn{netuid}: AlphaOut {alpha_out[index]!r} != held + pending "
                            f"root + protocol {outstanding[index]!r}")
    return problems


def _share_problems(economy: Economy) -> list[str]:
    flows = [s.flow for s in economy.subnets.values() if s.emits]
    total = sum(f.share for f in flows)
    if not flows or total == 0:
        return []
    problems = []
    if abs(total - 1.0) > RELATIVE:
        problems.append(f"shares sum to {total!r}, not 1")
    if economy.params.share_rule != "price":
        return problems
    enabled = [f for f in flows if f.emission_enabled]
    basis = [f.moving_price * (1 - min(1.0, f.miner_burned)) for f in enabled]
    if sum(basis) <= 0:
        basis = [f.moving_price for f in enabled]
    scale = sum(basis)
    for flow, weight in zip(enabled, basis, strict=True):
        if scale > 0 and abs(flow.share - weight / scale) > RELATIVE:
            problems.append(f"share {flow.share!r} is not EMA price x (1 - burned) "
                            f"{weight / scale!r} of the total")
    return problems


def _halving_problems(economy: Economy) -> list[str]:
    if economy.minted_tao == 0:
        return []
    unit = 10**9 if economy.exact else 1.0
    before = economy.issuance_before_emission / unit
    passed = 0
    while passed < 64 and halving_issuance(passed + 1) <= before:
        passed += 1
    expected = unit / 2**passed if economy.exact else 0.5**passed
    if economy.exact:
        expected = int(expected)
    if economy.last_emission != expected:
        return [f"emission {economy.last_emission!r} at issuance {before!r}: expected "
                f"{expected!r} after {passed} halvings"]
    return []
