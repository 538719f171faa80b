"""Metagraph snapshots: read a subnet's stake and weights from JSON, checked at the boundary.

Two formats are accepted (see ``docs/snapshot-format.md``):

* the real-chain transcription shipped in ``scenarios/snapshots/`` (``validator_uids``,
  ``validator_stake_tao``, ``weights_validator_rows`` over all ``n_uids``), read as it is;
* subnetsim's own format (``"format": "subnetsim.snapshot/1"``): per-uid ``stake``, sparse
  ``weights`` and optional ``bonds``, permits, activity and registration blocks.

Every problem (missing field, wrong shape, negative stake, NaN) raises ``SnapshotError`` with a
one-line message naming the field; nothing here prints or exits.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from subnetsim.subnet.config import U16_MAX, Hyperparameters
from subnetsim.subnet.errors import SnapshotError
from subnetsim.subnet.yuma import EpochInputs

OWN_FORMAT = "subnetsim.snapshot/1"

__all__ = ["OWN_FORMAT", "MetagraphSnapshot", "load_snapshot", "parse_snapshot"]

# The chain's limits: a snapshot bigger than a subnet can be is refused before it is expanded
# (a dense (rows, n) matrix of a 4096-uid subnet is 128 MiB; 20,000 uids would be 3 GiB).
MAX_UIDS = int(next(f.metadata["range"][1] for f in dataclasses.fields(Hyperparameters)
                    if f.name == "max_allowed_uids"))
MAX_BLOCK = 2**53  # far past any chain, still exact as a float
MAX_SNAPSHOT_BYTES = 256 << 20


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MetagraphSnapshot:
    """A subnet at one block, ready for an epoch.

    Attributes:
        stake: (n,) TAO per uid.
        validator_uids: (v,) uids holding weight rows, ascending.
        weights: (v, n) weight rows (any scale; normalised by the epoch).
        bonds: (v, n) stored bonds (zero when the snapshot has none).
        validator_permit: (n,) permits held going into the epoch.
        last_update: (n,) block each uid last set weights.
        block_at_registration: (n,) registration block of each uid.
        block: the snapshot's block.
        owner_uid: the subnet owner's uid, if known.
        source: where the snapshot came from (its ``what``/``provenance`` text or file name).
    """

    stake: np.ndarray
    validator_uids: np.ndarray
    weights: np.ndarray
    bonds: np.ndarray
    validator_permit: np.ndarray
    last_update: np.ndarray
    block_at_registration: np.ndarray
    block: int
    owner_uid: int | None = None
    source: str = ""

    @property
    def n(self) -> int:
        """Number of uids."""
        return len(self.stake)

    def epoch_inputs(self) -> EpochInputs:
        """The epoch inputs at the snapshot's block (no uid counts as newly registered), with
        weights and bonds as the chain stores them (``stored_u16``)."""
        weights, bonds = self.stored_u16()
        return EpochInputs(
            stake=self.stake,
            weights=weights / U16_MAX,
            bonds=bonds / U16_MAX,
            validator_uids=self.validator_uids,
            validator_permit=self.validator_permit,
            last_update=self.last_update,
            block_at_registration=self.block_at_registration,
            current_block=self.block,
            recent_registration_block=self.block + 1,
            owner_uid=self.owner_uid,
        )


    def stored_u16(self) -> tuple[np.ndarray, np.ndarray]:
        """(weights, bonds) as u16 storage: each weight row max-upscaled so its largest entry
        is 65535 and rounded to nearest (``weights.rs : internal_set_weights``,
        ``math.rs : vec_max_upscale_to_u16``); bonds floored to u16, classic bonds after the
        column max-upscale they are stored with, Yuma3 bonds (in [0, 1]) as they are."""
        peak = self.weights.max(axis=1, keepdims=True, initial=0.0)
        weights = np.rint(np.divide(self.weights * U16_MAX, peak, out=np.zeros_like(self.weights),
                                    where=peak > 0))
        column_peak = self.bonds.max(axis=0, keepdims=True, initial=0.0)
        scale = np.where(column_peak > 1.0, column_peak, 1.0)  # classic: any column scale
        bonds = np.floor(self.bonds / scale * U16_MAX)
        return weights.astype(np.int64), bonds.astype(np.int64)


def load_snapshot(path: str | Path) -> MetagraphSnapshot:
    """Read and check a snapshot file (either format)."""
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_SNAPSHOT_BYTES + 1)
    except OSError as error:
        raise SnapshotError(f"{path}: cannot read file: {error.strerror}") from None
    if len(raw) > MAX_SNAPSHOT_BYTES:
        raise SnapshotError(f"{path}: larger than {MAX_SNAPSHOT_BYTES >> 20} MiB, more than a"
                            f" subnet of {MAX_UIDS} uids needs")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SnapshotError(f"{path}: not a text file (not UTF-8)") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SnapshotError(f"{path}: not valid JSON: {error}") from None
    try:
        return parse_snapshot(data, source=str(path))
    except SnapshotError as error:
        raise SnapshotError(f"{path}: {error}") from None


def parse_snapshot(data: Any, source: str = "") -> MetagraphSnapshot:
    """Build a MetagraphSnapshot from decoded JSON of either format."""
    if not isinstance(data, Mapping):
        raise SnapshotError("expected a JSON object at the top level")
    if data.get("format") == OWN_FORMAT:
        return _parse_own(data, source)
    if "weights_validator_rows" in data or "validator_uids" in data:
        return _parse_chain_transcription(data, source)
    raise SnapshotError(
        f"unknown snapshot format: set \"format\": \"{OWN_FORMAT}\" or give validator_uids, "
        "validator_stake_tao and weights_validator_rows"
    )


def _parse_chain_transcription(data: Mapping[str, Any], source: str) -> MetagraphSnapshot:
    n = _count(data, "n_uids", maximum=MAX_UIDS)
    uids = _integers(data, "validator_uids", n)
    if len(set(uids.tolist())) != len(uids):
        raise SnapshotError("validator_uids: duplicate uid")
    stake_rows = _numbers(data, "validator_stake_tao", (len(uids),), non_negative=True)
    rows = _numbers(data, "weights_validator_rows", (len(uids), n), non_negative=True)
    order = np.argsort(uids)
    stake = np.zeros(n)
    stake[uids] = stake_rows
    block = _count(data, "block", minimum=0, maximum=MAX_BLOCK)
    permit = np.zeros(n, dtype=bool)
    permit[uids] = stake_rows > 0  # the validators that set these rows held permits
    return MetagraphSnapshot(
        stake=stake,
        validator_uids=uids[order],
        weights=rows[order],
        bonds=np.zeros((len(uids), n)),
        validator_permit=permit,
        last_update=np.full(n, block),
        block_at_registration=np.zeros(n, dtype=np.int64),
        block=block,
        source=str(data.get("what", source)),
    )


def _parse_own(data: Mapping[str, Any], source: str) -> MetagraphSnapshot:
    stake = _numbers(data, "stake", None, non_negative=True)
    n = len(stake)
    if n > MAX_UIDS:
        raise SnapshotError(f"stake: {n} uids, more than a subnet holds ({MAX_UIDS})")
    block = _count(data, "block", minimum=0, maximum=MAX_BLOCK)
    weights_by_uid = _sparse_rows(data, "weights", n)
    bonds_by_uid = _sparse_rows(data, "bonds", n) if "bonds" in data else {}
    # A bond row without a weight row is allowed: a validator that stopped setting weights.
    uids = np.array(sorted(set(weights_by_uid) | set(bonds_by_uid)), dtype=np.int64)
    weights = np.array([weights_by_uid.get(int(u), np.zeros(n)) for u in uids]).reshape(-1, n)
    bonds = np.array([bonds_by_uid.get(int(u), np.zeros(n)) for u in uids]).reshape(-1, n)
    permit = (
        _booleans(data, "validator_permit", n) if "validator_permit" in data else stake > 0
    )
    owner = data.get("owner_uid")
    if owner is not None and (not isinstance(owner, int) or not 0 <= owner < n):
        raise SnapshotError(f"owner_uid: {owner!r} is not a uid below {n}")
    return MetagraphSnapshot(
        stake=stake,
        validator_uids=uids,
        weights=weights,
        bonds=bonds,
        validator_permit=permit,
        last_update=_optional_integers(data, "last_update", n, default=block),
        block_at_registration=_optional_integers(data, "block_at_registration", n, default=0),
        block=block,
        owner_uid=owner,
        source=str(data.get("what", source)),
    )


def _require(data: Mapping[str, Any], field: str) -> Any:
    if field not in data:
        raise SnapshotError(f"missing field {field!r}")
    return data[field]


def _count(data: Mapping[str, Any], field: str, minimum: int = 1,
           maximum: int = MAX_BLOCK) -> int:
    value = _require(data, field)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise SnapshotError(f"{field}: expected an integer in [{minimum}, {maximum}],"
                            f" got {value!r}")
    return value


def _numbers(
    data: Mapping[str, Any], field: str, shape: tuple[int, ...] | None, non_negative: bool
) -> np.ndarray:
    value = _require(data, field)
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise SnapshotError(f"{field}: expected numbers (ragged or non-numeric list)") from None
    if shape is None and array.ndim != 1:
        raise SnapshotError(f"{field}: expected a list of numbers, got shape {array.shape}")
    if shape is not None and array.shape != shape:
        raise SnapshotError(f"{field}: shape {array.shape}, expected {shape}")
    if not np.isfinite(array).all():
        raise SnapshotError(f"{field}: contains NaN or infinity")
    if non_negative and (array < 0).any():
        first = tuple(int(i) for i in np.argwhere(array < 0)[0])
        raise SnapshotError(f"{field}{list(first)}: negative value {array[first]:g}")
    return array


def _integers(data: Mapping[str, Any], field: str, below: int) -> np.ndarray:
    value = _require(data, field)
    if not isinstance(value, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) and 0 <= x < below for x in value
    ):
        raise SnapshotError(f"{field}: expected a list of uids in [0, {below})")
    return np.array(value, dtype=np.int64)


def _optional_integers(data: Mapping[str, Any], field: str, n: int, default: int) -> np.ndarray:
    if field not in data:
        return np.full(n, default, dtype=np.int64)
    values = _numbers(data, field, (n,), non_negative=True)
    if not np.all(values == np.floor(values)):
        raise SnapshotError(f"{field}: expected whole block numbers")
    return values.astype(np.int64)


def _booleans(data: Mapping[str, Any], field: str, n: int) -> np.ndarray:
    value = _require(data, field)
    booleans = isinstance(value, list) and all(isinstance(x, bool) for x in value)
    if not booleans or len(value) != n:
        raise SnapshotError(f"{field}: expected {n} true/false values")
    return np.array(value, dtype=bool)


def _sparse_rows(data: Mapping[str, Any], field: str, n: int) -> dict[int, np.ndarray]:
    """``{"uid": [[target, value], ...]}`` -> dense rows."""
    value = _require(data, field)
    if not isinstance(value, Mapping):
        raise SnapshotError(f"{field}: expected an object of uid -> [[uid, value], ...]")
    rows: dict[int, np.ndarray] = {}
    for key, entries in value.items():
        uid = int(key) if str(key).isdigit() else -1
        if not 0 <= uid < n:
            raise SnapshotError(f"{field}: row key {key!r} is not a uid below {n}")
        row = np.zeros(n)
        for entry in entries if isinstance(entries, list) else [None]:
            if not (isinstance(entry, list) and len(entry) == 2):
                raise SnapshotError(f"{field}.{key}: expected [[uid, value], ...]")
            target, weight = entry
            if not isinstance(target, int) or not 0 <= target < n:
                raise SnapshotError(f"{field}.{key}: target {target!r} is not a uid below {n}")
            if not isinstance(weight, int | float) or not math.isfinite(weight) or weight < 0:
                raise SnapshotError(f"{field}.{key}: bad value {weight!r} for uid {target}")
            row[target] = weight
        rows[uid] = row
    return rows
