"""The network's economic state and one block of its coinbase (spec 425, appendix A of
``docs/dtao.md``).

``Economy`` holds the pools, outstanding alpha, protocol alpha, EMA prices, root stake, free TAO
balances and the issuance counters; ``run_coinbase`` mints a block's TAO and shares it across the
emitting subnets (``shares``), injects it into the pools or spends the excess on protocol buys
(``coinbase.subnet_terms``, ``pool.reweighted``), mints each subnet's alpha_out and splits it into
pending buckets (``coinbase.split_alpha_out``), and recycles any unspent credit.
``update_moving_prices`` runs after the block's epochs, as the chain does. In ``exact`` worlds
every amount is integer rao and every conversion floors, as the chain's ``u64`` storage does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from subnetsim.subnet.dtao import coinbase, lifecycle, shares
from subnetsim.subnet.dtao.coinbase import AlphaSplit
from subnetsim.subnet.dtao.halving import block_emission, block_emission_rao, block_emissions
from subnetsim.subnet.dtao.params import NetworkParams
from subnetsim.subnet.dtao.pool import (
    Pool,
    PoolArrays,
    injection_weights,
    protocol_buys,
    spot_prices,
)
from subnetsim.subnet.errors import ExtrinsicError

__all__ = ["BlockFlow", "Economy", "SubnetEconomy"]


@dataclasses.dataclass(slots=True, kw_only=True)
class BlockFlow:
    """Where one subnet's share of a block went (``DynamicInfo``'s per-block counters)."""

    share: float = 0.0
    moving_price: float = 0.0  # the EMA price the share was computed from
    miner_burned: float = 0.0
    emission_enabled: bool = True
    tao_emission: float = 0.0
    tao_in: float = 0.0
    alpha_in: float = 0.0
    excess_tao: float = 0.0
    alpha_out: float = 0.0
    root_proportion: float = 0.0
    injected: bool = True
    split: AlphaSplit = dataclasses.field(default_factory=AlphaSplit)  # alpha_out's buckets


@dataclasses.dataclass(kw_only=True)
class SubnetEconomy:
    """One subnet's economic state (subtensor storage names in the comments)."""

    netuid: int
    name: str
    pool: Pool  # SubnetTAO, SubnetAlphaIn, SwapBalancer, FeeRate
    owner_coldkey: str
    tempo: int = 360
    alpha_out: Any = 0  # SubnetAlphaOut: staked + pending + claimable + protocol + burned
    protocol_alpha: Any = 0  # SubnetProtocolAlpha
    moving_price: float = 0.0  # SubnetMovingPrice
    miner_burned: float = 0.0  # MinerBurned
    first_emission_block: int | None = None  # FirstEmissionBlockNumber (set by start_call)
    start_call_block: int = 0  # when the owner calls start_call (0: started at genesis)
    registration_allowed: bool = True  # NetworkRegistrationAllowed
    emission_enabled: bool = True  # SubnetEmissionEnabled
    emission_halted: bool = False  # the kill switch halted this netuid's emissions
    owner_cut_enabled: bool = True  # OwnerCutEnabled
    registered_at: int = 0
    locked: float = 0.0  # the registration lock (kept in the pool since 2026-04-22)
    pending_root: Any = 0  # PendingRootAlphaDivs
    alpha_recycled: Any = 0  # left alpha issuance (recycled root alpha, recycled payouts)
    alpha_burned: Any = 0  # destroyed but still issued (owner-withheld incentive)
    alpha_minted: Any = 0  # every alpha ever minted (alpha_in + alpha_out)
    tao_flow: float = 0.0  # SubnetTaoFlow this block (user stake in minus out)
    ema_flow: float = 0.0  # SubnetEmaTaoFlow
    protocol_flow: float = 0.0  # this block's protocol flow (net_flow rule)
    protocol_ema_flow: float = 0.0
    flow: BlockFlow = dataclasses.field(default_factory=BlockFlow)

    @property
    def started(self) -> bool:
        """start_call was made: staking is open and the subnet can emit."""
        return self.first_emission_block is not None

    @property
    def emits(self) -> bool:
        """In the emitting set S: started, registration allowed, and not halted by the kill
        switch (a halt scoped to this netuid takes it out of the coinbase altogether)."""
        return self.started and self.registration_allowed and not self.emission_halted

    @property
    def alpha_issuance(self) -> Any:
        """SubnetAlphaIn + SubnetAlphaOut (``get_alpha_issuance``)."""
        return self.pool.alpha + self.alpha_out


@dataclasses.dataclass(kw_only=True)
class Economy:
    """The whole network's pools and TAO accounts.

    TAO conservation: ``issuance`` = sum of pool TAO + root stake + free balances + burned TAO
    (fees nobody authored); ``recycled_tao`` left issuance (``recycle_tao``)."""

    params: NetworkParams
    subnets: dict[int, SubnetEconomy] = dataclasses.field(default_factory=dict)
    root_stake: dict[tuple[str, str], Any] = dataclasses.field(default_factory=dict)
    balances: dict[str, Any] = dataclasses.field(default_factory=dict)
    issuance: Any = 0  # TotalIssuance
    genesis_issuance: Any = 0  # TotalIssuance before the first block
    issuance_before_emission: Any = 0  # what the last block's emission was computed from
    minted_tao: Any = 0
    recycled_tao: Any = 0
    burned_tao: Any = 0
    exact: bool = False
    last_emission: Any = 0
    last_lock: float = 0.0  # NetworkLastLockCost
    last_lock_block: int = 0  # NetworkLastRegistered (0: never)
    emission_gate_bar: float = 0.0  # EmissionGateBar ([POST] share rule price_gate only)

    @property
    def root_tao(self) -> Any:
        """SubnetTAO[0]: every root stake."""
        return sum(self.root_stake.values(), 0 if self.exact else 0.0)

    def emitting(self) -> list[int]:
        """The subnets in S: started, subtoken enabled, registration allowed, ascending."""
        return sorted(n for n, s in self.subnets.items() if s.emits)

    def block_emission(self) -> Any:
        """TAO (rao when exact) this block mints, from TotalIssuance."""
        if self.exact:
            return block_emission_rao(int(self.issuance))
        return block_emission(self.issuance)

    def shares(self, netuids: list[int], block: int = 0) -> np.ndarray:
        """Each emitting subnet's share of the block's TAO under ``params.share_rule``."""
        subnets = [self.subnets[n] for n in netuids]
        enabled = np.array([s.emission_enabled for s in subnets], dtype=bool)
        rule = self.params.share_rule
        if rule == "price_gate":  # [POST] spec 440, opt-in; the bar is state (EmissionGateBar)
            weights, self.emission_gate_bar = shares.gated_price_shares(
                np.array([s.moving_price for s in subnets]),
                np.array([s.miner_burned for s in subnets]), enabled, self.emission_gate_bar,
                block, self.params.emission_bar_quantile, self.params.emission_gate_exponent)
            return weights
        if rule == "price":
            return shares.price_shares(np.array([s.moving_price for s in subnets]),
                                       np.array([s.miner_burned for s in subnets]), enabled)
        user = np.array([s.ema_flow for s in subnets])
        if rule == "net_flow":
            user = shares.net_flow_scores(user, np.array([s.protocol_ema_flow for s in subnets]))
        return shares.flow_shares(user, enabled)

    def run_coinbase(self, block: int, emission: Any = None) -> dict[int, AlphaSplit]:
        """Mint and share one block's TAO; returns each emitting subnet's alpha_out split into
        the pending buckets (owner, server, validator; root is kept here as pending_root).

        Every emitting subnet at once: the terms, the injections, the chain buys and the
        splits are array operations over the subnets (``coinbase``, ``pool.PoolArrays``);
        only the write-back to each subnet's state is a loop."""
        self.issuance_before_emission = self.issuance
        emission = self.block_emission() if emission is None else emission
        self.issuance += emission
        self.minted_tao += emission
        self.last_emission = emission
        netuids = self.emitting()
        emitting = set(netuids)
        for netuid, subnet in self.subnets.items():  # a subnet outside S gets nothing
            if netuid not in emitting:
                subnet.flow = BlockFlow(share=0.0)
        if not netuids:
            self._recycle(emission)
            return {}
        subnets = [self.subnets[n] for n in netuids]
        exact, params = self.exact, self.params
        weights = self.shares(netuids, block)
        moving = [s.moving_price for s in subnets]
        root_sell = coinbase.root_sell_flag(moving)
        tw, root_tao = params.tao_weight, self.root_tao
        pools = PoolArrays.of([s.pool for s in subnets])
        alpha_out = _column([s.alpha_out for s in subnets], exact)
        issuance = pools.alpha + alpha_out
        alpha_emission = _column(block_emissions(issuance.tolist(), exact), exact)
        rp = coinbase.root_proportion(tw, root_tao, issuance)
        tao_emission = emission * weights
        if exact:
            tao_emission = np.floor(tao_emission)
        terms = coinbase.subnet_terms(tao_emission, spot_prices(pools), alpha_emission, rp,
                                      exact=exact)
        tao_in, alpha_in = _column(terms.tao_in, exact), _column(terms.alpha_in, exact)
        excess = _column(terms.excess_tao, exact)
        pools.weight_quote, injected = injection_weights(pools, tao_in, alpha_in)
        bought_alpha, bought = protocol_buys(pools, excess)
        pools.tao = np.where(injected, pools.tao + tao_in, pools.tao)
        pools.alpha = np.where(injected, pools.alpha + alpha_in, pools.alpha)
        zero = 0 if exact else 0.0
        bought_alpha = _column(np.where(bought, bought_alpha, zero), exact)
        spent = np.where(bought, excess, zero) + np.where(injected, tao_in, zero)
        # rp again after this block's injection and mint, for the split
        minted_out = alpha_out + bought_alpha + alpha_emission
        rp_after = coinbase.root_proportion(tw, root_tao, pools.alpha + minted_out)
        cuts = np.array([params.subnet_owner_cut if s.owner_cut_enabled else 0.0
                         for s in subnets])
        split = coinbase.split_alpha_out(alpha_emission, cuts, rp_after, root_sell, exact=exact)
        split = coinbase.AlphaSplit(**{name: _column(getattr(split, name), exact)
                                       for name in _SPLIT_PARTS})
        # The subnets' new state, column by column, in the order the chain adds it up.
        new_out = minted_out - split.recycled
        protocol_alpha = _column([s.protocol_alpha for s in subnets], exact) + bought_alpha
        minted = (_column([s.alpha_minted for s in subnets], exact)
                  + np.where(injected, alpha_in, zero) + alpha_emission)
        pending_root = _column([s.pending_root for s in subnets], exact) + split.root
        recycled = _column([s.alpha_recycled for s in subnets], exact) + split.recycled
        protocol_flow = np.array([s.protocol_flow for s in subnets]) + spent
        parts = [getattr(split, name).tolist() for name in _SPLIT_PARTS]
        columns = zip(
            subnets, pools.pools(), weights.tolist(), rp.tolist(),
            _column(tao_emission, exact).tolist(), np.where(injected, tao_in, 0.0).tolist(),
            np.where(injected, alpha_in, 0.0).tolist(), np.where(bought, excess, 0.0).tolist(),
            injected.tolist(), alpha_emission.tolist(), new_out.tolist(),
            protocol_alpha.tolist(), minted.tolist(), pending_root.tolist(), recycled.tolist(),
            protocol_flow.tolist(), zip(*parts, strict=True), strict=True)
        splits = {}
        for (subnet, pool, weight, root_prop, tao_emitted, tao_added, alpha_added, chain_buy,
             took_injection, alpha_out_minted, subnet.alpha_out, subnet.protocol_alpha,
             subnet.alpha_minted, subnet.pending_root, subnet.alpha_recycled,
             subnet.protocol_flow, (owner, server, validator, root, root_recycled)) in columns:
            subnet.pool = pool
            subnet.flow = BlockFlow(
                share=weight, tao_emission=tao_emitted, root_proportion=root_prop,
                moving_price=subnet.moving_price, miner_burned=subnet.miner_burned,
                emission_enabled=subnet.emission_enabled, injected=took_injection,
                alpha_out=alpha_out_minted, tao_in=tao_added, alpha_in=alpha_added,
                excess_tao=chain_buy, split=AlphaSplit(
                    owner=owner, server=server, validator=validator, root=root,
                    recycled=root_recycled))
            splits[subnet.netuid] = subnet.flow.split
        credit = emission
        for tao_spent in spent.tolist():  # one by one, in netuid order, as the chain does
            credit -= tao_spent
        self._recycle(credit)
        return splits

    def _recycle(self, credit: Any) -> None:
        """Unspent credit (rounding, refused injections) is recycled: issuance goes down."""
        if credit:
            self.issuance -= credit
            self.recycled_tao += credit

    def registration_cost(self, now: int) -> float:
        """TAO a subnet registration locks now (``get_network_lock_cost``)."""
        params = self.params
        return lifecycle.lock_cost(max(self.last_lock, params.network_min_lock_cost),
                                   self.last_lock_block, now, params.network_min_lock_cost,
                                   params.network_lock_reduction_interval, self.block_emission())

    def open_subnet(self, netuid: int, name: str, coldkey: str, now: int, tempo: int,
                    start_call_block: int, emission_enabled: bool) -> SubnetEconomy:
        """Register subnet ``netuid`` for ``coldkey`` (``do_register_network``): the lock is
        paid and stays in the pool, which opens at the median subnet price (w2 = 0.5)."""
        params = self.params
        if self.last_lock_block and now - self.last_lock_block < params.network_rate_limit:
            raise ExtrinsicError("NetworkTxRateLimitExceeded",
                                 f"{now - self.last_lock_block} < {params.network_rate_limit}")
        cost = self.registration_cost(now)
        if self.balances.get(coldkey, 0.0) < cost:
            raise ExtrinsicError("NotEnoughBalanceToStake", f"lock cost {cost:.4f} TAO")
        self.balances[coldkey] -= cost
        prices = sorted(s.pool.price for s in self.subnets.values() if s.pool.price > 0)
        median = float(np.median(prices)) if prices else 1.0
        pool = Pool(tao=cost, alpha=cost / median, fee_rate=params.fee_rate,
                    kind=params.pool_kind)
        subnet = SubnetEconomy(netuid=netuid, name=name, pool=pool, owner_coldkey=coldkey,
                               tempo=tempo, alpha_minted=pool.alpha, registered_at=now,
                               locked=cost, start_call_block=start_call_block,
                               emission_enabled=emission_enabled)
        self.subnets[netuid] = subnet
        self.last_lock, self.last_lock_block = cost, now
        return subnet

    def dissolve_subnet(self, netuid: int, holdings: dict[str, float]) -> dict[str, float]:
        """Remove subnet ``netuid``: its pool's TAO paid pro rata to the alpha each coldkey
        holds (``holdings``), the protocol's part (its alpha and the pool's) recycled; pending
        emission and unclaimed root dividends are dropped. Returns the TAO paid per coldkey."""
        subnet = self.subnets.pop(netuid)
        paid, recycled = lifecycle.dissolution_payout(
            subnet.pool.tao, holdings, subnet.protocol_alpha + subnet.pool.alpha)
        for coldkey in sorted(paid):
            self.balances[coldkey] = self.balances.get(coldkey, 0.0) + paid[coldkey]
        self.issuance -= recycled
        self.recycled_tao += recycled
        return paid

    def update_moving_prices(self, block: int) -> None:
        """The EMA price of every emitting subnet, after the block used it; the flow EMAs."""
        params = self.params
        emitting = [self.subnets[n] for n in self.emitting()]
        if emitting:
            since_start = [block - (s.first_emission_block or 0) + 1 for s in emitting]
            prices = coinbase.moving_price(
                [s.moving_price for s in emitting], [s.pool.price for s in emitting],
                params.subnet_moving_alpha, since_start, params.ema_price_halving_blocks)
            for subnet, price in zip(emitting, prices.tolist(), strict=True):
                subnet.moving_price = price
        subnets = list(self.subnets.values())
        if not subnets:
            return
        user = shares.update_flow_ema(np.array([s.ema_flow for s in subnets]),
                                      np.array([s.tao_flow for s in subnets]),
                                      params.flow_ema_factor)
        protocol = shares.update_flow_ema(np.array([s.protocol_ema_flow for s in subnets]),
                                          np.array([s.protocol_flow for s in subnets]),
                                          params.flow_ema_factor)
        for subnet, ema, protocol_ema in zip(subnets, user.tolist(), protocol.tolist(),
                                             strict=True):
            subnet.ema_flow, subnet.protocol_ema_flow = ema, protocol_ema
            subnet.tao_flow = subnet.protocol_flow = 0.0


_SPLIT_PARTS = ("owner", "server", "validator", "root", "recycled")


def _column(values: Any, exact: bool) -> np.ndarray:
    """Amounts as an array: float64, or Python ints (rao, floored) in an object array."""
    if exact:
        return np.array([int(v) for v in np.asarray(values).ravel().tolist()], dtype=object)
    return np.asarray(values, dtype=float)
