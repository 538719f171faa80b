"""Frozen records the chain emits, and the canonical hashing that chains them together.

A run's audit trail is a hash chain: every block's hash covers its number, its parent's hash,
the hash of its extrinsics (accepted and rejected, in order) and the state root after it. The
run digest is the head block's hash. ``subnetsim verify`` recomputes all of it from the store.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "BlockRecord",
    "EpochRecord",
    "EventRecord",
    "ExtrinsicRecord",
    "GENESIS_PARENT",
    "block_hash",
    "canonical_json",
    "contents_hash",
    "digest",
    "extrinsics_hash",
]

GENESIS_PARENT = "0" * 64


def canonical_json(value: Any) -> str:
    """One byte-exact JSON text per value: sorted keys, no spaces, floats as repr."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def digest(*parts: bytes | str) -> str:
    """BLAKE2b-256 over length-prefixed parts, hex."""
    hasher = hashlib.blake2b(digest_size=32)
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ExtrinsicRecord:
    """One submitted extrinsic and its outcome.

    Attributes:
        block: block that included it.
        index: position within the block.
        kind: ``register``, ``add_stake``, ``remove_stake``, ``set_weights``, ``commit_weights``,
            ``reveal_weights``, ``governance``...
        hotkey: the signing hotkey.
        payload: the call's arguments as plain JSON data.
        accepted: whether the chain applied it.
        error: the chain error code when rejected (e.g. ``SettingWeightsTooFast``).
    """

    block: int
    index: int
    kind: str
    hotkey: str
    payload: Mapping[str, Any]
    accepted: bool
    error: str | None = None

    def canonical(self) -> str:
        """The exact text that is hashed and stored."""
        return canonical_json(
            {"kind": self.kind, "hotkey": self.hotkey, "payload": self.payload,
             "accepted": self.accepted, "error": self.error, "index": self.index}
        )


def extrinsics_hash(extrinsics: Iterable[ExtrinsicRecord]) -> str:
    """Hash of a block's extrinsics in inclusion order."""
    return digest("extrinsics", *(extrinsic.canonical() for extrinsic in extrinsics))


def block_hash(number: int, time: float, parent_hash: str, extrinsics_digest: str,
               contents_digest: str, state_root: str) -> str:
    """The block's own hash; it commits to its parent, so the chain of hashes is the audit.

    ``contents_digest`` covers the block's events and epoch record (``contents_hash``), so an
    edited event or epoch row breaks the chain too, not only an edited extrinsic.
    """
    return digest("block", str(number), repr(float(time)), parent_hash, extrinsics_digest,
                  contents_digest, state_root)


def contents_hash(events: Iterable[EventRecord], epoch: EpochRecord | None) -> str:
    """Hash of what a block recorded besides its extrinsics: events in order and its epoch."""
    parts = [canonical_json({"kind": e.kind, "data": e.data}) for e in events]
    if epoch is not None:
        parts.append(canonical_json({"index": epoch.index, "inputs": epoch.inputs,
                                     "params": epoch.params, "outputs": epoch.outputs}))
    return digest("contents", *parts)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BlockRecord:
    """A produced block; ``hash`` is ``block_hash`` of its fields and of ``contents_hash`` of its
    events and epoch record (those live in their own tables)."""

    number: int
    time: float  # simulated seconds
    parent_hash: str
    extrinsics_hash: str
    state_root: str
    hash: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EventRecord:
    """Something that happened: registration, pruning, halt, alarm, ... with plain data."""

    block: int
    kind: str
    data: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EpochRecord:
    """One epoch: the exact inputs it was computed from and its per-uid outputs.

    ``inputs`` and ``params`` are plain JSON data (lists), enough to recompute the epoch with
    ``subnetsim.subnet.yuma.epoch``; ``outputs`` holds uid-indexed lists (incentive, dividends,
    consensus, validator_trust, emission, stake, ...).
    """

    block: int
    index: int
    inputs: Mapping[str, Any]
    params: Mapping[str, Any]
    outputs: Mapping[str, Any]
