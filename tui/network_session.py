"""A dashboard session on a dTAO network (worker only): the network world, each subnet's epochs,
its price history, and which subnet the per-subnet panels show.

It offers the worker what ``tui.session.Session`` offers (block, run_to_block, views, markers,
inspect, ...), so the worker loop, pacing and snapshots are the same for both kinds. The
per-subnet views (metagraph, weights, epochs) are the selected subnet's ``World``, read with the
same helpers a single-subnet session uses; the network's figures come from the economy's own
state and its per-block flows (``BlockFlow``), not recomputed.
"""

from __future__ import annotations

import collections
from typing import Any

from subnetsim.network_world import NetworkWorld, subnet_rows
from subnetsim.subnet.dtao.scenario import NetworkScenario
from subnetsim.subnet.metagraph import metagraph_of
from subnetsim.subnet.records import BlockRecord, EpochRecord, EventRecord, ExtrinsicRecord
from subnetsim.tui.session import EVENT_LINES, format_event, roles_and_behaviours
from subnetsim.tui.snapshot import (
    EpochPoint,
    LogEntry,
    NetworkView,
    UidDetail,
    epoch_point,
    group_labels,
    weights_view,
)
from subnetsim.world import World

__all__ = ["PRICE_POINTS", "NetworkSession"]

PRICE_POINTS = 600  # blocks of price history a snapshot carries per subnet


class NetworkSession:
    """A network world with per-subnet epoch history, price history and a selected netuid."""

    network = True

    def __init__(self, number: int, scenario: NetworkScenario, seed: int) -> None:
        self.number = number
        self.scenario = scenario
        self.seed = seed
        self.commands: list[dict[str, Any]] = []  # no edits in network sessions (yet)
        self.halts: list[tuple[int, str]] = []
        self.events: collections.deque[LogEntry] = collections.deque(maxlen=EVENT_LINES)
        self._seq = 0
        self.histories: dict[int, list[EpochPoint]] = {}
        self._epochs_seen: dict[int, int] = {}
        self.prices: dict[int, collections.deque[tuple[int, float, float]]] = {}
        self._worlds: dict[int, World] = {}  # which subnet world each netuid's history is of
        self.network_world = NetworkWorld(scenario, seed, recorder=self.record)
        self.network_world.start()
        self.selected = min(self.network_world.subnets)

    # --- what the worker asks of any session ---------------------------------------------------

    @property
    def world(self) -> World:
        """The selected subnet's world (the per-subnet panels' source)."""
        return self.network_world.subnets[self.selected]

    @property
    def block(self) -> int:
        """The last produced network block."""
        return self.network_world.network.block

    def run_to_block(self, block: int) -> None:
        """Advance the whole network to ``block``."""
        self.network_world.run_to_block(block)

    def select(self, netuid: int) -> bool:
        """Show ``netuid`` in the per-subnet panels; False if no such subnet lives."""
        if netuid not in self.network_world.subnets:
            return False
        self.selected = netuid
        return True

    def log(self, block: int, kind: str, text: str) -> None:
        """Add a line to the session's log."""
        self._seq += 1
        self.events.append(LogEntry(seq=self._seq, block=block, kind=kind, text=text))

    def record(self, block: BlockRecord, extrinsics: list[ExtrinsicRecord],
               events: list[EventRecord], epoch: EpochRecord | None) -> None:
        """The network's recorder: events, each subnet's new epochs, and prices."""
        for event in events:
            self.log(event.block, event.kind, format_event(event.kind, dict(event.data)))
            if event.kind in ("halt", "resume", "halt_expired"):
                self.halts.append((event.block, "halt" if event.kind == "halt" else "resume"))
        self._forget_replaced_subnets()
        for netuid, world in self.network_world.subnets.items():
            last = world.chain.last_epoch
            if last is not None and self._epochs_seen.get(netuid) != last.index:
                self._epochs_seen[netuid] = last.index
                roles, behaviours = roles_and_behaviours(world)
                self.histories.setdefault(netuid, []).append(epoch_point(
                    last, group_labels(roles, behaviours), world.chain.ledger.registered))
        for netuid, s in self.network_world.economy.subnets.items():
            self.prices.setdefault(netuid, collections.deque(maxlen=PRICE_POINTS)).append(
                (block.number, float(s.pool.price), float(s.moving_price)))

    def _forget_replaced_subnets(self) -> None:
        """A pruned subnet's history goes with it; a netuid registered again starts afresh,
        and the panels show the lowest netuid if the selected one was pruned."""
        subnets = self.network_world.subnets
        for netuid in set(self._worlds) | set(self.prices):
            if self._worlds.get(netuid) is not subnets.get(netuid):
                self.histories.pop(netuid, None)
                self.prices.pop(netuid, None)
                self._epochs_seen.pop(netuid, None)
        self._worlds = dict(subnets)
        if self.selected not in subnets:
            self.selected = min(subnets)

    def next_epoch_block(self) -> int:
        """The selected subnet's next epoch block."""
        chain = self.world.chain
        ahead = chain.blocks_until_next_epoch(self.block)
        return self.block + (ahead if ahead > 0 else chain.hyper.tempo + 1)

    def markers(self) -> tuple[tuple[int, str], ...]:
        """Halts and resumes by block, for the charts."""
        return tuple(sorted(self.halts))

    def verdict(self) -> str:
        """No drills run in network sessions."""
        return ""

    def inspect(self, uid: int) -> UidDetail | None:
        """The uid inspector is not offered for network sessions."""
        return None

    def views(self) -> dict[str, Any]:
        """The selected subnet's metagraph, weights and epochs, with the network's block,
        head hash and issuance."""
        world = self.world
        ledger = world.chain.ledger
        metagraph = metagraph_of(world.chain)
        roles, behaviours = roles_and_behaviours(world)
        economy = self.network_world.economy
        return {
            "block": self.block, "epoch_index": ledger.epoch_index,
            "blocks_until_epoch": self.next_epoch_block() - self.block,
            "digest": self.network_world.network.head_hash,
            "minted": float(economy.minted_tao), "metagraph": metagraph,
            "roles": roles, "behaviours": behaviours, "hyper": ledger.hyper,
            "weights": weights_view(ledger.weights, ledger.weight_set, ledger.bonds,
                                    ledger.registered, metagraph.consensus),
            "history": tuple(self.histories.get(self.selected, ())),
            "events": tuple(self.events), "commands": (),
            "network": self.network_view(),
        }

    def network_view(self) -> NetworkView:
        """Every subnet now and the last block's flows, from the economy's own records."""
        economy = self.network_world.economy
        return NetworkView(
            selected=self.selected, rows=subnet_rows(economy),
            blocks_since_epoch=self.network_world.blocks_since_epoch(),
            flows=tuple((netuid, s.flow) for netuid, s in sorted(economy.subnets.items())),
            issuance_tao=float(economy.issuance), root_tao=float(economy.root_tao),
            prices={netuid: (tuple(p[0] for p in points), tuple(p[1] for p in points),
                             tuple(p[2] for p in points))
                    for netuid, points in self.prices.items()})
