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
import math
from typing import Any

import numpy as np

from subnetsim.subnet.dtao import coinbase, lifecycle, shares
from subnetsim.subnet.dtao.coinbase import AlphaSplit
from subnetsim.subnet.dtao.halving import block_emission, block_emission_rao
from subnetsim.subnet.dtao.params import NetworkParams
from subnetsim.subnet.dtao.pool import Pool, reweighted, swap_tao_for_alpha
from subnetsim.subnet.errors import ExtrinsicError

__all__ = ["BlockFlow", "Economy", "SubnetEconomy"]


@dataclasses.dataclass(kw_only=True)
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

    def _amount(self, value: float) -> Any:
        return math.floor(value) if self.exact else value

    def run_coinbase(self, block: int, emission: Any = None) -> dict[int, AlphaSplit]:
        """Mint and share one block's TAO; returns each emitting subnet's alpha_out split into
        the pending buckets (owner, server, validator; root is kept here as pending_root)."""
        self.issuance_before_emission = self.issuance
        emission = self.block_emission() if emission is None else emission
        self.issuance += emission
        self.minted_tao += emission
        self.last_emission = emission
        netuids = self.emitting()
        for subnet in self.subnets.values():  # a subnet outside S gets nothing this block
            subnet.flow = BlockFlow(share=0.0)
        weights = self.shares(netuids, block) if netuids else np.zeros(0)
        root_sell = coinbase.root_sell_flag([self.subnets[n].moving_price for n in netuids])
        tw, root_tao = self.params.tao_weight, self.root_tao
        credit = emission
        terms = {}
        for netuid, weight in zip(netuids, weights, strict=True):
            subnet = self.subnets[netuid]
            alpha_emission = self._alpha_emission(subnet)
            rp = coinbase.root_proportion(tw, root_tao, subnet.alpha_issuance)
            tao_emission = self._amount(emission * float(weight))
            terms[netuid] = coinbase.subnet_terms(tao_emission, subnet.pool.price,
                                                  alpha_emission, rp, exact=self.exact)
            subnet.flow = BlockFlow(share=float(weight), tao_emission=tao_emission,
                                    root_proportion=rp, moving_price=subnet.moving_price,
                                    miner_burned=subnet.miner_burned,
                                    emission_enabled=subnet.emission_enabled)
        for netuid in netuids:
            credit -= self._inject(self.subnets[netuid], terms[netuid])
        splits = {}
        for netuid in netuids:
            splits[netuid] = self._mint_alpha_out(self.subnets[netuid], terms[netuid].alpha_out,
                                                  root_tao, root_sell)
        if credit:  # rounding or a refused injection: recycled, so issuance goes down
            self.issuance -= credit
            self.recycled_tao += credit
        return splits

    def _alpha_emission(self, subnet: SubnetEconomy) -> Any:
        if self.exact:
            return block_emission_rao(int(subnet.alpha_issuance))
        return block_emission(subnet.alpha_issuance)

    def _inject(self, subnet: SubnetEconomy, terms: coinbase.SubnetTerms) -> Any:
        """Re-weight, chain-buy the excess (no fee), then add the injection; the TAO spent."""
        pool = subnet.pool
        tao_in, alpha_in = self._amount(terms.tao_in), self._amount(terms.alpha_in)
        new_weights = reweighted(pool, tao_in, alpha_in)
        spent = 0 if self.exact else 0.0
        if new_weights is not None:
            pool = new_weights
        excess = self._amount(terms.excess_tao)
        swap = None
        if excess > 0:
            try:
                pool, swap = swap_tao_for_alpha(pool, excess, drop_fees=True)
            except ExtrinsicError:  # an empty pool cannot sell: the excess is recycled
                swap = None
        if swap is not None:
            subnet.alpha_out += swap.out
            subnet.protocol_alpha += swap.out
            subnet.flow.excess_tao = excess
            spent += excess
        if new_weights is not None:
            pool = pool.with_reserves(pool.tao + tao_in, pool.alpha + alpha_in)
            subnet.alpha_minted += alpha_in
            spent += tao_in
            subnet.flow.tao_in, subnet.flow.alpha_in = tao_in, alpha_in
        subnet.flow.injected = new_weights is not None
        subnet.protocol_flow += spent
        subnet.pool = pool
        return spent

    def _mint_alpha_out(self, subnet: SubnetEconomy, alpha_out: Any, root_tao: Any,
                        root_sell: bool) -> AlphaSplit:
        subnet.alpha_out += alpha_out
        subnet.alpha_minted += alpha_out
        subnet.flow.alpha_out = alpha_out
        rp = coinbase.root_proportion(self.params.tao_weight, root_tao, subnet.alpha_issuance)
        cut = self.params.subnet_owner_cut if subnet.owner_cut_enabled else 0.0
        split = coinbase.split_alpha_out(alpha_out, cut, rp, root_sell, exact=self.exact)
        if self.exact:
            split = dataclasses.replace(split, owner=int(split.owner), server=int(split.server),
                                        validator=int(split.validator), root=int(split.root),
                                        recycled=int(split.recycled))
        subnet.flow.split = split
        subnet.pending_root += split.root
        if split.recycled:
            subnet.alpha_out -= split.recycled
            subnet.alpha_recycled += split.recycled
        return split

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
        for netuid in self.emitting():
            subnet = self.subnets[netuid]
            assert subnet.first_emission_block is not None  # emitting subnets have started
            since_start = block - (subnet.first_emission_block - 1)
            subnet.moving_price = coinbase.moving_price(
                subnet.moving_price, subnet.pool.price, params.subnet_moving_alpha, since_start,
                params.ema_price_halving_blocks)
        for subnet in self.subnets.values():
            subnet.ema_flow = shares.update_flow_ema(subnet.ema_flow, subnet.tao_flow,
                                                     params.flow_ema_factor)
            subnet.protocol_ema_flow = shares.update_flow_ema(
                subnet.protocol_ema_flow, subnet.protocol_flow, params.flow_ema_factor)
            subnet.tao_flow = subnet.protocol_flow = 0.0
