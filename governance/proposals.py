"""Governance proposals on the council's side: drafting them, and what a signer checks first.

The encoding and the chain's rules live in ``subnet.governance_gate``; this module builds on it.
A council drafts a proposal with a fresh nonce from its keyed stream, every signer decodes the
canonical bytes itself and refuses anything it would not stand behind (wrong network, an action
the key is not for, a scope outside policy, an expired or over-long proposal), so no signer is
a blind signing oracle (the Bybit and Radiant failures, ``reference/killswitch.md``). The signed
result carries everything a third party needs to verify it with a stock Ed25519 verifier.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from subnetsim.subnet.errors import SubnetSimError
from subnetsim.subnet.extrinsics import SubmitProposal
from subnetsim.subnet.governance_gate import (
    ACTIONS,
    ALL_SCOPES,
    NONCE_BYTES,
    SIGNING_KEY,
    Proposal,
    ProposalError,
    decode_proposal,
)

__all__ = ["ProposalBook", "ProposalRefused", "SignedProposal", "SigningPolicy",
           "check_before_signing"]


class ProposalRefused(SubnetSimError):
    """A council member will not sign a proposal; the message says why."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SigningPolicy:
    """What an honest member agrees to sign."""

    network_id: bytes
    allowed_scopes: tuple[str, ...] = ALL_SCOPES
    max_lifetime_blocks: int = 7200


def check_before_signing(message: bytes, key_name: str, current_block: int,
                         policy: SigningPolicy) -> Proposal:
    """Decode ``message`` and check it as a member must before signing with ``key_name``.

    Raises:
        ProposalRefused: naming the first reason to refuse.
    """
    try:
        proposal = decode_proposal(message)
    except ProposalError as error:
        raise ProposalRefused(f"malformed proposal: {error}") from None
    if proposal.network_id != policy.network_id:
        raise ProposalRefused("proposal is for another network")
    if SIGNING_KEY[proposal.action] != key_name:
        raise ProposalRefused(f"{proposal.action} is not signed with the {key_name} key")
    outside = [scope for scope in proposal.scopes if scope not in policy.allowed_scopes]
    if outside:
        raise ProposalRefused(f"scope {outside[0]} is outside the council's policy")
    if proposal.block > current_block or proposal.expiry <= current_block:
        raise ProposalRefused(f"not valid at block {current_block}")
    if proposal.expiry - proposal.block > policy.max_lifetime_blocks:
        raise ProposalRefused(f"lifetime over {policy.max_lifetime_blocks} blocks")
    return proposal


class ProposalBook:
    """Numbers a council's proposals and draws their nonces from its keyed stream."""

    def __init__(self, network_id: bytes, rng: np.random.Generator) -> None:
        self.network_id = network_id
        self.rng = rng
        self.next_id = 1

    def draft(self, action: str, scopes: tuple[str, ...], block: int,
              lifetime_blocks: int) -> Proposal:
        """A new proposal issued at ``block`` and valid for ``lifetime_blocks``."""
        if action not in ACTIONS:
            raise ProposalError(f"unknown action {action!r}")
        proposal = Proposal(network_id=self.network_id, action=action,
                            scopes=tuple(sorted(set(scopes))), proposal_id=self.next_id,
                            nonce=self.rng.bytes(NONCE_BYTES), block=block,
                            expiry=block + lifetime_blocks)
        self.next_id += 1
        return proposal


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SignedProposal:
    """A proposal with the council's group signature: what goes on chain and in reports."""

    proposal: Proposal
    message: bytes
    signature: bytes
    group_public_key: bytes

    def extrinsic(self, relay: str = "governance-relay") -> SubmitProposal:
        """The extrinsic that submits it (anyone may relay a signed proposal)."""
        return SubmitProposal(message=self.message.hex(), signature=self.signature.hex(),
                              hotkey=relay)

    def as_json(self) -> dict[str, Any]:
        """Hex fields for a standard Ed25519 verifier, and the decoded proposal."""
        proposal = self.proposal
        return {
            "message_hex": self.message.hex(),
            "group_public_key_hex": self.group_public_key.hex(),
            "signature_hex": self.signature.hex(),
            "message": self.message.decode("ascii"),
            "action": proposal.action, "scopes": list(proposal.scopes),
            "proposal_id": proposal.proposal_id, "block": proposal.block,
            "expiry": proposal.expiry,
        }
