"""In-simulation messaging: a validator's query to many miners as one SimPy event.

A validator (the caller) sends one ``Query`` to a set of target uids with a deadline, like a
Bittensor dendrite call to many axons. The network draws each target's round-trip latency and
whether the message is lost from the caller's own keyed stream, asks the attached ``Server``
for the answers (it answers for every target at once, so miners can batch their inference),
and fires a single event when the last useful reply is in or the deadline passes. A reply that
is lost or arrives after the deadline is a ``TIMEOUT``; a target nobody serves is
``UNREACHABLE``; the server may ``REFUSE`` a caller (its query policy).

One event per query, not per target: a round to 32 miners costs one SimPy timeout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import simpy

from subnetsim.subnet.provenance import SignedBatch
from subnetsim.subnet.rng import numpy_stream
from subnetsim.subnet.scenario import NetworkConfig

__all__ = [
    "HALTED",
    "OK",
    "REFUSED",
    "STATUS_NAMES",
    "TIMEOUT",
    "UNREACHABLE",
    "Query",
    "Responses",
    "Server",
    "ServerReply",
    "SimNetwork",
]

OK, REFUSED, TIMEOUT, UNREACHABLE, HALTED = 0, 1, 2, 3, 4
STATUS_NAMES = ("ok", "refused", "timeout", "unreachable", "halted")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Query:
    """One request from ``caller_hotkey`` to every uid in ``targets``.

    Attributes:
        caller_hotkey: who asks (servers check it against the chain).
        targets: (k,) uids asked, distinct.
        payload: the request body, the same for every target (e.g. an input batch).
        deadline: seconds the caller waits.
        block: the block during which the query is sent (servers' rate windows use it).
        query_id: what a miner's signed reply names (``subnet.provenance.query_id``).
    """

    caller_hotkey: str
    targets: np.ndarray
    payload: Any
    deadline: float
    block: int
    query_id: bytes = b""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ServerReply:
    """What a server says for each target of a query, before the network delivers it.

    Attributes:
        status: (k,) OK, REFUSED, HALTED (a serving halt) or UNREACHABLE per target.
        service_seconds: (k,) time each target takes to answer (inf: never answers).
        payloads: k reply bodies (None where there is none). Not validated: callers do that.
        signatures: k signed replies (``subnet.provenance.SignedReply``) or None; empty when
            the server signs nothing. A ``provenance.SignedBatch`` while still being signed.
    """

    status: np.ndarray
    service_seconds: np.ndarray
    payloads: tuple[Any, ...]
    signatures: Sequence[Any] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Responses:
    """What the caller gets back: per target its status, arrival time and reply body."""

    targets: np.ndarray  # (k,) uids
    status: np.ndarray  # (k,) int8 status codes
    seconds: np.ndarray  # (k,) seconds after sending (inf when nothing arrived)
    payloads: tuple[Any, ...]  # k bodies; None unless status is OK
    signatures: Sequence[Any] = ()  # k signed replies or None (empty: nothing signed)

    def count(self, status: int) -> int:
        """How many targets ended with ``status``."""
        return int(np.count_nonzero(self.status == status))


class Server(Protocol):
    """Anything that answers queries for a set of uids (the miners, a remote bridge)."""

    def handle(self, query: Query) -> ServerReply:
        """Answer ``query`` for each of its targets."""
        ...


def _delivered(signatures: Sequence[Any], delivered: np.ndarray) -> Sequence[Any]:
    """The signed replies that arrived (None for the others); a batch still being signed
    stays one (nobody waits for the signing worker here)."""
    if isinstance(signatures, SignedBatch):
        return signatures.only(delivered.tolist())
    return tuple(signed if arrived else None for signed, arrived in
                 zip(signatures, delivered.tolist(), strict=False))


class SimNetwork:
    """The network inside one simulation: seeded latency, loss and deadlines."""

    def __init__(self, env: simpy.Environment, seed: int, config: NetworkConfig) -> None:
        self.env = env
        self.seed = seed
        self.config = config
        self.server: Server | None = None
        self._streams: dict[int, np.random.Generator] = {}  # caller key -> latency stream

    def attach(self, server: Server) -> None:
        """Route every query to ``server`` (the miners of this simulation)."""
        self.server = server

    def request(self, query: Query, caller_key: int) -> simpy.Event:
        """Send ``query``; the returned event fires with ``Responses``.

        Args:
            query: the request.
            caller_key: a stable number of the caller (its uid), keying its latency stream.
        """
        targets = np.asarray(query.targets, dtype=np.int64)
        reply = self._serve(query, targets)
        rng = self._stream(caller_key)
        latency = self.config.latency * rng.lognormal(0.0, self.config.jitter, len(targets))
        lost = rng.random(len(targets)) < self.config.loss_probability
        arrival = latency + reply.service_seconds
        delivered = (reply.status != UNREACHABLE) & ~lost & (arrival <= query.deadline)
        status = np.where(delivered, reply.status, np.where(reply.status == UNREACHABLE,
                                                            UNREACHABLE, TIMEOUT)).astype(np.int8)
        seconds = np.where(delivered, arrival, np.inf)
        payloads = tuple(body if code == OK else None
                         for body, code in zip(reply.payloads, status.tolist(), strict=True))
        signatures = _delivered(reply.signatures, status == OK)
        waited = query.deadline if (~delivered).any() else float(seconds.max(initial=0.0))
        responses = Responses(targets=targets, status=status, seconds=seconds, payloads=payloads,
                              signatures=signatures)
        return self.env.timeout(waited, value=responses)

    def _serve(self, query: Query, targets: np.ndarray) -> ServerReply:
        if self.server is None:
            k = len(targets)
            return ServerReply(status=np.full(k, UNREACHABLE, dtype=np.int8),
                               service_seconds=np.full(k, np.inf), payloads=(None,) * k)
        reply = self.server.handle(query)
        if len(reply.status) != len(targets) or len(reply.payloads) != len(targets):
            raise ValueError("server answered a different number of targets than asked")
        return reply

    def _stream(self, caller_key: int) -> np.random.Generator:
        stream = self._streams.get(caller_key)
        if stream is None:
            stream = numpy_stream(self.seed, "network.latency", caller_key)
            self._streams[caller_key] = stream
        return stream

    def state(self) -> dict[int, Any]:
        """The latency streams' states (for checkpoints)."""
        return {key: stream.bit_generator.state for key, stream in sorted(self._streams.items())}

    def restore(self, state: dict[int, Any]) -> None:
        """Inverse of ``state``."""
        for key, stream_state in state.items():
            self._stream(key).bit_generator.state = stream_state
