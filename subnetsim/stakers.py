"""Stakers on a dTAO network: SimPy processes that move TAO between subnets through the pools.

Each staker has its own keyed random stream (``numpy_stream(seed, "staker.<kind>", index)``),
a TAO balance on the network and a decision interval (jittered per decision). Kinds:

- ``yield_chaser``: holds stake on the subnet whose alpha dividends per staked alpha are
  highest (alpha_out x (1 - owner cut) / 2 x (1 - root proportion) / staked alpha), and moves
  there when another subnet pays ``threshold`` more (relative);
- ``momentum``: buys a subnet whose spot price runs ``threshold`` above its EMA price and sells
  everything when the spot falls ``threshold`` below it;
- ``holder``: buys once, its group's ``netuid`` or a subnet drawn in proportion to market cap,
  adds now and then, never sells.

Stake is delegated to the subnet's validator with the most stake (as nominators do).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from subnetsim.subnet.chain import BLOCK_SECONDS
from subnetsim.subnet.dtao.economy import Economy
from subnetsim.subnet.dtao.network import Network, NetworkCall
from subnetsim.subnet.dtao.scenario import StakerGroup
from subnetsim.subnet.rng import numpy_stream

__all__ = ["Staker", "build_stakers"]


@dataclasses.dataclass(slots=True)
class Staker:
    """One staker: its coldkey, kind, stream and where it holds stake."""

    coldkey: str
    group: StakerGroup
    rng: np.random.Generator
    next_block: int
    netuid: int = 0  # where its stake is (0: none)
    hotkey: str = ""

    def run(self, env: simpy.Environment, network: Network) -> Generator[simpy.Event, Any, None]:
        """SimPy process: wake mid-block, decide, submit; the calls land in the next block."""
        while True:
            yield env.timeout(max(BLOCK_SECONDS * (self.next_block + 0.5) - env.now, 0.0))
            self.decide(network)
            gap = self.rng.integers(1, 2 * self.group.interval + 1)
            self.next_block += int(gap)

    def decide(self, network: Network) -> None:
        """One decision of this staker's kind."""
        economy = network.economy
        open_subnets = [n for n, s in economy.subnets.items() if s.started and s.pool.alpha > 0]
        if not open_subnets:
            return
        kind = self.group.kind
        if kind == "yield_chaser":
            self._chase_yield(network, open_subnets)
        elif kind == "momentum":
            self._trade_momentum(network, open_subnets)
        else:
            self._hold(network, open_subnets)

    def _buy(self, network: Network, netuid: int, amount: float) -> None:
        if amount < network.economy.params.min_stake:
            return
        hotkey = _top_validator(network, netuid)
        if hotkey is None:
            return
        network.submit(NetworkCall(kind="add_stake", coldkey=self.coldkey, hotkey=hotkey,
                                   netuid=netuid, amount=amount))
        self.netuid, self.hotkey = netuid, hotkey

    def _held(self, network: Network) -> float:
        if not self.netuid:
            return 0.0
        ledger = network.chains[self.netuid].ledger
        if self.hotkey not in ledger.hotkeys:
            return 0.0
        return ledger.stake_by_owner.get((self.coldkey, ledger.hotkeys.index(self.hotkey)), 0.0)

    def _chase_yield(self, network: Network, open_subnets: list[int]) -> None:
        yields = {n: _alpha_yield(network, n) for n in open_subnets}
        best = max(open_subnets, key=lambda n: (yields[n], -n))
        held = self._held(network)
        balance = network.economy.balances.get(self.coldkey, 0.0)
        if held > 0 and best != self.netuid and yields[best] > yields[self.netuid] * (
                1 + self.group.threshold):
            target = _top_validator(network, best)
            if target is not None:
                network.submit(NetworkCall(kind="move_stake", coldkey=self.coldkey,
                                           hotkey=self.hotkey, netuid=self.netuid, amount=held,
                                           destination=best, destination_hotkey=target))
                self.netuid, self.hotkey = best, target
        elif held == 0:
            self._buy(network, best, balance * self.group.trade_fraction)

    def _trade_momentum(self, network: Network, open_subnets: list[int]) -> None:
        economy = network.economy
        edge = self.group.threshold
        held = self._held(network)
        if held > 0:
            subnet = economy.subnets[self.netuid]
            if subnet.pool.price < subnet.moving_price * (1 - edge):
                network.submit(NetworkCall(kind="remove_stake", coldkey=self.coldkey,
                                           hotkey=self.hotkey, netuid=self.netuid, amount=held))
                self.netuid = 0
            return
        running = [n for n in open_subnets
                   if economy.subnets[n].pool.price > economy.subnets[n].moving_price * (1 + edge)]
        if running:
            pick = running[int(self.rng.integers(len(running)))]
            balance = economy.balances.get(self.coldkey, 0.0)
            self._buy(network, pick, balance * self.group.trade_fraction)

    def _hold(self, network: Network, open_subnets: list[int]) -> None:
        economy = network.economy
        balance = economy.balances.get(self.coldkey, 0.0)
        if not self.netuid:
            pick = self.group.netuid
            if pick not in open_subnets:
                caps = np.array([_market_cap(economy, n) for n in open_subnets])
                weights = caps / caps.sum() if caps.sum() > 0 else None
                pick = open_subnets[int(self.rng.choice(len(open_subnets), p=weights))]
            self._buy(network, pick, balance * self.group.trade_fraction)
        elif self.rng.random() < 0.2:  # now and then, add a little more
            self._buy(network, self.netuid, balance * self.group.trade_fraction * 0.2)

    def state(self) -> dict[str, Any]:
        """What changes during a run (for checkpoints)."""
        return {"rng": self.rng.bit_generator.state, "next_block": self.next_block,
                "netuid": self.netuid, "hotkey": self.hotkey}

    def restore(self, state: dict[str, Any]) -> None:
        """Inverse of ``state``."""
        self.rng.bit_generator.state = state["rng"]
        self.next_block = state["next_block"]
        self.netuid, self.hotkey = state["netuid"], state["hotkey"]


def _market_cap(economy: Economy, netuid: int) -> float:
    subnet = economy.subnets[netuid]
    return float((subnet.pool.alpha + subnet.alpha_out) * subnet.pool.price)


def _alpha_yield(network: Network, netuid: int) -> float:
    """Alpha dividends per block per staked alpha (the validators' alpha part of alpha_out)."""
    economy = network.economy
    subnet = economy.subnets[netuid]
    staked = float(network.chains[netuid].ledger.stake.sum())
    if staked <= 0:
        return 0.0
    to_validators = subnet.flow.alpha_out * (1 - economy.params.subnet_owner_cut) / 2
    return to_validators * (1 - subnet.flow.root_proportion) / staked


def _top_validator(network: Network, netuid: int) -> str | None:
    """The hotkey with the most stake among the subnet's permitted validators."""
    ledger = network.chains[netuid].ledger
    permitted = np.flatnonzero(ledger.validator_permit & ledger.registered)
    if permitted.size == 0:
        return None
    uid = int(permitted[np.argmax(ledger.stake[permitted])])
    return ledger.hotkeys[uid]


def build_stakers(groups: tuple[StakerGroup, ...], seed: int) -> list[Staker]:
    """The scenario's stakers in listed order, each on its own keyed stream."""
    stakers: list[Staker] = []
    for group_index, group in enumerate(groups):
        for member in range(group.count):
            index = len(stakers)
            stakers.append(Staker(
                coldkey=f"staker-{group.kind}-{group_index}-{member}", group=group,
                rng=numpy_stream(seed, f"staker.{group.kind}", index),
                next_block=group.start_block + index % max(group.interval, 1)))
    return stakers
