"""Frozen records the chain emits, and the canonical hashing that chains them together.

A run's audit trail is a hash chain: every block's hash covers its number, its parent's hash,
the hash of its extrinsics (accepted and rejected, in order) and the state root after it. The
run digest is the head block's hash. ``subnetsim verify`` recomputes all of it from the store.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import struct
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from subnetsim.subnet.canonical import canonical_bytes
from subnetsim.subnet.config import ARITHMETICS, U16_MAX
from subnetsim.subnet.emission import EpochPayout, PendingEmission
from subnetsim.subnet.yuma import EpochInputs, EpochOutputs, YumaParams, active_mask

__all__ = [
    "EPOCH_RESULT_FIELDS",
    "BlockRecord",
    "EpochRecord",
    "EventRecord",
    "ExtrinsicRecord",
    "GENESIS_PARENT",
    "block_hash",
    "canonical_json",
    "contents_hash",
    "digest",
    "epoch_from_data",
    "epoch_inputs_from_data",
    "epoch_inputs_to_data",
    "epoch_to_data",
    "extrinsics_hash",
    "run_commitment",
]

GENESIS_PARENT = "0" * 64  # the head of a run that has produced no block yet (no commitment)


def canonical_json(value: Any) -> str:
    """One byte-exact JSON text per value: sorted keys, no spaces, floats as repr (what the
    run store keeps; hashes of records use ``canonical_bytes``, which is faster on numbers)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def digest(*parts: bytes | str) -> str:
    """BLAKE2b-256 over length-prefixed parts, hex."""
    chunks: list[bytes] = []
    for part in parts:  # every block hashes a few of these: kept to plain appends
        data = part.encode() if isinstance(part, str) else part
        chunks.append(_LENGTH(len(data)))
        chunks.append(data)
    return hashlib.blake2b(b"".join(chunks), digest_size=32).hexdigest()


_LENGTH = struct.Struct("<Q").pack  # a part's length prefix: 8 bytes, little-endian


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

    def canonical(self) -> bytes:
        """The exact bytes that are hashed (``canonical_bytes``: the same for the record the
        chain made and for the one read back from the run store's JSON)."""
        return canonical_bytes(
            {"kind": self.kind, "hotkey": self.hotkey, "payload": self.payload,
             "accepted": self.accepted, "error": self.error, "index": self.index}
        )


def extrinsics_hash(extrinsics: Iterable[ExtrinsicRecord]) -> str:
    """Hash of a block's extrinsics in inclusion order."""
    parts = [extrinsic.canonical() for extrinsic in extrinsics]
    return digest("extrinsics", *parts) if parts else _NO_EXTRINSICS


def block_hash(number: int, time: float, parent_hash: str, extrinsics_digest: str,
               contents_digest: str, state_root: str) -> str:
    """The block's own hash; it commits to its parent, so the chain of hashes is the audit.

    ``contents_digest`` covers the block's events and epoch record (``contents_hash``), so an
    edited event or epoch row breaks the chain too, not only an edited extrinsic.
    """
    return digest("block", str(number), repr(float(time)), parent_hash, extrinsics_digest,
                  contents_digest, state_root)


def run_commitment(config_json: str, seed: int, scenario_name: str, code_version: str) -> str:
    """Block 1's parent hash: it commits the chain to what the run was started from (the
    canonical scenario JSON as stored, the seed, the scenario's name and the code version), so
    an edited run row no longer matches its blocks."""
    return digest("run", config_json, str(int(seed)), scenario_name, code_version)


def contents_hash(events: Iterable[EventRecord], epoch: EpochRecord | None) -> str:
    """Hash of what a block recorded besides its extrinsics: events in order and its epoch
    (``canonical_bytes`` of each, as for extrinsics)."""
    parts = [canonical_bytes({"kind": e.kind, "data": e.data}) for e in events]
    if epoch is not None:
        parts.append(canonical_bytes(epoch_to_data(epoch, arrays=True)))
    return digest("contents", *parts) if parts else _NO_CONTENTS


# Most blocks hold no extrinsic, event or epoch: their hashes, computed once.
_NO_EXTRINSICS = digest("extrinsics")
_NO_CONTENTS = digest("contents")


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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EpochRecord:
    """One epoch, typed: the exact inputs it was computed from, its per-uid results and what
    it paid. Vectors are ``(n,)`` uid-indexed arrays, read-only.

    In-process readers (dashboard, drill reports, sweeps, ``verify``) use the attributes; the
    plain JSON form (``epoch_to_data``/``epoch_from_data``) exists only for the run store and
    the block hash.

    Attributes:
        block, index: where the epoch ran and how many epochs ran before it, plus one.
        inputs: what the chain gathered (``subnet.yuma.EpochInputs``).
        params: the epoch's hyperparameters.
        pending: the emission pools the epoch paid out, TAO.
        incentive, dividends, consensus, validator_trust: Yuma's per-uid results (shares).
        emission_share: each uid's share of the epoch's emission (sums to 1 when anything is
            paid); ``server_emission``/``validator_emission`` are its miner and validator parts.
        validator_permit: permits granted for the next epoch.
        incentive_tao, dividends_tao: TAO paid to each uid as miner and as validator.
        stake: TAO staked on each uid after the payout.
        arithmetic: how Yuma Consensus was computed, ``"float"`` or ``"exact"`` (subtensor's
            fixed point); ``verify`` recomputes the epoch the same way.
    """

    block: int
    index: int
    inputs: EpochInputs
    params: YumaParams
    pending: PendingEmission
    incentive: np.ndarray
    dividends: np.ndarray
    consensus: np.ndarray
    validator_trust: np.ndarray
    emission_share: np.ndarray
    server_emission: np.ndarray
    validator_emission: np.ndarray
    validator_permit: np.ndarray
    incentive_tao: np.ndarray
    dividends_tao: np.ndarray
    stake: np.ndarray
    # Checkpoints of float runs stay as they were before exact mode recorded its arithmetic
    # (the key is `store.state_codec.OMIT_IF_DEFAULT`; importing it here would be a cycle).
    arithmetic: str = dataclasses.field(default="float",
                                        metadata={"checkpoint_omit_if_default": True})

    def __post_init__(self) -> None:
        if self.arithmetic not in ARITHMETICS:
            raise ValueError(f"unknown arithmetic {self.arithmetic!r}")
        for name in _VECTORS:
            dtype = bool if name == "validator_permit" else np.float64
            array = np.array(getattr(self, name), dtype=dtype, copy=True)
            array.flags.writeable = False
            object.__setattr__(self, name, array)

    @property
    def active(self) -> np.ndarray:
        """(n,) whether each uid was active at the epoch (Yuma's own rule)."""
        return active_mask(self.inputs.last_update, self.params.activity_cutoff,
                           self.inputs.current_block)

    @property
    def emission_tao(self) -> np.ndarray:
        """(n,) TAO paid to each uid at this epoch (incentive plus dividends)."""
        return self.incentive_tao + self.dividends_tao

    @classmethod
    def of(cls, *, block: int, index: int, inputs: EpochInputs, params: YumaParams,
           pending: PendingEmission, outputs: EpochOutputs, payout: EpochPayout,
           stake: np.ndarray, arithmetic: str = "float") -> EpochRecord:
        """The record of an epoch the chain (or a recomputation) just ran."""
        return cls(block=block, index=index, inputs=inputs, params=params, pending=pending,
                   arithmetic=arithmetic,
                   incentive=outputs.incentive, dividends=outputs.dividends,
                   consensus=outputs.consensus, validator_trust=outputs.validator_trust,
                   emission_share=outputs.emission, server_emission=outputs.server_emission,
                   validator_emission=outputs.validator_emission,
                   validator_permit=outputs.validator_permit,
                   incentive_tao=payout.incentive_tao, dividends_tao=payout.dividends_tao,
                   stake=stake)


# Vector fields of EpochRecord, with the key each has in the stored JSON (the store's format
# predates the typed record: ``emission`` there is the share).
_VECTORS = {
    "incentive": "incentive", "dividends": "dividends", "consensus": "consensus",
    "validator_trust": "validator_trust", "emission_share": "emission",
    "server_emission": "server_emission", "validator_emission": "validator_emission",
    "validator_permit": "validator_permit", "stake": "stake", "incentive_tao": "incentive_tao",
    "dividends_tao": "dividends_tao",
}
EPOCH_RESULT_FIELDS = tuple(_VECTORS)  # what ``verify`` recomputes and compares


def epoch_to_data(epoch: EpochRecord, arrays: bool = False) -> dict[str, Any]:
    """The plain JSON form of an epoch: ``index``, ``inputs`` (with ``pending``), ``params``,
    ``outputs``. The block hash and the run store use exactly this; the hash takes it with
    ``arrays``: numpy arrays left where the JSON form has their ``tolist()``, which
    ``canonical_bytes`` encodes to the same bytes without building the lists."""
    listed = _as_array if arrays else _as_list
    inputs = epoch_inputs_to_data(epoch.inputs, arrays)
    inputs["pending"] = dataclasses.asdict(epoch.pending)
    outputs: dict[str, Any] = {}
    for name, key in _VECTORS.items():
        value = getattr(epoch, name)
        outputs[key] = listed(value.astype(int) if name == "validator_permit" else value)
    params = dataclasses.asdict(epoch.params)
    if epoch.arithmetic != "float":  # with the parameters (the store keeps three columns);
        params["arithmetic"] = epoch.arithmetic  # absent for float epochs, whose stored form
    return {"index": epoch.index, "inputs": inputs, "params": params,  # and hash are unchanged
            "outputs": outputs}


def epoch_from_data(block: int, data: Mapping[str, Any]) -> EpochRecord:
    """Inverse of ``epoch_to_data`` (KeyError/TypeError/ValueError on malformed data)."""
    inputs, outputs, params = dict(data["inputs"]), data["outputs"], dict(data["params"])
    arithmetic = params.pop("arithmetic", "float")
    pending = PendingEmission(**inputs.pop("pending"))
    vectors = {name: np.asarray(outputs[key]) for name, key in _VECTORS.items()}
    return EpochRecord(block=block, index=int(data["index"]),
                       inputs=epoch_inputs_from_data(inputs), params=YumaParams(**params),
                       pending=pending, arithmetic=arithmetic, **vectors)


def epoch_inputs_to_data(inputs: EpochInputs, arrays: bool = False) -> dict[str, Any]:
    """Plain JSON data of the epoch inputs: weights and bonds as the u16 the chain stores
    (``arrays``: numpy arrays in place of their lists, as in ``epoch_to_data``)."""
    listed = _as_array if arrays else _as_list
    return {
        "stake": listed(inputs.stake),
        "weights_u16": listed(np.rint(inputs.weights * U16_MAX).astype(int)),
        "weight_set": [listed(np.flatnonzero(row)) for row in _present(inputs.weight_set)],
        "bonds_u16": listed(np.rint(inputs.bonds * U16_MAX).astype(int)),
        "validator_uids": listed(inputs.validator_uids),
        "validator_permit": listed(inputs.validator_permit),
        "last_update": listed(inputs.last_update),
        "block_at_registration": listed(inputs.block_at_registration),
        "current_block": inputs.current_block,
        "recent_registration_block": inputs.recent_registration_block,
        "commit_block": listed(_present(inputs.commit_block)),
        "owner_uid": inputs.owner_uid,
        "reset_bond_uids": list(inputs.reset_bond_uids),
    }


def _as_array(array: np.ndarray) -> Any:
    return array


def _as_list(array: np.ndarray) -> Any:
    return array.tolist()


def _present(array: np.ndarray | None) -> np.ndarray:
    """An EpochInputs field that its constructor always fills (typed Optional for callers)."""
    assert array is not None, "EpochInputs.__post_init__ fills weight_set and commit_block"
    return array


def epoch_inputs_from_data(data: Mapping[str, Any]) -> EpochInputs:
    """Inverse of ``epoch_inputs_to_data``."""
    n = len(data["stake"])
    rows = data["validator_uids"]
    weight_set = np.zeros((len(rows), n), dtype=bool)
    for row, present in enumerate(data["weight_set"]):
        weight_set[row, present] = True
    return EpochInputs(
        stake=data["stake"],
        weights=np.array(data["weights_u16"], dtype=float).reshape(len(rows), n) / U16_MAX,
        weight_set=weight_set,
        bonds=np.array(data["bonds_u16"], dtype=float).reshape(len(rows), n) / U16_MAX,
        validator_uids=np.array(rows, dtype=np.int64),
        validator_permit=data["validator_permit"],
        last_update=data["last_update"],
        block_at_registration=data["block_at_registration"],
        current_block=data["current_block"],
        recent_registration_block=data["recent_registration_block"],
        commit_block=data["commit_block"],
        owner_uid=data["owner_uid"],
        reset_bond_uids=tuple(data["reset_bond_uids"]),
    )
