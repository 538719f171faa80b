"""The chain side of the governance kill switch: proposal bytes and the rules that admit them.

A proposal (HALT, EXTEND or RESUME) is a canonical, domain-separated ASCII line that names the
network it is for (the genesis hash), the action, the scopes, a proposal id, a nonce, the block
it was issued at and its expiry (``reference/frost.md`` pitfall 9)::

    subnetsim-governance/v1|network=<64 hex>|action=HALT|scope=emissions,weights|proposal=7|
    nonce=<32 hex>|block=120|expiry=220

The council signs these bytes with FROST; the group signature is a plain Ed25519 signature, so
the chain checks it with PyNaCl's standard verifier against one registered key: the HALT key for
HALT and EXTEND, the RESUME key (a higher threshold) for RESUME. The gate admits a proposal only
for this network, with a valid signature, inside ``[block, expiry)``, with an unused nonce.

Halts are bounded: a HALT or EXTEND halts its scopes until its expiry, so a halt ends by itself
unless a fresh signature extends it (Bittensor safe mode's ``EnteredUntil``). RESUME may lift
some scopes only (a staged reopening). Governance calls are never halted, and staking exits stay
open (the ledger's rule). A last-resort brake lets stakeholders force a halt by burning TAO
(MakerDAO's ESM); a RESUME cannot lift it before it ends, so a captured council cannot undo it.

This module is the only place the encoding lives: ``governance.proposals`` builds on it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Collection, Iterable
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from subnetsim.subnet.config import param
from subnetsim.subnet.errors import ExtrinsicError, SubnetSimError
from subnetsim.subnet.evidence import EvidenceRules, admit_evidence
from subnetsim.subnet.extrinsics import BrakeVote, SubmitEvidence, SubmitProposal
from subnetsim.subnet.ledger import SCOPES, Ledger

__all__ = [
    "ACTIONS", "ALL_SCOPES", "DOMAIN", "SIGNING_KEY", "Admission", "GateRules", "GovernanceGate",
    "HaltState", "Proposal", "ProposalError", "check_proposal", "check_scopes", "decode_proposal",
    "expand_scopes",
    "genesis_hash", "next_halt_state",
]

DOMAIN = "subnetsim-governance/v1"
ACTIONS = ("HALT", "EXTEND", "RESUME")
ALL_SCOPES = (*SCOPES, "all")
SIGNING_KEY = {"HALT": "halt", "EXTEND": "halt", "RESUME": "resume"}  # which group key signs
NETWORK_ID_BYTES = 32
NONCE_BYTES = 16
SIGNATURE_BYTES = 64
MAX_MESSAGE_BYTES = 512
U64_MAX = 2**64 - 1
_FIELDS = ("network", "action", "scope", "proposal", "nonce", "block", "expiry")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_HEX = re.compile(r"(?:[0-9a-f]{2})*")


class ProposalError(SubnetSimError):
    """A proposal's fields or bytes are not a valid canonical proposal."""


# ------------------------------------------------------------------------------- proposals


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Proposal:
    """A governance proposal; ``encode()`` gives the exact bytes the council signs.

    Attributes:
        network_id: genesis hash of the network it is for (32 bytes).
        action: HALT, EXTEND or RESUME.
        scopes: sorted scope names (``all`` only on its own).
        proposal_id: the council's running number (u64).
        nonce: 16 random bytes; the chain accepts each nonce once.
        block: block the proposal was issued at; it is not valid before.
        expiry: first block at which it is no longer valid; a HALT or EXTEND halts until then.
    """

    network_id: bytes
    action: str
    scopes: tuple[str, ...]
    proposal_id: int
    nonce: bytes
    block: int
    expiry: int

    def __post_init__(self) -> None:
        if not isinstance(self.network_id, bytes) or len(self.network_id) != NETWORK_ID_BYTES:
            raise ProposalError(f"network id must be {NETWORK_ID_BYTES} bytes")
        if self.action not in ACTIONS:
            raise ProposalError(f"action {self.action!r} is not one of {', '.join(ACTIONS)}")
        check_scopes(self.scopes)
        if not isinstance(self.nonce, bytes) or len(self.nonce) != NONCE_BYTES:
            raise ProposalError(f"nonce must be {NONCE_BYTES} bytes")
        for name in ("proposal_id", "block", "expiry"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U64_MAX:
                raise ProposalError(f"{name} must be an integer in [0, 2^64 - 1], got {value!r}")
        if self.expiry <= self.block:
            raise ProposalError(f"expiry {self.expiry} must be after block {self.block}")

    def encode(self) -> bytes:
        """The canonical bytes (ASCII), the message the council signs."""
        values = (self.network_id.hex(), self.action, ",".join(self.scopes),
                  str(self.proposal_id), self.nonce.hex(), str(self.block), str(self.expiry))
        return "|".join([DOMAIN, *(f"{key}={value}" for key, value in zip(_FIELDS, values,
                                                                           strict=True))]).encode()


def check_scopes(scopes: tuple[str, ...]) -> None:
    """Scopes as a proposal holds them: known, sorted, distinct, ``all`` alone."""
    if not isinstance(scopes, tuple) or not scopes:
        raise ProposalError("scopes must be a non-empty tuple")
    unknown = [scope for scope in scopes if scope not in ALL_SCOPES]
    if unknown:
        raise ProposalError(f"unknown scope {unknown[0]!r} (known: {', '.join(ALL_SCOPES)})")
    if list(scopes) != sorted(set(scopes)):
        raise ProposalError("scopes must be sorted and distinct")
    if "all" in scopes and len(scopes) > 1:
        raise ProposalError("scope 'all' stands alone")


def _decimal(text: str, name: str) -> int:
    if not _DECIMAL.fullmatch(text) or int(text) > U64_MAX:
        raise ProposalError(f"{name} is not a canonical u64 decimal")
    return int(text)


def _hex_bytes(text: str, name: str, size: int) -> bytes:
    if not _HEX.fullmatch(text) or len(text) != 2 * size:
        raise ProposalError(f"{name} must be {size} bytes of lowercase hex")
    return bytes.fromhex(text)


def decode_proposal(message: bytes) -> Proposal:
    """Parse canonical proposal bytes; anything else (other order, spacing, case) is refused.

    Raises:
        ProposalError: naming the first field that is wrong.
    """
    if not isinstance(message, bytes) or len(message) > MAX_MESSAGE_BYTES:
        raise ProposalError(f"a proposal is at most {MAX_MESSAGE_BYTES} bytes")
    try:
        parts = message.decode("ascii").split("|")
    except UnicodeDecodeError:
        raise ProposalError("a proposal is ASCII") from None
    if len(parts) != len(_FIELDS) + 1 or parts[0] != DOMAIN:
        raise ProposalError(f"not a {DOMAIN} proposal")
    values: dict[str, str] = {}
    for key, part in zip(_FIELDS, parts[1:], strict=True):
        name, sep, value = part.partition("=")
        if name != key or not sep:
            raise ProposalError(f"expected field {key!r}, got {part[:40]!r}")
        values[key] = value
    proposal = Proposal(
        network_id=_hex_bytes(values["network"], "network", NETWORK_ID_BYTES),
        action=values["action"], scopes=tuple(values["scope"].split(",")),
        proposal_id=_decimal(values["proposal"], "proposal"),
        nonce=_hex_bytes(values["nonce"], "nonce", NONCE_BYTES),
        block=_decimal(values["block"], "block"), expiry=_decimal(values["expiry"], "expiry"))
    if proposal.encode() != message:  # every field is canonical already; this pins it
        raise ProposalError("not in canonical form")
    return proposal


def expand_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The concrete scopes named (``all`` is every scope)."""
    names = frozenset(scopes)
    return frozenset(SCOPES) if "all" in names else names


def genesis_hash(ledger: Ledger, netuid: int) -> bytes:
    """The network id: a hash of the genesis state and the subnet id (take it at block 0)."""
    hasher = hashlib.blake2b(digest_size=NETWORK_ID_BYTES, person=b"subnetsim-gen")
    hasher.update(netuid.to_bytes(8, "little"))
    hasher.update(bytes.fromhex(ledger.state_root()))
    return hasher.digest()


def check_proposal(message: bytes, signature: bytes, *, network_id: bytes,
                   keys: dict[str, VerifyKey], block: int, used_nonces: Collection[bytes],
                   max_halt_blocks: int) -> Proposal:
    """Every check a proposal must pass at ``block``, in order; changes nothing. The chain's
    gate and every node that verifies a HALT itself (``subnet.serving``) call this.

    Raises:
        ExtrinsicError: MalformedProposal, WrongNetwork, BadProposalSignature,
            ProposalNotYetValid, ProposalExpired, ProposalReplayed or HaltTooLong.
    """
    try:
        proposal = decode_proposal(message)
    except ProposalError as error:
        raise ExtrinsicError("MalformedProposal", str(error)) from None
    if proposal.network_id != network_id:
        raise ExtrinsicError("WrongNetwork", proposal.network_id.hex()[:16])
    key = keys[SIGNING_KEY[proposal.action]]
    try:
        key.verify(message, signature)
    except BadSignatureError:
        raise ExtrinsicError("BadProposalSignature",
                             f"not signed by the {SIGNING_KEY[proposal.action]} key") from None
    if block < proposal.block:
        raise ExtrinsicError("ProposalNotYetValid", f"valid from block {proposal.block}")
    if block >= proposal.expiry:
        raise ExtrinsicError("ProposalExpired", f"expired at block {proposal.expiry}")
    if proposal.nonce in used_nonces:
        raise ExtrinsicError("ProposalReplayed", f"nonce {proposal.nonce.hex()} was used")
    if proposal.expiry - proposal.block > max_halt_blocks:
        raise ExtrinsicError("HaltTooLong", f"longer than {max_halt_blocks} blocks")
    return proposal


# ----------------------------------------------------------------------------- halt state


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HaltState:
    """What the chain's halt becomes: no scopes means no halt."""

    scopes: tuple[str, ...]
    until_block: int | None


def _state(scopes: frozenset[str], until_block: int | None) -> HaltState:
    if not scopes:
        return HaltState(scopes=(), until_block=None)
    named = ("all",) if scopes == frozenset(SCOPES) else tuple(sorted(scopes))
    return HaltState(scopes=named, until_block=until_block)


def _later_end(current: frozenset[str], halt_until: int | None, end: int) -> int | None:
    """When a halt ends after another one joins it: never shortened (None: no end)."""
    if not current:
        return end
    return None if halt_until is None else max(halt_until, end)


def next_halt_state(proposal: Proposal, halted: frozenset[str], halt_until: int | None,
                    block: int, locked_until: int | None = None) -> HaltState:
    """The halt after ``proposal`` is applied at ``block`` (pure; the signature is checked).

    Args:
        halted: the scopes halted now (``all`` allowed).
        halt_until: when the current halt ends (None: no end set).
        locked_until: a stakeholder brake's halt cannot be resumed before this block.

    Raises:
        ExtrinsicError: NotHalted, ExtendScopeMismatch or HaltLockedByBrake.
    """
    current, named = expand_scopes(halted), expand_scopes(proposal.scopes)
    if proposal.action == "HALT":
        return _state(current | named, _later_end(current, halt_until, proposal.expiry))
    if not current:
        raise ExtrinsicError("NotHalted", f"nothing to {proposal.action.lower()}")
    if proposal.action == "EXTEND":
        if not named <= current:
            raise ExtrinsicError("ExtendScopeMismatch", f"halted: {sorted(current)}")
        until = None if halt_until is None else max(halt_until, proposal.expiry)
        return _state(current, until)
    if locked_until is not None and block < locked_until:
        raise ExtrinsicError("HaltLockedByBrake", f"the brake holds until block {locked_until}")
    return _state(current - named, halt_until)


# ----------------------------------------------------------------------------------- gate


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GateRules:
    """Limits the chain puts on governance."""

    max_halt_blocks: int = param(7200, 1, 10_000_000,
                                 "longest a proposal may be valid (and halt): safe mode's 24 h")
    brake_fraction: float = param(0.0, 0.0, 1.0, "share of total stake stakeholders must burn "
                                  "to force a halt; 0 disables the brake")
    brake_halt_blocks: int = param(7200, 1, 10_000_000, "how long a brake halt lasts")
    brake_scopes: tuple[str, ...] = ("all",)

    def __post_init__(self) -> None:
        try:
            check_scopes(self.brake_scopes)
        except ProposalError as error:
            from subnetsim.subnet.errors import ConfigError

            raise ConfigError("brake_scopes", self.brake_scopes, str(error)) from None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Admission:
    """The gate's answer to an accepted governance call: facts to log, and the new halt (None:
    unchanged)."""

    facts: dict[str, Any]
    halt: HaltState | None


class GovernanceGate:
    """Admits governance calls for one network; owned and driven by the chain's block process.

    State: the nonces already used, the proposals accepted (the audit log), the brake's
    deposits, the serving halts (block ranges) and the hotkeys penalised on evidence
    (``subnet.evidence``). The keys are registered once, at genesis; ``public_key_of`` gives a
    hotkey's registered Ed25519 key (evidence is refused without it).
    """

    def __init__(self, *, network_id: bytes, halt_key: bytes, resume_key: bytes,
                 rules: GateRules | None = None, evidence: EvidenceRules | None = None,
                 public_key_of: Callable[[str], bytes | None] | None = None) -> None:
        if len(network_id) != NETWORK_ID_BYTES:
            raise ProposalError(f"network id must be {NETWORK_ID_BYTES} bytes")
        self.network_id = network_id
        self.keys = {"halt": VerifyKey(halt_key), "resume": VerifyKey(resume_key)}
        self.rules = rules or GateRules()
        self.evidence = evidence or EvidenceRules()
        self.public_key_of = public_key_of or (lambda hotkey: None)
        self.used_nonces: set[bytes] = set()
        self.accepted: list[Proposal] = []
        self.brake_deposits: dict[str, float] = {}
        self.brake_locked_until: int | None = None
        self.serving_halts: list[tuple[int, int | None]] = []  # [start, end) blocks
        self.penalised: set[str] = set()

    def state(self) -> dict[str, Any]:
        """Everything that changes during a run, as plain data (for checkpoints): the spent
        nonces, the accepted proposals (their signed messages), the brake's deposits, the
        serving halts and the penalised hotkeys."""
        return {"used_nonces": sorted(nonce.hex() for nonce in self.used_nonces),
                "accepted": [proposal.encode().decode() for proposal in self.accepted],
                "brake_deposits": dict(sorted(self.brake_deposits.items())),
                "brake_locked_until": self.brake_locked_until,
                "serving_halts": [list(halt) for halt in self.serving_halts],
                "penalised": sorted(self.penalised)}

    def restore(self, state: dict[str, Any]) -> None:
        """Inverse of ``state``: a replayed proposal stays refused after a resume."""
        self.used_nonces = {bytes.fromhex(text) for text in state["used_nonces"]}
        self.accepted = [decode_proposal(text.encode()) for text in state["accepted"]]
        self.brake_deposits = {str(k): float(v) for k, v in state["brake_deposits"].items()}
        locked = state["brake_locked_until"]
        self.brake_locked_until = None if locked is None else int(locked)
        self.serving_halts = [(int(start), None if end is None else int(end))
                              for start, end in state.get("serving_halts", [])]
        self.penalised = set(state.get("penalised", []))

    def track_serving(self, block: int, halted_scopes: frozenset[str]) -> None:
        """After each block: open or close the serving halt the evidence rule refers to."""
        # A brake halt carries no council signature, so no node stops serving for it: it opens
        # no serving halt that evidence could point to.
        braked = self.brake_locked_until is not None and block < self.brake_locked_until
        halted = "serving" in expand_scopes(halted_scopes) and not braked
        open_halt = bool(self.serving_halts) and self.serving_halts[-1][1] is None
        if halted and not open_halt:
            self.serving_halts.append((block, None))
        elif open_halt and not halted:
            self.serving_halts[-1] = (self.serving_halts[-1][0], block)

    def check(self, message: bytes, signature: bytes, block: int) -> Proposal:
        """Every check a proposal must pass at ``block`` (``check_proposal``); changes nothing.

        Raises:
            ExtrinsicError: the first rule the proposal breaks.
        """
        return check_proposal(message, signature, network_id=self.network_id, keys=self.keys,
                              block=block, used_nonces=self.used_nonces,
                              max_halt_blocks=self.rules.max_halt_blocks)

    def admit(self, call: SubmitProposal | BrakeVote | SubmitEvidence, ledger: Ledger,
              halt_until: int | None, block: int) -> Admission:
        """Check and record one governance call at ``block``; the chain applies the halt.

        Raises:
            ExtrinsicError: the rule that rejects it; nothing is recorded then.
        """
        if isinstance(call, BrakeVote):
            return self._admit_brake_vote(call, ledger, halt_until, block)
        if isinstance(call, SubmitEvidence):
            facts = admit_evidence(call, ledger, halts=self.serving_halts, rules=self.evidence,
                                   public_key_of=self.public_key_of, penalised=self.penalised)
            return Admission(facts=facts, halt=None)
        message = _payload_bytes(call.message, "message", None)
        signature = _payload_bytes(call.signature, "signature", SIGNATURE_BYTES)
        proposal = self.check(message, signature, block)
        halt = next_halt_state(proposal, ledger.halted_scopes, halt_until, block,
                               self.brake_locked_until)
        self.used_nonces.add(proposal.nonce)
        self.accepted.append(proposal)
        facts = {"action": proposal.action, "scopes": list(proposal.scopes),
                 "proposal_id": proposal.proposal_id, "expiry": proposal.expiry}
        return Admission(facts=facts, halt=halt)

    def _admit_brake_vote(self, call: BrakeVote, ledger: Ledger, halt_until: int | None,
                          block: int) -> Admission:
        """Burn the voter's TAO toward the brake; fire it once the deposits reach the bar."""
        rules = self.rules
        if rules.brake_fraction <= 0:
            raise ExtrinsicError("BrakeDisabled")
        if not call.amount > 0:
            raise ExtrinsicError("AmountTooLow", f"{call.amount}")
        if ledger.balances.get(call.coldkey, 0.0) < call.amount:
            raise ExtrinsicError("NotEnoughBalance", call.coldkey)
        # The deposit is destroyed, as ESM deposits are: the cost is what keeps the brake rare.
        ledger.balances[call.coldkey] -= call.amount
        ledger.burned += call.amount
        self.brake_deposits[call.coldkey] = self.brake_deposits.get(call.coldkey, 0.0) + call.amount
        deposited = sum(self.brake_deposits.values())
        needed = rules.brake_fraction * ledger.total_stake()
        facts: dict[str, Any] = {"deposited": deposited, "needed": needed, "fired": False}
        if deposited < needed:
            return Admission(facts=facts, halt=None)
        end = block + rules.brake_halt_blocks
        self.brake_deposits.clear()
        self.brake_locked_until = end
        current = expand_scopes(ledger.halted_scopes)
        facts["fired"] = True
        return Admission(facts=facts, halt=_state(current | expand_scopes(rules.brake_scopes),
                                                  _later_end(current, halt_until, end)))


def _payload_bytes(text: object, name: str, size: int | None) -> bytes:
    """Hex from an extrinsic payload, strictly (lowercase, even length, right size)."""
    if not isinstance(text, str) or len(text) > 2 * MAX_MESSAGE_BYTES or not _HEX.fullmatch(text):
        raise ExtrinsicError("MalformedProposal", f"{name} must be lowercase hex")
    if size is not None and len(text) != 2 * size:
        raise ExtrinsicError("MalformedProposal", f"{name} must be {size} bytes")
    return bytes.fromhex(text)
