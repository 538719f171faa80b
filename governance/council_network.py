"""The council's messaging: FROST signing messages over simulated links.

Party 0 is the coordinator, parties 1..n are the members (their FROST identifiers). Every
message travels one link: it is lost with probability ``loss`` or arrives after a lognormal
latency, both drawn from the sender's keyed stream in send order, so a run is reproducible. A
member that is offline simply never reads its inbox.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Iterable
from typing import Any

import simpy

from subnetsim.governance import frost
from subnetsim.subnet.governance_config import LinkConfig
from subnetsim.subnet.rng import numpy_stream

__all__ = ["COORDINATOR", "CommitReply", "CommitRequest", "CouncilNetwork", "Envelope",
           "LinkConfig", "Refusal", "ShareReply", "SignRequest", "receive_until"]

COORDINATOR = 0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CommitRequest:
    """Coordinator to member: commit to nonces for signing ``message`` with ``key_name``."""

    session: int
    key_name: str
    message: bytes


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CommitReply:
    """Member to coordinator: round-one commitments for ``session``."""

    session: int
    commitments: frost.SigningCommitments


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SignRequest:
    """Coordinator to member: the signing package of ``session`` (round two)."""

    session: int
    key_name: str
    package: frost.SigningPackage


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ShareReply:
    """Member to coordinator: a signature share for ``session``."""

    session: int
    share: frost.SignatureShare


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """Member to coordinator: it will not take part in ``session``, and why."""

    session: int
    reason: str


Message = CommitRequest | CommitReply | SignRequest | ShareReply | Refusal


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """A delivered message; links are authenticated, so ``sender`` can be trusted."""

    sender: int
    receiver: int
    message: Message


class CouncilNetwork:
    """Inboxes of every party and the links between them."""

    def __init__(self, env: simpy.Environment, config: LinkConfig, seed: int,
                 parties: Iterable[int]) -> None:
        self.env = env
        self.config = config
        ordered = sorted(parties)
        self.inboxes = {party: simpy.Store(env) for party in ordered}
        self._streams = {party: numpy_stream(seed, "council.link", party) for party in ordered}
        self.sent = 0
        self.lost = 0

    def send(self, sender: int, receiver: int, message: Message) -> None:
        """Put ``message`` on the link; it arrives later, or never."""
        stream = self._streams[sender]
        latency = self.config.latency_median_s * float(stream.lognormal(0.0,
                                                                        self.config.latency_sigma))
        lost = bool(stream.random() < self.config.loss)  # both drawn always: streams stay aligned
        self.sent += 1
        if lost:
            self.lost += 1
            return
        envelope = Envelope(sender=sender, receiver=receiver, message=message)
        self.env.process(self._deliver(latency, envelope))

    def _deliver(self, latency: float, envelope: Envelope) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(latency)
        yield self.inboxes[envelope.receiver].put(envelope)


def receive_until(env: simpy.Environment, inbox: simpy.Store,
                  deadline: float) -> Generator[simpy.Event, Any, Envelope | None]:
    """The next envelope in ``inbox``, or None once ``deadline`` (seconds) passes."""
    if env.now >= deadline:
        return None
    get = inbox.get()
    yield get | env.timeout(deadline - env.now)
    if get.triggered:
        return get.value
    get.cancel()
    return None
