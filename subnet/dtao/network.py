"""A network of subnets on one block clock: the coinbase couples every subnet's chain.

``Network.produce_block`` does, per block, what subtensor's ``block_step`` does across
subnets (appendix A of ``docs/dtao.md``): the economy's coinbase (TAO minted by issuance,
shared by EMA price x (1 - MinerBurned), injected or spent on protocol buys; each subnet's
alpha_out split into pending buckets), then every subnet's own block in ascending netuid (its
chain takes the pending alpha through ``Chain.emission_source`` and runs Yuma when its epoch
is due, with root stake x tao_weight in the stake weights through ``Chain.extra_stake``); at a
subnet's epoch the pending root dividends are paid to root stakers and MinerBurned is updated;
then the EMA prices move, then the block's network extrinsics (stake, unstake, move) run, the
invariants are checked and the network block is sealed into its own hash chain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

from subnetsim.subnet.chain import Chain
from subnetsim.subnet.dtao import staking
from subnetsim.subnet.dtao.coinbase import AlphaSplit
from subnetsim.subnet.dtao.economy import Economy, SubnetEconomy
from subnetsim.subnet.dtao.invariants import check_invariants
from subnetsim.subnet.dtao.payout import dividend_parts
from subnetsim.subnet.dtao.pool import swap_alpha_for_tao
from subnetsim.subnet.dtao.state_root import StakeDigests, network_state_root
from subnetsim.subnet.emission import PendingEmission
from subnetsim.subnet.errors import ExtrinsicError
from subnetsim.subnet.ledger import Ledger
from subnetsim.subnet.producer import BlockProducer, Recorder
from subnetsim.subnet.records import (
    GENESIS_PARENT,
    BlockRecord,
    EpochRecord,
    ExtrinsicRecord,
    digest,
)

__all__ = ["InvariantError", "Network", "NetworkCall", "held_alpha"]


class InvariantError(AssertionError):
    """A conservation law broke: a bug in the simulator, never a user error."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NetworkCall:
    """A staking extrinsic on the network: ``add_stake``, ``remove_stake``, ``move_stake``,
    ``stake_root``, ``unstake_root`` (amount in TAO for buys, alpha for sells and moves)."""

    kind: str
    coldkey: str
    hotkey: str
    netuid: int
    amount: float
    limit_price: float | None = None
    allow_partial: bool = False
    destination: int | None = None  # move_stake: the destination subnet
    destination_hotkey: str | None = None

    def payload(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data.pop("kind")
        data.pop("hotkey")
        return data


def held_alpha(ledger: Ledger, pending: PendingEmission) -> float:
    """A subnet's alpha on its chain's books: stakes, pending epoch emission, burned payouts."""
    return float(ledger.stake.sum()) + pending.total + ledger.burned


class Network(BlockProducer):
    """The root network plus subnets; only its process writes the economy and the chains."""

    def __init__(self, env: simpy.Environment, economy: Economy, chains: dict[int, Chain],
                 recorder: Recorder | None = None, head_hash: str = GENESIS_PARENT) -> None:
        super().__init__(env, recorder)
        self.economy = economy
        self.chains = dict(sorted(chains.items()))
        self.head_hash = head_hash
        self._splits: dict[int, AlphaSplit] = {}
        self._root_parts: dict[int, np.ndarray] = {}  # this block's epochs' root parts
        self._mempool: list[tuple[NetworkCall, simpy.Event]] = []
        self._stake_digests = StakeDigests()
        for netuid, chain in self.chains.items():
            self._attach(netuid, chain)

    def _attach(self, netuid: int, chain: Chain) -> None:
        chain.emission_source = self._pending_source(netuid)
        chain.extra_stake = self._root_weight_source(chain)
        chain.dividend_weights = self._dividend_split(netuid, chain)

    def halt(self, netuid: int | None, scopes: tuple[str, ...], until_block: int | None) -> None:
        """The kill switch with a scope: one netuid, or (None) the whole network. A halted
        subnet's emissions leave the coinbase; staking exits stay open."""
        targets = self.chains if netuid is None else {netuid: self.chains[netuid]}
        for chain in targets.values():
            chain.set_halt(scopes, until_block)

    def resume(self, netuid: int | None) -> None:
        """Lift the halts of one netuid, or (None) of every subnet."""
        targets = self.chains if netuid is None else {netuid: self.chains[netuid]}
        for chain in targets.values():
            chain.resume()

    def add_subnet(self, netuid: int, chain: Chain) -> None:
        """A registered subnet's chain joins the clock (between blocks)."""
        self._attach(netuid, chain)
        self.chains[netuid] = chain
        self.chains = dict(sorted(self.chains.items()))

    def dissolve(self, netuid: int) -> dict[str, float]:
        """Prune subnet ``netuid`` (between blocks): stakers are paid out of its pool and its
        chain leaves the clock. Returns the TAO paid per coldkey."""
        chain = self.chains.pop(netuid)
        holdings: dict[str, float] = {}
        for (coldkey, _), alpha in sorted(chain.ledger.stake_by_owner.items()):
            holdings[coldkey] = holdings.get(coldkey, 0.0) + alpha
        paid = self.economy.dissolve_subnet(netuid, holdings)
        self.log_event("subnet_dissolved", netuid=netuid, paid_tao=sum(paid.values()))
        return paid

    # --- for agents --------------------------------------------------------------------------

    def submit(self, call: NetworkCall) -> simpy.Event:
        """Queue a staking call for the next block; the event's value is (accepted, facts)."""
        done = self.env.event()
        self._mempool.append((call, done))
        return done

    def held(self) -> dict[int, float]:
        """Each subnet's alpha on its chain's books (for the invariants)."""
        return {netuid: held_alpha(chain.ledger, chain.pending)
                for netuid, chain in self.chains.items()}

    # --- hooks the chains call ---------------------------------------------------------------

    def _pending_source(self, netuid: int) -> Callable[[int], PendingEmission]:
        def pending(number: int) -> PendingEmission:
            split = self._splits.pop(netuid, None)
            if split is None:
                return PendingEmission()
            return PendingEmission(owner=split.owner, miners=split.server,
                                   validators=split.validator)
        return pending

    def _root_weight_source(self, chain: Chain) -> Callable[[], np.ndarray]:
        def extra() -> np.ndarray:
            return self.economy.params.tao_weight * self.root_by_uid(chain)
        return extra

    def _dividend_split(self, netuid: int,
                        chain: Chain) -> Callable[[np.ndarray], np.ndarray]:
        """At the epoch, before the payout: each uid's dividend split by its hotkey's own
        alpha and tao_weight x root stake (``payout.dividend_parts``); the alpha parts share
        the validator pool, the root parts are kept for the pending root alpha."""
        def alpha_parts(dividends: np.ndarray) -> np.ndarray:
            weighted_root = self.economy.params.tao_weight * self.root_by_uid(chain)
            alpha_part, self._root_parts[netuid] = dividend_parts(
                dividends, chain.ledger.stake, weighted_root)
            return alpha_part
        return alpha_parts

    def root_by_uid(self, chain: Chain) -> np.ndarray:
        """(n,) root TAO staked on each uid's hotkey of ``chain``'s subnet."""
        by_hotkey: dict[str, float] = {}
        for (_, hotkey), amount in self.economy.root_stake.items():
            by_hotkey[hotkey] = by_hotkey.get(hotkey, 0.0) + amount
        hotkeys = chain.ledger.hotkeys
        return np.array([by_hotkey.get(h, 0.0) if h is not None else 0.0 for h in hotkeys])

    # --- the process -------------------------------------------------------------------------

    def produce_block(self) -> BlockRecord:
        """Coinbase, subnet blocks and epochs, EMA prices, extrinsics, invariants, seal."""
        number = self.block + 1
        self._producing = number
        economy = self.economy
        for netuid, chain in self.chains.items():
            chain.expire_halt(number)
            economy.subnets[netuid].emission_halted = chain.ledger.is_halted("emissions")
        self._splits = economy.run_coinbase(number)
        epochs = 0
        for netuid, chain in self.chains.items():
            chain.defer_epoch = epochs >= economy.params.max_epochs_per_block
            _, records, epoch_record = chain.run_block()
            self._relog(netuid, chain, records, epoch_record)
            epochs += self._after_subnet_block(netuid, chain, number)
        economy.update_moving_prices(number)
        self._start_calls(number)  # an owner's extrinsic, after the block's on_initialize
        extrinsic_records = self._apply_mempool(number)
        self.block = number
        every = economy.params.check_invariants_every
        if every and number % every == 0:
            problems = check_invariants(economy, self.held())
            if problems:
                raise InvariantError(f"block {number}: " + "; ".join(problems))
        return self.seal_and_record(number, extrinsic_records, None)

    def _relog(self, netuid: int, chain: Chain, records: list[ExtrinsicRecord],
               epoch_record: EpochRecord | None) -> None:
        """A subnet block is not sealed on its own: its events, its rejected extrinsics and a
        digest of its epoch's results go into the network block (which they hash into)."""
        for event in chain.take_events():
            self.log_event(event.kind, netuid=netuid, **event.data)
        for record in records:
            if not record.accepted:
                self.log_event("rejected", netuid=netuid, kind=record.kind,
                               hotkey=record.hotkey, error=record.error)
        if epoch_record is not None:
            self.log_event("epoch", netuid=netuid, index=epoch_record.index,
                           results=_epoch_digest(epoch_record))

    def _start_calls(self, number: int) -> None:
        """Owners' scheduled ``start_call``: staking opens, emission starts the next block."""
        for netuid, subnet in self.economy.subnets.items():
            if not subnet.started and subnet.start_call_block and subnet.start_call_block <= number:
                subnet.first_emission_block = number + 1
                self.log_event("start_call", netuid=netuid, first_emission_block=number + 1)

    def _after_subnet_block(self, netuid: int, chain: Chain, number: int) -> int:
        """Recycle alpha a halted subnet did not take; settle its epoch: 1 if one ran."""
        subnet = self.economy.subnets[netuid]
        unclaimed = self._splits.pop(netuid, None)
        if unclaimed is not None:  # the subnet's emissions are halted: its alpha is recycled
            amount = unclaimed.owner + unclaimed.server + unclaimed.validator
            subnet.alpha_out -= amount
            subnet.alpha_recycled += amount
            subnet.flow.split = AlphaSplit(root=unclaimed.root,
                                           recycled=unclaimed.recycled + amount)
        record = chain.last_epoch
        if record is None or record.block != number:
            return 0
        root_part = self._root_parts.pop(netuid)
        if not chain.ledger.is_halted("emissions"):  # halted: the pools wait, as the chain's do
            self._settle_root_and_burn(subnet, chain, record, root_part)
        return 1

    def _settle_root_and_burn(self, subnet: SubnetEconomy, chain: Chain, record: EpochRecord,
                              part: np.ndarray) -> None:
        """At a subnet's epoch: MinerBurned from the owner's share of the miner incentive, and
        the pending root dividends paid by each uid's root part of its dividend (``part``,
        taken before the epoch's payout as the chain's ``distribute_emission`` does)."""
        server = record.server_emission
        owner = chain.owner_uid
        total = float(server.sum())
        subnet.miner_burned = float(server[owner]) / total if owner is not None and total else 0.0
        amount, subnet.pending_root = subnet.pending_root, 0.0
        if amount <= 0:
            return
        params = self.economy.params
        if part.sum() <= 0:  # no root staker validates here: the root alpha is recycled
            subnet.alpha_out -= amount
            subnet.alpha_recycled += amount
            return
        for uid in np.flatnonzero(part > 0):
            dividend = amount * float(part[uid] / part.sum())
            take = dividend * params.validator_take
            chain.ledger.credit_stake(chain.ledger.coldkey_of(int(uid)), int(uid), take)
            self._claim_root(subnet, str(chain.ledger.hotkeys[uid]), dividend - take)

    def _claim_root(self, subnet: SubnetEconomy, hotkey: str, alpha: float) -> None:
        """Root stakers of ``hotkey`` claim ``alpha`` at once as a fee-free sell whose TAO is
        restaked on root, pro rata (claim type Swap; the chain claims a few coldkeys a block)."""
        economy = self.economy
        stakers = {key: amount for key, amount in economy.root_stake.items()
                   if key[1] == hotkey and amount > 0}
        total = sum(stakers.values())
        try:
            subnet.pool, swap = swap_alpha_for_tao(subnet.pool, alpha, limit_price=0.0,
                                                   drop_fees=True)
        except ExtrinsicError:  # the pool cannot take it: recycled
            subnet.alpha_out -= alpha
            subnet.alpha_recycled += alpha
            return
        subnet.alpha_out -= alpha
        subnet.protocol_flow -= swap.out
        for key in sorted(stakers):
            economy.root_stake[key] += swap.out * stakers[key] / total

    def _apply_mempool(self, number: int) -> list[ExtrinsicRecord]:
        queue, self._mempool = self._mempool, []
        records = []
        for index, (call, done) in enumerate(queue):
            try:
                facts = self._apply_call(call)
                accepted, error = True, None
            except ExtrinsicError as failure:
                facts, accepted, error = {}, False, failure.code
            records.append(ExtrinsicRecord(block=number, index=index, kind=call.kind,
                                           hotkey=call.hotkey, payload=call.payload(),
                                           accepted=accepted, error=error))
            done.succeed((accepted, facts))
        return records

    def _apply_call(self, call: NetworkCall) -> dict[str, Any]:
        economy = self.economy
        if call.kind == "stake_root":
            return staking.stake_root(economy, call.coldkey, call.hotkey, call.amount)
        if call.kind == "unstake_root":
            return staking.unstake_root(economy, call.coldkey, call.hotkey, call.amount)
        chain = self.chains.get(call.netuid)
        if chain is None:
            raise ExtrinsicError("SubnetNotExists", str(call.netuid))
        if call.kind == "add_stake":
            return staking.add_stake(economy, chain.ledger, call.netuid, call.coldkey,
                                     call.hotkey, call.amount, call.limit_price,
                                     call.allow_partial)
        if call.kind == "remove_stake":
            return staking.remove_stake(economy, chain.ledger, call.netuid, call.coldkey,
                                        call.hotkey, call.amount, call.limit_price,
                                        call.allow_partial)
        if call.kind == "move_stake" and call.destination is not None:
            ledgers = {netuid: c.ledger for netuid, c in self.chains.items()}
            return staking.move_stake(economy, ledgers, call.coldkey, call.netuid, call.hotkey,
                                      call.destination, call.destination_hotkey or call.hotkey,
                                      call.amount)
        raise ExtrinsicError("UnknownCall", call.kind)

    def block_state_root(self, checkpointed: bool) -> str:
        """Every block: the economy and each subnet's stakes and pending pools; a block that
        commits to a checkpoint: every subnet's full ledger root too (``state_root``), which a
        resume proves its restored state against."""
        return self.state_root() if checkpointed else self._state_root(full=False)

    def state_root(self) -> str:
        """Hash of the economy and every subnet's full ledger state."""
        return self._state_root(full=True)

    def _state_root(self, full: bool) -> str:
        return network_state_root(self.economy, self.chains, full, self._stake_digests)


def _epoch_digest(record: EpochRecord) -> str:
    """An epoch's results as one hash (its record is not stored in a network run)."""
    return digest(*(np.ascontiguousarray(getattr(record, name)).tobytes()
                    for name in ("incentive", "dividends", "incentive_tao", "dividends_tao",
                                 "validator_permit", "stake")))
