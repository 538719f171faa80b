"""What a scenario stages around its council: attacks, the stakeholders' brake, an exit probe.

Each is a SimPy process that submits extrinsics like any other agent and keeps what the chain
answered, so the report can say what got through:

- ``CabalAttack``: validators with large stake switch to weighting only the cabal's own
  miners (the scripted validators' preference is rewritten at the start block).
- ``SybilFlood``: one coldkey registers a burst of hotkeys, pruning honest miners.
- ``ForgedHalt``: HALTs the chain must reject: one signed by a forged key, one genuinely signed
  by the council for its testnet, a tampered copy of the council's HALT, and replays of it.
- ``StakeholderBrake``: if the council has not halted some blocks after the first alarm,
  stakeholders burn TAO to force a halt (the costly brake for a captured council).
- ``ExitProbe``: once a halt is in force, a validator's owner withdraws stake (exits stay open).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Sequence
from typing import Any, Protocol

import numpy as np
import simpy
from nacl.signing import SigningKey

from subnetsim.governance.council import Council, wait_to_land_in
from subnetsim.subnet.chain import BLOCK_SECONDS, Chain, ExtrinsicResult
from subnetsim.subnet.extrinsics import BrakeVote, Extrinsic, Register, RemoveStake, SubmitProposal
from subnetsim.subnet.governance_config import AttackConfig, BrakePlan
from subnetsim.subnet.governance_gate import NONCE_BYTES, Proposal
from subnetsim.subnet.rng import numpy_stream
from subnetsim.subnet.serving import ServingNetwork

__all__ = ["Believer", "CabalAttack", "ExitProbe", "ForgedHalt", "StakeholderBrake",
           "Submission", "SybilFlood"]

ATTACKER = "attacker"
POLL_OFFSET_S = 0.8 * BLOCK_SECONDS  # polls look late in each block gap, after the monitor


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """One extrinsic a drill actor sent, labelled, with the chain's answer."""

    label: str
    kind: str  # the extrinsic's kind
    sent_at: float
    result: ExtrinsicResult


class _Submitter:
    """Keeps every submission and the chain's answer (filled in when its block is made)."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.submissions: list[Submission] = []

    def submit(self, env: simpy.Environment, label: str, extrinsic: Extrinsic) -> None:
        sent_at = env.now
        done = self.chain.submit(extrinsic)
        done.callbacks.append(lambda event: self.submissions.append(
            Submission(label=label, kind=extrinsic.kind, sent_at=sent_at, result=event.value)))


class Believer(Protocol):
    """A validator whose weights follow a preference vector (``validators.scripted``)."""

    uid: int
    belief: np.ndarray


class CabalAttack(_Submitter):
    """From ``start_block``, the cabal's validators weight only the cabal's miners."""

    def __init__(self, config: AttackConfig, chain: Chain, validators: Sequence[Believer]) -> None:
        super().__init__(chain)
        self.config = config
        self.cabal = [v for v in validators if v.uid in config.validators]
        self.attacker_uids = tuple(sorted({*config.validators, *config.miners}))

    def run(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        yield wait_to_land_in(env, self.config.start_block)
        for validator in self.cabal:
            validator.belief[:] = 0.0
            validator.belief[list(self.config.miners)] = 1.0


class SybilFlood(_Submitter):
    """``registrations`` hotkeys, ``per_block`` a block, all paid by one coldkey."""

    def __init__(self, config: AttackConfig, chain: Chain, coldkey: str) -> None:
        super().__init__(chain)
        self.config = config
        self.coldkey = coldkey

    def run(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        config = self.config
        yield wait_to_land_in(env, config.start_block)
        for index in range(config.registrations):
            if index and index % config.per_block == 0:
                yield env.timeout(BLOCK_SECONDS)
            self.submit(env, "register", Register(hotkey=f"sybil-{index}", coldkey=self.coldkey))


class ForgedHalt(_Submitter):
    """Governance calls an attacker can make without the council's keys; all must fail."""

    def __init__(self, config: AttackConfig, chain: Chain, council: Council, testnet: Council,
                 seed: int, serving: ServingNetwork | None = None) -> None:
        super().__init__(chain)
        self.config = config
        self.council = council
        self.testnet = testnet
        self.stream = numpy_stream(seed, "drill.forger")
        self.serving = serving

    def submit(self, env: simpy.Environment, label: str, extrinsic: Extrinsic) -> None:
        """Send it to the chain, and gossip it straight to the nodes from the attacker's own
        node (each node must refuse it itself)."""
        super().submit(env, label, extrinsic)
        if self.serving is not None and isinstance(extrinsic, SubmitProposal):
            self.serving.inject(bytes.fromhex(extrinsic.message),
                                bytes.fromhex(extrinsic.signature), env.now)

    def run(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        start = self.config.start_block
        yield wait_to_land_in(env, start)
        self.submit(env, "forged key", self._forged())
        # The same council also governs a testnet: its genuine HALT there must not work here.
        _, signed = yield from self.testnet.sign(env, "HALT", ("all",), 100)
        if signed is not None:
            yield wait_to_land_in(env, start + 1)
            self.submit(env, "testnet halt", signed.extrinsic(ATTACKER))
        for block in self.config.replay_blocks:
            yield wait_to_land_in(env, block)
            halts = [e.signed for e in self.council.enactments if e.accepted and e.signed
                     and e.action == "HALT"]
            if not halts:
                continue
            original = halts[0].extrinsic(ATTACKER)
            self.submit(env, "replayed halt", original)
            self.submit(env, "tampered halt", _tampered(original))

    def _forged(self) -> SubmitProposal:
        """A well-formed HALT for this network, signed by a key the chain never registered."""
        gate = self.chain.governance
        proposal = Proposal(network_id=gate.network_id if gate else bytes(32), action="HALT",
                            scopes=("all",), proposal_id=666,
                            nonce=self.stream.bytes(NONCE_BYTES), block=self.chain.block,
                            expiry=self.chain.block + 100)
        message = proposal.encode()
        signature = SigningKey(self.stream.bytes(32)).sign(message).signature
        return SubmitProposal(message=message.hex(), signature=signature.hex(), hotkey=ATTACKER)


def _tampered(original: SubmitProposal) -> SubmitProposal:
    """The council's HALT turned into a RESUME, keeping the HALT's signature."""
    message = bytes.fromhex(original.message).replace(b"action=HALT", b"action=RESUME")
    return dataclasses.replace(original, message=message.hex())


class StakeholderBrake(_Submitter):
    """Stakeholders burn TAO toward the brake if no halt follows the first alarm in time."""

    def __init__(self, plan: BrakePlan, chain: Chain, council: Council,
                 coldkeys: Sequence[str]) -> None:
        super().__init__(chain)
        self.plan = plan
        self.council = council
        self.coldkeys = coldkeys

    def run(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        plan = self.plan
        if not plan.voters or plan.amount <= 0:
            return
        yield env.timeout(POLL_OFFSET_S)
        while self.council.first_alarm is None:
            yield env.timeout(BLOCK_SECONDS)
        yield wait_to_land_in(env, self.council.first_alarm.block + plan.after_blocks)
        if self.chain.ledger.halted_scopes:
            return
        for uid in plan.voters:
            self.submit(env, "brake vote", BrakeVote(coldkey=self.coldkeys[uid],
                                                     amount=plan.amount))


class ExitProbe(_Submitter):
    """Once a halt is in force, ``coldkey`` withdraws ``amount`` of its stake on ``hotkey``."""

    def __init__(self, chain: Chain, hotkey: str, coldkey: str, amount: float) -> None:
        super().__init__(chain)
        self.hotkey, self.coldkey, self.amount = hotkey, coldkey, amount

    def run(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(POLL_OFFSET_S)
        while not self.chain.ledger.halted_scopes:
            yield env.timeout(BLOCK_SECONDS)
        self.submit(env, "exit during halt", RemoveStake(hotkey=self.hotkey,
                                                         coldkey=self.coldkey,
                                                         amount=self.amount))
