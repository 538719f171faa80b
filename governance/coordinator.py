"""The signing coordinator: runs FROST sessions with council members and retries around faults.

FROST is not robust: one chosen signer that stays silent or sends a bad share spoils the round
(``reference/frost.md`` pitfall 7). The coordinator therefore picks ``threshold`` signers, runs
both rounds over the council network with a timeout per round and, when a round fails, tries
again with another subset. A signer whose share fails verification is *proven* faulty
(``verify_signature_share`` names it; links are authenticated) and is never asked again; a
signer that timed out or refused is only *suspected* and moves to the back of the queue, since
a lost message looks the same as an offline member. The coordinator is trusted for liveness
only: it never sees a share of the key, and every member checks the message itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Mapping, Sequence
from typing import Any

import numpy as np
import simpy

from subnetsim.governance import frost
from subnetsim.governance.council_network import (
    COORDINATOR,
    CommitReply,
    CommitRequest,
    CouncilNetwork,
    Refusal,
    ShareReply,
    SignRequest,
    receive_until,
)

__all__ = ["Coordinator", "SigningAttempt", "SigningOutcome"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SigningAttempt:
    """One round trip (both FROST rounds) with one signer subset.

    ``outcome`` is ``signed``, ``no_commitment`` or ``no_share`` (someone timed out or refused;
    ``culprits`` are the suspects) or ``invalid_share`` (``culprits`` are proven cheaters).
    """

    signers: tuple[int, ...]
    outcome: str
    culprits: tuple[int, ...]
    refusals: Mapping[int, str]
    started_at: float
    finished_at: float


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SigningOutcome:
    """Every attempt to sign one message, and the signature if one succeeded."""

    key_name: str
    message: bytes
    signature: bytes | None
    attempts: tuple[SigningAttempt, ...]
    started_at: float
    finished_at: float

    @property
    def rounds(self) -> int:
        """Signing rounds run (attempts)."""
        return len(self.attempts)

    @property
    def retries(self) -> int:
        """Rounds after the first."""
        return max(self.rounds - 1, 0)

    @property
    def signers(self) -> tuple[int, ...]:
        """Who signed (empty if nobody did)."""
        return self.attempts[-1].signers if self.signature is not None else ()


@dataclasses.dataclass(slots=True)
class _Replies:
    received: dict[int, Any]
    refusals: dict[int, str]
    silent: tuple[int, ...]


class Coordinator:
    """Runs signing sessions for the council (party 0 of the council network)."""

    def __init__(self, network: CouncilNetwork, public_keys: Mapping[str, frost.PublicKeyPackage],
                 members: Sequence[int], *, round_timeout_s: float, max_attempts: int,
                 rng: np.random.Generator) -> None:
        self.network = network
        self.public_keys = dict(public_keys)
        self.round_timeout_s = round_timeout_s
        self.max_attempts = max_attempts
        # A keyed shuffle: first choices spread over the council instead of always 1..t.
        self.order = [int(member) for member in rng.permutation(sorted(members))]
        self.suspects: list[int] = []
        self.proven: set[int] = set()
        self.session = 0

    def choose(self, threshold: int) -> tuple[int, ...] | None:
        """The next subset: unsuspected members first, suspects last; never proven cheaters."""
        fresh = [m for m in self.order if m not in self.suspects and m not in self.proven]
        candidates = fresh + [m for m in self.suspects if m not in self.proven]
        return tuple(sorted(candidates[:threshold])) if len(candidates) >= threshold else None

    def collect_signature(self, env: simpy.Environment, key_name: str,
                          message: bytes) -> Generator[simpy.Event, Any, SigningOutcome]:
        """SimPy sub-process: attempts until a subset signs ``message`` or none is left."""
        threshold = self.public_keys[key_name].min_signers
        started = env.now
        attempts: list[SigningAttempt] = []
        signature = None
        while len(attempts) < self.max_attempts:
            signers = self.choose(threshold)
            if signers is None:
                break
            attempt, signature = yield from self._attempt(env, key_name, message, signers)
            attempts.append(attempt)
            if signature is not None:
                break
            self._blame(attempt)
        return SigningOutcome(key_name=key_name, message=message, signature=signature,
                              attempts=tuple(attempts), started_at=started,
                              finished_at=env.now)

    def _blame(self, attempt: SigningAttempt) -> None:
        if attempt.outcome == "invalid_share":
            self.proven.update(attempt.culprits)
            return
        self.suspects = [m for m in self.suspects if m not in attempt.culprits]
        self.suspects.extend(attempt.culprits)

    def _attempt(self, env: simpy.Environment, key_name: str, message: bytes,
                 signers: tuple[int, ...],
                 ) -> Generator[simpy.Event, Any, tuple[SigningAttempt, bytes | None]]:
        self.session += 1
        session, started = self.session, env.now

        def finish(outcome: str, culprits: Sequence[int], refusals: Mapping[int, str],
                   ) -> SigningAttempt:
            return SigningAttempt(signers=signers, outcome=outcome, culprits=tuple(culprits),
                                  refusals=dict(refusals), started_at=started,
                                  finished_at=env.now)

        self._broadcast(signers, CommitRequest(session=session, key_name=key_name,
                                               message=message))
        commits = yield from self._gather(env, session, signers, CommitReply)
        if commits.silent:
            return finish("no_commitment", commits.silent, commits.refusals), None
        package = frost.SigningPackage(message=message, commitments=tuple(
            commits.received[m].commitments for m in signers))
        self._broadcast(signers, SignRequest(session=session, key_name=key_name,
                                             package=package))
        shares = yield from self._gather(env, session, signers, ShareReply)
        if shares.silent:
            return finish("no_share", shares.silent, shares.refusals), None
        try:
            signature = frost.aggregate(package, [shares.received[m].share for m in signers],
                                        self.public_keys[key_name])
        except frost.InvalidSignatureShareError as error:
            return finish("invalid_share", error.identifiers, {}), None
        self.suspects = [m for m in self.suspects if m not in signers]
        return finish("signed", (), {}), signature

    def _broadcast(self, signers: Sequence[int], message: Any) -> None:
        for member in signers:
            self.network.send(COORDINATOR, member, message)

    def _gather(self, env: simpy.Environment, session: int, signers: Sequence[int],
                reply_type: type) -> Generator[simpy.Event, Any, _Replies]:
        """Replies of ``reply_type`` for ``session`` from ``signers`` until all are in or the
        round times out; late replies of older sessions are dropped."""
        deadline = env.now + self.round_timeout_s
        inbox = self.network.inboxes[COORDINATOR]
        received: dict[int, Any] = {}
        refusals: dict[int, str] = {}
        while len(received) + len(refusals) < len(signers):
            envelope = yield from receive_until(env, inbox, deadline)
            if envelope is None:
                break
            sender, message = envelope.sender, envelope.message
            if sender not in signers or message.session != session:
                continue
            if isinstance(message, Refusal):
                refusals[sender] = message.reason
            elif (isinstance(message, CommitReply | ShareReply) and isinstance(message, reply_type)
                  and self._from_sender(message, sender)):
                received[sender] = message
        silent = tuple(m for m in signers if m not in received)
        return _Replies(received=received, refusals=refusals, silent=silent)

    @staticmethod
    def _from_sender(message: CommitReply | ShareReply, sender: int) -> bool:
        """A reply must carry its sender's own identifier (authenticated links)."""
        identifier = (message.commitments.identifier if isinstance(message, CommitReply)
                      else message.share.identifier)
        return identifier == sender
