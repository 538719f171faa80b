"""Extrinsics: the calls agents submit to the chain, as frozen values.

Names and error codes follow subtensor's pallet (``SettingWeightsTooFast``,
``HotKeyNotRegisteredInSubNet``, ...), so a rejected call in a run log reads like a chain error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AddStake",
    "BrakeVote",
    "CommitTimelockedWeights",
    "CommitWeights",
    "Extrinsic",
    "GovernanceCall",
    "Register",
    "RemoveStake",
    "RevealWeights",
    "SetWeights",
    "SubmitEvidence",
    "SubmitProposal",
    "TriggerEpoch",
    "weights_commit_hash",
]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Register:
    """Burned registration of ``hotkey`` (owned by ``coldkey``) on the subnet."""

    hotkey: str
    coldkey: str
    kind = "register"

    def payload(self) -> Mapping[str, Any]:
        return {"coldkey": self.coldkey}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AddStake:
    """Move ``amount`` TAO from ``coldkey``'s balance to stake on ``hotkey`` (delegation if the
    hotkey belongs to someone else)."""

    hotkey: str
    coldkey: str
    amount: float
    kind = "add_stake"

    def payload(self) -> Mapping[str, Any]:
        return {"coldkey": self.coldkey, "amount": self.amount}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RemoveStake:
    """Withdraw ``amount`` TAO of ``coldkey``'s stake on ``hotkey`` back to its balance."""

    hotkey: str
    coldkey: str
    amount: float
    kind = "remove_stake"

    def payload(self) -> Mapping[str, Any]:
        return {"coldkey": self.coldkey, "amount": self.amount}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SetWeights:
    """Weights of validator ``hotkey`` on ``uids`` (any non-negative scale)."""

    hotkey: str
    uids: tuple[int, ...]
    weights: tuple[float, ...]
    kind = "set_weights"

    def payload(self) -> Mapping[str, Any]:
        return {"uids": list(self.uids), "weights": list(self.weights)}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CommitWeights:
    """A hash commitment to weights that are revealed ``commit_reveal_period`` epochs later."""

    hotkey: str
    commit_hash: str
    kind = "commit_weights"

    def payload(self) -> Mapping[str, Any]:
        return {"commit_hash": self.commit_hash}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CommitTimelockedWeights:
    """Weights sealed until the reveal epoch (subtensor ``commit_timelocked_weights``, CR v4).

    On chain the payload is drand-timelock encrypted and the chain itself reveals it at the
    first block of epoch ``commit epoch + commit_reveal_period``; no reveal call follows. The
    simulation carries the plain weights and opens them only then (nobody reads them before).
    """

    hotkey: str
    uids: tuple[int, ...]
    weights: tuple[float, ...]
    kind = "commit_timelocked_weights"

    def payload(self) -> Mapping[str, Any]:
        # The record shows the sealed call, not its contents: they are secret until the reveal.
        return {"sealed_entries": len(self.uids)}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RevealWeights:
    """Reveal of committed weights: must hash to an earlier commit of the same hotkey."""

    hotkey: str
    uids: tuple[int, ...]
    weights: tuple[float, ...]
    salt: str
    kind = "reveal_weights"

    def payload(self) -> Mapping[str, Any]:
        return {"uids": list(self.uids), "weights": list(self.weights), "salt": self.salt}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SubmitProposal:
    """A council-signed governance proposal (HALT, EXTEND or RESUME), relayed by ``hotkey``.

    ``message`` is the proposal's canonical bytes and ``signature`` the council's Ed25519 group
    signature over them, both lowercase hex (``subnet.governance_gate`` checks them).
    """

    message: str
    signature: str
    hotkey: str = "governance-relay"
    kind = "governance"

    def payload(self) -> Mapping[str, Any]:
        return {"message": self.message, "signature": self.signature}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BrakeVote:
    """Burn ``amount`` TAO of ``coldkey``'s free balance toward the stakeholders' brake."""

    coldkey: str
    amount: float
    kind = "brake_vote"

    @property
    def hotkey(self) -> str:
        """The voter (a coldkey: the brake belongs to stakeholders, not to neurons)."""
        return self.coldkey

    def payload(self) -> Mapping[str, Any]:
        return {"coldkey": self.coldkey, "amount": self.amount}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TriggerEpoch:
    """The subnet owner asks for an epoch ``AdminFreezeWindow`` blocks from now (subtensor
    ``trigger_epoch``, dynamic tempo)."""

    coldkey: str
    kind = "trigger_epoch"

    @property
    def hotkey(self) -> str:
        """The caller (the owner's coldkey: the call is the owner's, not a neuron's)."""
        return self.coldkey

    def payload(self) -> Mapping[str, Any]:
        return {"coldkey": self.coldkey}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SubmitEvidence:
    """Anyone (``hotkey``) accuses the neuron ``accused`` on ``uid`` of serving through a
    serving halt, with its own signed replies (``SignedReply.as_json`` each; checked by
    ``subnet.evidence``)."""

    uid: int
    accused: str
    replies: tuple[Mapping[str, Any], ...]
    hotkey: str = "evidence-watcher"
    kind = "evidence"

    def payload(self) -> Mapping[str, Any]:
        return {"uid": self.uid, "accused": self.accused,
                "replies": [dict(reply) for reply in self.replies]}


GovernanceCall = SubmitProposal | BrakeVote | SubmitEvidence
Extrinsic = (Register | AddStake | RemoveStake | SetWeights | CommitWeights | RevealWeights
             | CommitTimelockedWeights | SubmitProposal | BrakeVote | TriggerEpoch
             | SubmitEvidence)


def weights_commit_hash(hotkey: str, uids: tuple[int, ...], weights: tuple[float, ...],
                        salt: str) -> str:
    """The commitment a validator publishes: it binds its hotkey, so it cannot be replayed
    by another validator (as subtensor's CRv3 binds the hotkey into the payload).

    The hotkey and the salt are length-prefixed text, the uids int64 and the weights float64
    bytes (as subtensor hashes its commit's binary SCALE encoding; printing 192 floats cost
    ~20x more than packing them)."""
    hasher = hashlib.blake2b(digest_size=32)
    for text in (hotkey, salt):
        data = text.encode()
        hasher.update(len(data).to_bytes(8, "little") + data)
    hasher.update(struct.pack("<QQ", len(uids), len(weights)))
    try:
        hasher.update(b"i" + struct.pack(f"<{len(uids)}q", *uids))
    except struct.error:  # not all int64 (a malformed reveal): as text
        hasher.update(b"s" + ",".join(map(str, uids)).encode())
    try:
        hasher.update(struct.pack(f"<{len(weights)}d", *weights))
    except struct.error:  # float() of each, as the chain reads a weight
        hasher.update(struct.pack(f"<{len(weights)}d", *map(float, weights)))
    return hasher.hexdigest()
