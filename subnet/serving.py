"""The serving halt as each node sees it: HALTs arrive by gossip and every node checks them.

A HALT stops the chain in the block that carries it; the *models* stop only when each node
learns of it. Every node (miner or validator, one per uid) holds the council's two group public
keys and the network id from genesis. Governance messages reach it over the gossip graph
(``subnet.gossip``): the ones in a finalised block from the block producers, and whatever an
attacker injects from its own node. On arrival the node runs the very checks the chain's gate
runs (``governance_gate.check_proposal``: canonical bytes, this network, a plain Ed25519
signature by the right group key, validity window, an unused nonce) and applies the halt rule
the chain applies (``governance_gate.next_halt_state``). So a forged, tampered, cross-network
or replayed HALT stops nobody, and a genuine one stops each node at its own gossip delay.

A node's "now" is the simulated clock; its block is the chain block produced last before it
(blocks every ``BLOCK_SECONDS``). Messages are delivered lazily: a node processes the messages
that have reached it whenever it is asked whether it is halted, in arrival order, so gossip
costs no SimPy event per node.

``ServingNetwork`` also keeps the provenance transcript: the signed replies validators received
while the chain's serving scope was halted (what a watcher can later submit as evidence), and
how many replies each uid gave after a halt ended (serving has returned).
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from nacl.signing import VerifyKey

from subnetsim.subnet.chain import BLOCK_SECONDS
from subnetsim.subnet.errors import ExtrinsicError
from subnetsim.subnet.gossip import GossipNetwork
from subnetsim.subnet.governance_gate import (
    check_proposal,
    expand_scopes,
    next_halt_state,
)
from subnetsim.subnet.provenance import SignedReply
from subnetsim.subnet.records import BlockRecord, EpochRecord, EventRecord, ExtrinsicRecord

__all__ = ["NodeDecision", "ServingNetwork", "ServingState", "ServingView", "WireNode",
           "Witnessed", "build_serving_network"]

SERVING = "serving"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NodeDecision:
    """What one node did with one governance message that reached it."""

    time: float
    action: str | None  # HALT / EXTEND / RESUME when it decoded, else None
    accepted: bool
    reason: str  # the error code when refused, else "applied"
    serving_halted: bool  # the node's serving state afterwards
    nonce: bytes = b""  # the applied proposal's nonce


class ServingView:
    """One node's own verifier and serving state (see the module docstring)."""

    def __init__(self, *, network_id: bytes, halt_key: bytes, resume_key: bytes,
                 max_halt_blocks: int) -> None:
        self.network_id = network_id
        self.keys = {"halt": VerifyKey(halt_key), "resume": VerifyKey(resume_key)}
        self.max_halt_blocks = max_halt_blocks
        self.used_nonces: set[bytes] = set()
        self.halted: frozenset[str] = frozenset()
        self.halt_until: int | None = None
        self.inbox: list[tuple[float, int, bytes, bytes]] = []  # heap: (arrival, seq, msg, sig)
        self.decisions: list[NodeDecision] = []
        self.expired_at: list[float] = []

    def deliver(self, arrival: float, sequence: int, message: bytes, signature: bytes) -> None:
        """A message will reach this node at ``arrival`` (simulated seconds)."""
        heapq.heappush(self.inbox, (arrival, sequence, message, signature))

    def serving_halted(self, now: float) -> bool:
        """Whether this node has stopped serving at ``now`` (processes what has arrived)."""
        self.advance(now)
        return SERVING in expand_scopes(self.halted)

    def advance(self, now: float) -> None:
        """Process every message that arrived by ``now``, in arrival order."""
        while self.inbox and self.inbox[0][0] <= now:
            arrival, _, message, signature = heapq.heappop(self.inbox)
            self._expire(arrival)
            self._receive(arrival, message, signature)
        self._expire(now)

    def _expire(self, now: float) -> None:
        """A halt ends by itself at its expiry block, as the chain's does."""
        if self.halt_until is not None and now >= self.halt_until * BLOCK_SECONDS:
            self.expired_at.append(self.halt_until * BLOCK_SECONDS)
            self.halted, self.halt_until = frozenset(), None

    def _receive(self, now: float, message: bytes, signature: bytes) -> None:
        block = int(now // BLOCK_SECONDS)
        action = None
        try:
            proposal = check_proposal(message, signature, network_id=self.network_id,
                                      keys=self.keys, block=block,
                                      used_nonces=self.used_nonces,
                                      max_halt_blocks=self.max_halt_blocks)
            action = proposal.action
            state = next_halt_state(proposal, self.halted, self.halt_until, block)
        except ExtrinsicError as error:
            self._decide(now, action, False, error.code)
            return
        self.used_nonces.add(proposal.nonce)
        self.halted = frozenset(state.scopes)
        self.halt_until = state.until_block if state.scopes else None
        self._decide(now, action, True, "applied", proposal.nonce)

    def _decide(self, now: float, action: str | None, accepted: bool, reason: str,
                nonce: bytes = b"") -> None:
        self.decisions.append(NodeDecision(time=now, action=action, accepted=accepted,
                                           reason=reason,
                                           serving_halted=SERVING in expand_scopes(self.halted),
                                           nonce=nonce))

    def stops(self) -> list[float]:
        """Times at which this node went from serving to halted."""
        times, halted = [], False
        for decision in self.decisions:
            if decision.serving_halted and not halted:
                times.append(decision.time)
            halted = decision.serving_halted
        return times

    def restarts(self) -> list[float]:
        """Times at which this node went from halted back to serving (a RESUME it verified)."""
        times, halted = [], False
        for decision in self.decisions:
            if halted and not decision.serving_halted:
                times.append(decision.time)
            halted = decision.serving_halted
        return times


class ServingState(Protocol):
    """What a miner pool or a validator asks before serving or querying."""

    def halted(self, uid: int, now: float) -> bool:
        """Whether the node of ``uid`` has stopped serving at ``now``."""
        ...


class WireNode:
    """A node outside the simulation (miners served over the ZeroMQ bridge): governance
    messages reach it over the wire and are checked at once; its clock is the latest block it
    has heard of (from queries), since it does not follow the chain."""

    def __init__(self, view: ServingView) -> None:
        self.view = view
        self.block = 0
        self.sequence = 0

    def hear_block(self, block: int) -> None:
        """A query named ``block``: the node's clock moves on to it."""
        self.block = max(self.block, block)

    def receive(self, message: bytes, signature: bytes) -> NodeDecision:
        """Check and apply one governance message now; what the node decided."""
        now = self.block * BLOCK_SECONDS
        self.sequence += 1
        self.view.deliver(now, self.sequence, message, signature)
        self.view.advance(now)
        return self.view.decisions[-1]

    def halted(self, uid: int, now: float) -> bool:
        """Every miner behind this node shares its one view of the halt."""
        return self.view.serving_halted(self.block * BLOCK_SECONDS)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Witnessed:
    """A reply a validator received: when, from which uid, to whom, and its signature."""

    time: float
    uid: int
    caller: str
    block: int
    reply: SignedReply | None


class ServingNetwork:
    """Every uid's node view, the gossip graph that feeds them, and the transcript.

    It observes the chain (``Chain.observers``): each block's governance calls are published
    from the block producers when the block is produced; an attacker's injected messages are
    published from its own node (``inject``). Uid ``u`` sits on gossip node
    ``(origins + u) % nodes``.
    """

    def __init__(self, gossip: GossipNetwork, views: Sequence[ServingView]) -> None:
        self.gossip = gossip
        self.views = list(views)
        self.sequence = 0
        self.transcript: list[Witnessed] = []  # replies received while the chain halted serving
        self.answers_after_halt: dict[int, int] = {}  # uid -> replies since a serving halt ended
        self.chain_halted_before = False
        self._delays: dict[tuple[int, ...], np.ndarray] = {}

    def node_of(self, uid: int) -> int:
        """The gossip node a uid's neuron runs on."""
        config = self.gossip.config
        return (config.origins + uid) % config.nodes

    def delays(self, origins: tuple[int, ...] | None = None) -> np.ndarray:
        """(nodes,) gossip delay of a message from ``origins`` (default: block producers)."""
        key = origins if origins is not None else tuple(range(self.gossip.config.origins))
        if key not in self._delays:
            self._delays[key] = self.gossip.propagate(0.0, list(key)).delays
        return self._delays[key]

    def publish(self, message: bytes, signature: bytes, at: float,
                origins: tuple[int, ...] | None = None) -> None:
        """Gossip one message from ``origins`` at ``at``: every node gets it at its delay."""
        delays = self.delays(origins)
        self.sequence += 1
        for uid, view in enumerate(self.views):
            delay = float(delays[self.node_of(uid)])
            if np.isfinite(delay):
                view.deliver(at + delay, self.sequence, message, signature)

    def inject(self, message: bytes, signature: bytes, at: float) -> None:
        """An attacker gossips a message from its own node (the graph's last node)."""
        self.publish(message, signature, at, origins=(self.gossip.config.nodes - 1,))

    def halted(self, uid: int, now: float) -> bool:
        """Whether the node of ``uid`` has stopped serving at ``now``."""
        return 0 <= uid < len(self.views) and self.views[uid].serving_halted(now)

    def __call__(self, block: BlockRecord, extrinsics: list[ExtrinsicRecord],
                 events: list[EventRecord], epoch: EpochRecord | None) -> None:
        """Chain observer: gossip the block's governance messages from its producers."""
        for record in extrinsics:
            if record.kind != "governance":
                continue
            try:
                message = bytes.fromhex(str(record.payload["message"]))
                signature = bytes.fromhex(str(record.payload["signature"]))
            except (KeyError, ValueError):
                continue  # nothing a node could check
            self.publish(message, signature, block.time)

    def witness(self, *, time: float, uid: int, caller: str, block: int,
                reply: SignedReply | None, chain_halted: bool) -> None:
        """A validator received an answer from ``uid`` (called for every OK reply)."""
        entry = Witnessed(time=time, uid=uid, caller=caller, block=block, reply=reply)
        if chain_halted:
            self.chain_halted_before = True
            self.transcript.append(entry)
        elif self.chain_halted_before:
            self.answers_after_halt[uid] = self.answers_after_halt.get(uid, 0) + 1


def build_serving_network(gossip: GossipNetwork, capacity: int, *, network_id: bytes,
                          halt_key: bytes, resume_key: bytes,
                          max_halt_blocks: int) -> ServingNetwork:
    """One view per uid slot, all holding the same genesis keys."""
    views = [ServingView(network_id=network_id, halt_key=halt_key, resume_key=resume_key,
                         max_halt_blocks=max_halt_blocks) for _ in range(capacity)]
    return ServingNetwork(gossip, views)
