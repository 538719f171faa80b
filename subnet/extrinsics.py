"""Extrinsics: the calls agents submit to the chain, as frozen values.

Names and error codes follow subtensor's pallet (``SettingWeightsTooFast``,
``HotKeyNotRegisteredInSubNet``, ...), so a rejected call in a run log reads like a chain error.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AddStake",
    "CommitWeights",
    "Extrinsic",
    "Register",
    "RemoveStake",
    "RevealWeights",
    "SetWeights",
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
class RevealWeights:
    """Reveal of committed weights: must hash to an earlier commit of the same hotkey."""

    hotkey: str
    uids: tuple[int, ...]
    weights: tuple[float, ...]
    salt: str
    kind = "reveal_weights"

    def payload(self) -> Mapping[str, Any]:
        return {"uids": list(self.uids), "weights": list(self.weights), "salt": self.salt}


Extrinsic = Register | AddStake | RemoveStake | SetWeights | CommitWeights | RevealWeights


def weights_commit_hash(hotkey: str, uids: tuple[int, ...], weights: tuple[float, ...],
                        salt: str) -> str:
    """The commitment a validator publishes: it binds its hotkey, so it cannot be replayed
    by another validator (as subtensor's CRv3 binds the hotkey into the payload)."""
    text = f"{hotkey}|{','.join(map(str, uids))}|{','.join(repr(float(w)) for w in weights)}|{salt}"
    return hashlib.blake2b(text.encode(), digest_size=32).hexdigest()
