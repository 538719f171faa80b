"""The governance council: members holding FROST shares, and its response to an alarm.

The council holds two group keys made by DKG at start-up (no party ever holds either secret):
HALT, at the low threshold ``halt_threshold`` (a cheap brake), and RESUME, at the higher
``resume_threshold`` (an expensive release; Sui's bridge uses 4.5 % vs > 50 %). Members are
SimPy processes that answer the coordinator's signing messages over lossy, delayed links; a
member may be offline (never answers), malicious (sends bad shares) or captured (refuses to
sign a HALT or EXTEND). ``Council.govern`` is the council's process: on the monitor's first
alarm it signs and submits a HALT, extends it while the incident lasts and, if the plan says
so, signs a RESUME (see ``docs/drills.md``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Mapping
from typing import Any

import simpy

from subnetsim.governance import frost
from subnetsim.governance.coordinator import Coordinator, SigningOutcome
from subnetsim.governance.council_network import (
    COORDINATOR,
    CommitReply,
    CommitRequest,
    CouncilNetwork,
    Envelope,
    Refusal,
    ShareReply,
    SignRequest,
)
from subnetsim.governance.frost import dkg
from subnetsim.governance.proposals import (
    ProposalBook,
    ProposalRefused,
    SignedProposal,
    SigningPolicy,
    check_before_signing,
)
from subnetsim.subnet.chain import BLOCK_SECONDS, Chain, ExtrinsicResult
from subnetsim.subnet.governance_config import CouncilConfig, ResponsePlan
from subnetsim.subnet.governance_gate import SIGNING_KEY
from subnetsim.subnet.rng import numpy_stream

__all__ = ["Council", "CouncilConfig", "CouncilMember", "Enactment", "GroupKey", "ResponsePlan",
           "council_keys", "generate_group_key", "wait_to_land_in"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class GroupKey:
    """One council key: each member's key package and the public package."""

    name: str
    key_packages: Mapping[int, frost.KeyPackage]
    public: frost.PublicKeyPackage


def generate_group_key(name: str, members: int, threshold: int, seed: int) -> GroupKey:
    """Run the three-part DKG among members 1..n, each drawing from its own keyed stream.

    Every party runs in this process; the broadcast and private channels are the dicts below.
    """
    streams = {m: numpy_stream(seed, f"council.dkg.{name}", m) for m in range(1, members + 1)}
    round1 = {m: dkg.part1(m, threshold, members, random_bytes=stream.bytes)
              for m, stream in streams.items()}
    broadcast = {m: package for m, (_, package) in round1.items()}

    def heard_by(member: int) -> list[dkg.Round1Package]:
        return [package for sender, package in broadcast.items() if sender != member]

    round2: dict[int, dkg.Round2Secret] = {}
    private: list[dkg.Round2Package] = []
    for member, (secret, _) in round1.items():
        round2[member], outgoing = dkg.part2(secret, heard_by(member))
        private.extend(outgoing)
    finished = {m: dkg.part3(round2[m], heard_by(m), [p for p in private if p.receiver == m])
                for m in round1}
    public = finished[1][1]
    if any(result[1] != public for result in finished.values()):
        raise frost.ProtocolError(f"council members disagree on the {name} group key")
    return GroupKey(name=name, key_packages={m: result[0] for m, result in finished.items()},
                    public=public)


def council_keys(config: CouncilConfig, seed: int) -> dict[str, GroupKey]:
    """The council's HALT and RESUME group keys of the run of ``seed`` (what every node holds
    from genesis: their public keys)."""
    return {"halt": generate_group_key("halt", config.members, config.halt_threshold, seed),
            "resume": generate_group_key("resume", config.members, config.resume_threshold,
                                         seed)}


def wait_to_land_in(env: simpy.Environment, block: int) -> simpy.Timeout:
    """A timeout to just after block ``block - 1``: what is submitted then lands in ``block``
    (at once if that time has passed)."""
    return env.timeout(max((block - 1 + 0.25) * BLOCK_SECONDS - env.now, 0.0))


class CouncilMember:
    """One member: answers commit and sign requests after checking the proposal itself."""

    def __init__(self, identifier: int, keys: Mapping[str, frost.KeyPackage], behaviour: str,
                 network: CouncilNetwork, policy: SigningPolicy, chain: Chain, seed: int) -> None:
        self.identifier = identifier
        self.keys = dict(keys)
        self.behaviour = behaviour
        self.network = network
        self.policy = policy
        self.chain = chain
        self.stream = numpy_stream(seed, "council.member", identifier)
        self._sessions: dict[int, tuple[bytes, frost.SigningNonces]] = {}

    def serve(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        """SimPy process: handle messages forever (an offline member never starts reading)."""
        if self.behaviour == "offline":
            return
        inbox = self.network.inboxes[self.identifier]
        while True:
            envelope: Envelope = yield inbox.get()
            message = envelope.message
            if isinstance(message, CommitRequest):
                self._reply(self._commit(message))
            elif isinstance(message, SignRequest):
                self._reply(self._sign(message))

    def _reply(self, message: CommitReply | ShareReply | Refusal) -> None:
        self.network.send(self.identifier, COORDINATOR, message)

    def _commit(self, request: CommitRequest) -> CommitReply | Refusal:
        try:
            check_before_signing(request.message, request.key_name, self.chain.block, self.policy)
        except ProposalRefused as refusal:
            return Refusal(session=request.session, reason=str(refusal))
        if self.behaviour == "captured" and request.key_name == "halt":
            return Refusal(session=request.session, reason="captured: will not halt")
        nonces, commitments = frost.commit(self.keys[request.key_name],
                                           random_bytes=self.stream.bytes)
        self._sessions[request.session] = (request.message, nonces)
        return CommitReply(session=request.session, commitments=commitments)

    def _sign(self, request: SignRequest) -> ShareReply | Refusal:
        session = self._sessions.pop(request.session, None)
        if session is None or session[0] != request.package.message:
            # The coordinator may not swap the message between the rounds.
            return Refusal(session=request.session, reason="unknown session or altered message")
        try:
            share = frost.sign(request.package, session[1], self.keys[request.key_name])
        except frost.FrostError as error:
            return Refusal(session=request.session, reason=str(error))
        if self.behaviour == "malicious":
            share = frost.SignatureShare(identifier=share.identifier,
                                         share=frost.add_scalars(share.share, frost.ONE_SCALAR))
        return ShareReply(session=request.session, share=share)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Enactment:
    """One action the council took: its signing and what the chain said."""

    action: str
    requested_at: float
    signing: SigningOutcome
    signed: SignedProposal | None
    submitted_at: float | None
    result: ExtrinsicResult | None

    @property
    def accepted(self) -> bool:
        """Whether the chain applied it."""
        return self.result is not None and self.result.accepted


class Council:
    """The council of one network: keys, members, coordinator and its governing process."""

    def __init__(self, env: simpy.Environment, chain: Chain, config: CouncilConfig,
                 plan: ResponsePlan, network_id: bytes, seed: int,
                 keys: Mapping[str, GroupKey] | None = None) -> None:
        """``keys``: reuse another council's keys (the same people on another network)."""
        self.chain = chain
        self.config = config
        self.plan = plan
        self.keys = dict(keys) if keys is not None else council_keys(config, seed)
        identifiers = range(1, config.members + 1)
        self.network = CouncilNetwork(env, config.links, seed, [COORDINATOR, *identifiers])
        policy = SigningPolicy(network_id=network_id,
                               max_lifetime_blocks=config.max_lifetime_blocks)
        self.members = [
            CouncilMember(m, {name: key.key_packages[m] for name, key in self.keys.items()},
                          config.behaviour_of(m), self.network, policy, chain, seed)
            for m in identifiers]
        self.coordinator = Coordinator(
            self.network, {name: key.public for name, key in self.keys.items()}, identifiers,
            round_timeout_s=config.round_timeout_s, max_attempts=config.max_attempts,
            rng=numpy_stream(seed, "council.coordinator"))
        self.book = ProposalBook(network_id, numpy_stream(seed, "council.proposals"))
        self.alarms = simpy.Store(env)
        self.first_alarm: Any = None
        self.enactments: list[Enactment] = []

    def status(self) -> dict[str, list[dict[str, Any]]]:
        """Members and proposals as the dashboard's Governance panel lists them."""
        last = self.enactments[-1].signing.signers if self.enactments else ()
        members = [{"name": f"member-{m.identifier}", "online": m.behaviour != "offline",
                    "signed": m.identifier in last} for m in self.members]
        proposals = []
        for enactment in self.enactments:
            key = self.keys[SIGNING_KEY[enactment.action]]
            status = ("accepted" if enactment.accepted else "not signed" if enactment.result
                      is None else f"rejected: {enactment.result.error}")
            proposals.append({
                "proposal_id": enactment.signed.proposal.proposal_id if enactment.signed else "-",
                "action": enactment.action,
                "scope": ",".join(enactment.signed.proposal.scopes) if enactment.signed else "-",
                "signatures": len(enactment.signing.signers),
                "threshold": key.public.min_signers, "status": status})
        return {"members": members, "proposals": proposals}

    def start(self, env: simpy.Environment) -> None:
        """Start the members (in identifier order), then the governing process."""
        for member in self.members:
            env.process(member.serve(env))
        env.process(self.govern(env))

    def govern(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        """SimPy process: halt on the first alarm, extend while needed, resume per the plan."""
        plan = self.plan
        self.first_alarm = yield self.alarms.get()
        halt = yield env.process(self.enact(env, "HALT", plan.halt_scopes, plan.halt_blocks))
        if not halt.accepted:
            return
        resume_at = halt.result.block + plan.resume_after_blocks if plan.resume_after_blocks else 0
        expiry = halt.signed.proposal.expiry
        while resume_at:
            if resume_at <= expiry - plan.extend_margin_blocks:
                yield wait_to_land_in(env, resume_at)
                yield env.process(self.enact(env, "RESUME", plan.resume_scopes,
                                             plan.resume_valid_blocks))
                return
            yield wait_to_land_in(env, expiry - plan.extend_margin_blocks)
            extend = yield env.process(self.enact(env, "EXTEND", plan.halt_scopes,
                                                  plan.halt_blocks))
            if not extend.accepted:
                return
            expiry = extend.signed.proposal.expiry

    def sign(self, env: simpy.Environment, action: str, scopes: tuple[str, ...],
             lifetime_blocks: int,
             ) -> Generator[simpy.Event, Any, tuple[SigningOutcome, SignedProposal | None]]:
        """Draft a proposal at the current block and have the council sign it (with retries)."""
        proposal = self.book.draft(action, scopes, self.chain.block, lifetime_blocks)
        message = proposal.encode()
        key = self.keys[SIGNING_KEY[action]]
        outcome = yield from self.coordinator.collect_signature(env, key.name, message)
        if outcome.signature is None:
            return outcome, None
        return outcome, SignedProposal(proposal=proposal, message=message,
                                       signature=outcome.signature,
                                       group_public_key=key.public.group_public_key)

    def enact(self, env: simpy.Environment, action: str, scopes: tuple[str, ...],
              lifetime_blocks: int) -> Generator[simpy.Event, Any, Enactment]:
        """Sign and submit one proposal; record what happened."""
        requested = env.now
        outcome, signed = yield from self.sign(env, action, scopes, lifetime_blocks)
        submitted, result = None, None
        if signed is not None:
            submitted = env.now
            result = yield self.chain.submit(signed.extrinsic(self.plan.relay))
        enactment = Enactment(action=action, requested_at=requested, signing=outcome,
                              signed=signed, submitted_at=submitted, result=result)
        self.enactments.append(enactment)
        return enactment
