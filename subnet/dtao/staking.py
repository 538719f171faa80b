"""Stake as swaps (subtensor ``staking/add_stake.rs``, ``remove_stake.rs``, ``move_stake.rs``,
``stake_utils.rs``), spec 425.

Stake on a subnet is alpha, held per (coldkey, hotkey's uid) in that subnet's ledger; buying it
swaps TAO through the subnet's pool, selling it swaps back. Fees leave the pool for the block
author; the simulated chain has no author, so they are burned (issued, held by nobody). Root
(netuid 0) is a stable 1:1 TAO stake: no pool, no fee, no slippage.
"""

from __future__ import annotations

from typing import Any

from subnetsim.subnet.dtao import pool as pools
from subnetsim.subnet.dtao.economy import Economy, SubnetEconomy
from subnetsim.subnet.dtao.pool import swap_alpha_for_tao, swap_tao_for_alpha
from subnetsim.subnet.errors import ExtrinsicError
from subnetsim.subnet.ledger import Ledger

ROOT_NETUID = 0
U64_MAX = 2**64 - 1  # the chain's "no limit" amount (rao)

__all__ = ["ROOT_NETUID", "U64_MAX", "add_stake", "max_amount_add", "max_amount_remove",
           "move_stake", "remove_stake", "stake_root", "unstake_root"]


def _open_subnet(economy: Economy, netuid: int) -> SubnetEconomy:
    subnet = economy.subnets.get(netuid)
    if subnet is None:
        raise ExtrinsicError("SubnetNotExists", str(netuid))
    if not subnet.started:
        raise ExtrinsicError("SubtokenDisabled", str(netuid))
    return subnet


def add_stake(economy: Economy, ledger: Ledger, netuid: int, coldkey: str, hotkey: str,
              amount: float, limit_price: float | None = None, allow_partial: bool = False,
              drop_fees: bool = False) -> dict[str, Any]:
    """Buy alpha with ``amount`` TAO of ``coldkey``'s balance and stake it on ``hotkey``
    (``add_stake``, or ``add_stake_limit`` with a limit price)."""
    subnet = _open_subnet(economy, netuid)
    if ledger.is_halted("staking"):
        raise ExtrinsicError("SubnetHalted", "staking")
    uid = ledger.uid_of(hotkey)
    if economy.balances.get(coldkey, 0.0) < amount:
        raise ExtrinsicError("NotEnoughBalanceToStake", coldkey)
    if amount < economy.params.min_stake:
        raise ExtrinsicError("AmountTooLow", f"{amount} < min stake {economy.params.min_stake}")
    pool, swap = swap_tao_for_alpha(subnet.pool, amount, limit_price, allow_partial, drop_fees)
    if not swap.out > 0:
        raise ExtrinsicError("AmountTooLow", "the swap pays out nothing")
    subnet.pool = pool
    economy.balances[coldkey] -= swap.gross
    economy.burned_tao += swap.fee_tao
    subnet.alpha_out += swap.out
    subnet.tao_flow += swap.net
    ledger.credit_stake(coldkey, uid, swap.out)
    return {"netuid": netuid, "uid": uid, "tao": swap.gross, "alpha": swap.out, "fee": swap.fee,
            "price": swap.price_after}


def remove_stake(economy: Economy, ledger: Ledger, netuid: int, coldkey: str, hotkey: str,
                 alpha: float, limit_price: float | None = None, allow_partial: bool = False,
                 drop_fees: bool = False) -> dict[str, Any]:
    """Sell ``alpha`` of ``coldkey``'s stake on ``hotkey`` for TAO to its balance (open in a
    halt: holders can always exit)."""
    subnet = _open_subnet(economy, netuid)
    uid = ledger.uid_of(hotkey)
    held = ledger.stake_by_owner.get((coldkey, uid), 0.0)
    if not alpha > 0 or held < alpha:
        raise ExtrinsicError("NotEnoughStakeToWithdraw", f"{held:.9g} < {alpha:.9g}")
    pool, swap = swap_alpha_for_tao(subnet.pool, alpha, limit_price, allow_partial, drop_fees)
    if held - swap.gross > 1e-12 and swap.out < economy.params.min_stake:
        raise ExtrinsicError("AmountTooLow", f"{swap.out:.9g} TAO < min stake")
    subnet.pool = pool
    subnet.alpha_out -= swap.gross
    subnet.tao_flow -= swap.out
    economy.balances[coldkey] = economy.balances.get(coldkey, 0.0) + swap.out
    economy.burned_tao += swap.fee_tao
    ledger.credit_stake(coldkey, uid, -swap.gross)
    return {"netuid": netuid, "uid": uid, "tao": swap.out, "alpha": swap.gross, "fee": swap.fee,
            "price": swap.price_after}


def move_stake(economy: Economy, ledgers: dict[int, Ledger], coldkey: str, origin: int,
               origin_hotkey: str, destination: int, destination_hotkey: str,
               alpha: float) -> dict[str, Any]:
    """Move ``alpha`` of stake between hotkeys and subnets: on one subnet without a swap;
    across subnets an unstake then a stake, one fee (the origin leg's), and TAO under the
    minimum stake stays on the balance."""
    if origin == destination:
        ledger = ledgers[origin]
        source, target = ledger.uid_of(origin_hotkey), ledger.uid_of(destination_hotkey)
        held = ledger.stake_by_owner.get((coldkey, source), 0.0)
        if not alpha > 0 or held < alpha:
            raise ExtrinsicError("NotEnoughStakeToWithdraw", f"{held:.9g} < {alpha:.9g}")
        ledger.credit_stake(coldkey, source, -alpha)
        ledger.credit_stake(coldkey, target, alpha)
        return {"alpha": alpha}
    if destination not in ledgers:
        raise ExtrinsicError("SubnetNotExists", str(destination))
    ledgers[destination].uid_of(destination_hotkey)  # refuse before the sell
    _open_subnet(economy, destination)
    sold = remove_stake(economy, ledgers[origin], origin, coldkey, origin_hotkey, alpha)
    if sold["tao"] < economy.params.min_stake:
        return {"tao": sold["tao"], "alpha": 0.0, "restaked": False}
    bought = add_stake(economy, ledgers[destination], destination, coldkey, destination_hotkey,
                       sold["tao"], drop_fees=True)
    return {"tao": sold["tao"], "alpha": bought["alpha"], "restaked": True}


def stake_root(economy: Economy, coldkey: str, hotkey: str, amount: float) -> dict[str, Any]:
    """Stake TAO on root, 1:1."""
    if economy.balances.get(coldkey, 0.0) < amount or not amount > 0:
        raise ExtrinsicError("NotEnoughBalanceToStake", coldkey)
    economy.balances[coldkey] -= amount
    key = (coldkey, hotkey)
    economy.root_stake[key] = economy.root_stake.get(key, 0.0) + amount
    return {"netuid": 0, "tao": amount}


def unstake_root(economy: Economy, coldkey: str, hotkey: str, amount: float) -> dict[str, Any]:
    """Unstake TAO from root, 1:1."""
    key = (coldkey, hotkey)
    held = economy.root_stake.get(key, 0.0)
    if not amount > 0 or held < amount:
        raise ExtrinsicError("NotEnoughStakeToWithdraw", f"{held:.9g} < {amount:.9g}")
    economy.root_stake[key] = held - amount
    economy.balances[coldkey] = economy.balances.get(coldkey, 0.0) + amount
    return {"netuid": 0, "tao": amount}


def _unlimited(economy: Economy) -> Any:
    """u64::MAX rao in the economy's units."""
    return U64_MAX if economy.exact else U64_MAX / pools.RAO_PER_TAO


def max_amount_add(economy: Economy, netuid: int, limit_price: float) -> Any:
    """The most gross TAO ``add_stake_limit`` can spend before the price passes
    ``limit_price`` TAO per alpha (``add_stake.rs : get_max_amount_add``). Root is 1:1 and never
    moves: unlimited at a limit of at least 1 TAO per alpha, else nothing. A dynamic subnet:
    what its pool takes to reach the limit (fee included), at most the 1000 x SubnetTAO the
    chain probes with; ``PriceLimitExceeded`` if the price is already at or past the limit."""
    if netuid == ROOT_NETUID:
        return _unlimited(economy) if limit_price >= 1.0 else 0 * _unlimited(economy)
    pool = _open_subnet(economy, netuid).pool
    return min(pools.max_amount_add(pool, limit_price), pools.MAX_INPUT_MULTIPLIER * pool.tao)


def max_amount_remove(economy: Economy, netuid: int, limit_price: float) -> Any:
    """The most gross alpha ``remove_stake_limit`` can sell before the price falls to
    ``limit_price`` (``remove_stake.rs : get_max_amount_remove``), mirroring
    ``max_amount_add``: root is unlimited at a limit of at most 1, else nothing."""
    if netuid == ROOT_NETUID:
        return _unlimited(economy) if limit_price <= 1.0 else 0 * _unlimited(economy)
    pool = _open_subnet(economy, netuid).pool
    return min(pools.max_amount_remove(pool, limit_price),
               pools.MAX_INPUT_MULTIPLIER * pool.alpha)
