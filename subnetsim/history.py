"""Replay a recorded weight history: consecutive epochs with the state the chain stores.

A history (``docs/replay-format.md``) lists epochs with the stake, the weight rows validators
set during each one and the uids (re)registered during it. ``replay_history`` runs them in
order and carries what subtensor keeps between epochs: u16 bonds, validator permits,
``LastUpdate``, ``BlockAtRegistration`` and the stored (max-upscaled) weight rows. Inside one
entry the chain sees, in this order: the registrations at ``block - 2`` (``uids.rs :
replace_neuron`` / ``clear_neuron``: the uid's own weight and bond rows cleared, weights on it
zeroed, its permit dropped), the weight rows at ``block - 1`` (``weights.rs :
internal_set_weights``: max-upscaled to u16, ``LastUpdate`` set), then the epoch at ``block``.

Variants (``classic``, ``yuma3``, ``yuma3_liquid``) replay the same history side by side; in
float arithmetic they run as one batch (``yuma.epoch_batch``), in exact arithmetic one by one.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from subnetsim.subnet.config import U16_MAX, Hyperparameters, from_dict, replace_dotted
from subnetsim.subnet.consensus import top_k_nonzero
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.yuma import EpochInputs, EpochOutputs, YumaParams, epoch_batch
from subnetsim.subnet.yuma_exact import epoch_exact

__all__ = ["VARIANTS", "History", "HistoryEpoch", "ReplayResult", "load_history",
           "parse_history", "replay_history", "max_upscale_u16"]

VARIANTS: dict[str, dict[str, bool]] = {
    "classic": {"yuma3_enabled": False, "liquid_alpha_enabled": False},
    "yuma3": {"yuma3_enabled": True, "liquid_alpha_enabled": False},
    "yuma3_liquid": {"yuma3_enabled": True, "liquid_alpha_enabled": True},
}
OUTPUT_FIELDS = ("incentive", "dividends", "consensus", "validator_trust")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEpoch:
    """One recorded epoch: its block, stake, the rows set during it, the registrations and the
    uids whose incoming bonds were reset (yuma-simulation's ``reset_bonds`` cases)."""

    block: int
    stake_tao: np.ndarray
    weights: dict[int, dict[int, int]]
    registered: tuple[int, ...] = ()
    reset_bonds: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class History:
    """A parsed history file."""

    n_uids: int
    netuid: int
    hyperparameters: Hyperparameters
    epochs: tuple[HistoryEpoch, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReplayResult:
    """Per variant, the outputs of every epoch in order."""

    blocks: tuple[int, ...]
    outputs: dict[str, list[EpochOutputs]]

    def to_data(self, variant: str) -> dict[str, Any]:
        """The ``--json`` form of one variant: ``{"epochs": [{"block", "incentive", ...}]}``."""
        return {"epochs": [
            {"block": block, **{name: getattr(out, name).tolist() for name in OUTPUT_FIELDS}}
            for block, out in zip(self.blocks, self.outputs[variant], strict=True)]}


def load_history(path: str | Path) -> History:
    """Read and check a history file; every problem is a ConfigError naming the field."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(str(path), None, f"cannot read file: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), None, f"not valid JSON: {error}") from None
    return parse_history(data)


def parse_history(data: Any) -> History:
    """A History from decoded JSON (see ``docs/replay-format.md``)."""
    if not isinstance(data, Mapping):
        raise ConfigError("history", data, "expected a JSON object")
    n = _integer(data.get("n_uids"), "n_uids", 1, 65535)
    hyper = from_dict(Hyperparameters, {"max_allowed_uids": max(n, 1),
                                        **data.get("hyperparameters", {})}, "hyperparameters")
    raw = data.get("epochs")
    if not isinstance(raw, list) or not raw:
        raise ConfigError("epochs", raw, "expected a non-empty list")
    epochs = tuple(_parse_epoch(entry, n, f"epochs[{i}]") for i, entry in enumerate(raw))
    blocks = [e.block for e in epochs]
    if any(b <= a for a, b in zip(blocks, blocks[1:], strict=False)) or blocks[0] < 2:
        raise ConfigError("epochs", blocks, "blocks must increase and start at 2 or later")
    return History(n_uids=n, netuid=_integer(data.get("netuid", 1), "netuid", 0, 65535),
                   hyperparameters=hyper, epochs=epochs)


def _integer(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(field, value, f"expected an integer in [{low}, {high}]")
    return value


def _parse_epoch(entry: Any, n: int, path: str) -> HistoryEpoch:
    if not isinstance(entry, Mapping):
        raise ConfigError(path, entry, "expected an object")
    block = _integer(entry.get("block"), f"{path}.block", 0, 2**62)
    stake = np.asarray(entry.get("stake_tao"), dtype=object)
    if stake.shape != (n,) or not all(isinstance(s, int | float) and s >= 0 for s in stake):
        raise ConfigError(f"{path}.stake_tao", entry.get("stake_tao"),
                          f"expected {n} non-negative numbers")
    weights: dict[int, dict[int, int]] = {}
    for row_key, row in (entry.get("weights") or {}).items():
        uid = _uid(row_key, n, f"{path}.weights")
        if not isinstance(row, Mapping):
            raise ConfigError(f"{path}.weights.{row_key}", row, "expected {uid: u16 value}")
        weights[uid] = {_uid(k, n, f"{path}.weights.{row_key}"):
                        _integer(v, f"{path}.weights.{row_key}.{k}", 0, U16_MAX)
                        for k, v in row.items()}
    registered = _uids(entry, "registered", n, path)
    return HistoryEpoch(block=block, stake_tao=stake.astype(np.float64), weights=weights,
                        registered=registered, reset_bonds=_uids(entry, "reset_bonds", n, path))


def _uids(entry: Mapping[str, Any], field: str, n: int, path: str) -> tuple[int, ...]:
    values = entry.get(field, [])
    if not isinstance(values, list):
        raise ConfigError(f"{path}.{field}", values, "expected a list of uids")
    return tuple(_uid(u, n, f"{path}.{field}") for u in values)


def _uid(value: Any, n: int, path: str) -> int:
    try:
        uid = int(value)
    except (TypeError, ValueError):
        raise ConfigError(path, value, "expected a uid") from None
    if not 0 <= uid < n:
        raise ConfigError(path, value, f"uid out of range [0, {n})")
    return uid


def max_upscale_u16(values: np.ndarray | Sequence[int]) -> np.ndarray:
    """``math.rs : vec_u16_max_upscale_to_u16`` on one row of u16 integers, exactly: in I32F32,
    ``round(x * 65535 / max)`` (max <= 32768) or ``round(x * (65535 / max))`` (larger max),
    the quotient truncated and rounded half away from zero."""
    values = np.asarray(values, dtype=object)
    peak = int(values.max(initial=0))
    if peak == 0:
        return values.astype(np.int64)
    if peak > 32768:
        ratio = (U16_MAX << 32) // peak
        bits = values * ratio
    else:
        bits = (values * (U16_MAX << 32)) // peak
    return ((bits + (1 << 31)) >> 32).astype(np.int64)


@dataclasses.dataclass(slots=True)
class _Storage:
    """What the chain keeps between epochs, for one variant."""

    weights: np.ndarray
    weight_set: np.ndarray
    bonds: np.ndarray
    permit: np.ndarray
    last_update: np.ndarray
    registered_at: np.ndarray
    last_epoch: int = 0


def _initial_storage(history: History) -> _Storage:
    n = history.n_uids
    first = history.epochs[0]
    k = np.array([history.hyperparameters.max_allowed_validators])
    permit = top_k_nonzero(first.stake_tao[None], k)[0]
    return _Storage(weights=np.zeros((n, n), dtype=np.int64),
                    weight_set=np.zeros((n, n), dtype=bool),
                    bonds=np.zeros((n, n), dtype=np.int64), permit=permit,
                    last_update=np.zeros(n, dtype=np.int64),
                    registered_at=np.zeros(n, dtype=np.int64))


def _apply_entry(storage: _Storage, entry: HistoryEpoch) -> None:
    """Registrations at block - 2, then the rows set at block - 1; bond resets (bonds held
    *to* a uid zeroed in storage) before the epoch."""
    for uid in entry.registered:
        storage.weights[uid] = 0
        storage.weight_set[uid] = False
        storage.weights[:, uid] = 0
        storage.bonds[uid] = 0
        storage.permit[uid] = False
        storage.registered_at[uid] = entry.block - 2
        storage.last_update[uid] = entry.block - 2
    for uid, row in entry.weights.items():
        targets = np.array(sorted(row), dtype=np.int64)
        storage.weights[uid] = 0
        storage.weight_set[uid] = False
        storage.weights[uid, targets] = max_upscale_u16([row[t] for t in targets])
        storage.weight_set[uid, targets] = True
        storage.last_update[uid] = entry.block - 1
    for uid in entry.reset_bonds:
        storage.bonds[:, uid] = 0


def _inputs(storage: _Storage, entry: HistoryEpoch, tempo: int) -> EpochInputs:
    n = len(storage.permit)
    recent = storage.last_epoch + 1 if storage.last_epoch else max(entry.block - tempo, 0)
    return EpochInputs(
        stake=entry.stake_tao, weights=storage.weights / U16_MAX,
        weight_set=storage.weight_set, bonds=storage.bonds / U16_MAX,
        validator_uids=np.arange(n), validator_permit=storage.permit,
        last_update=storage.last_update, block_at_registration=storage.registered_at,
        current_block=entry.block, recent_registration_block=recent)


def replay_history(history: History, variants: Sequence[str] = ("history",),
                   exact: bool = False) -> ReplayResult:
    """Run every epoch of ``history`` for each variant (``"history"``: the file's own
    hyperparameters; else a name in VARIANTS applied over them)."""
    params = [_variant_params(history.hyperparameters, name) for name in variants]
    storages = [_initial_storage(history) for _ in variants]
    outputs: dict[str, list[EpochOutputs]] = {name: [] for name in variants}
    tempo = history.hyperparameters.tempo
    for entry in history.epochs:
        inputs = []
        for storage in storages:
            _apply_entry(storage, entry)
            inputs.append(_inputs(storage, entry, tempo))
        results, bonds = _run(inputs, params, exact)
        for name, storage, out, stored in zip(variants, storages, results, bonds, strict=True):
            storage.bonds = stored
            storage.permit = out.validator_permit.copy()
            storage.last_epoch = entry.block
            outputs[name].append(out)
    return ReplayResult(blocks=tuple(e.block for e in history.epochs), outputs=outputs)


def _variant_params(hyper: Hyperparameters, name: str) -> YumaParams:
    if name != "history":
        if name not in VARIANTS:
            raise ConfigError("--compare", name, f"expected one of {', '.join(VARIANTS)}")
        for key, value in VARIANTS[name].items():
            hyper = replace_dotted(hyper, key, value)
    return YumaParams.from_hyperparameters(hyper)


def _run(inputs: list[EpochInputs], params: list[YumaParams],
         exact: bool) -> tuple[list[EpochOutputs], list[np.ndarray]]:
    """One epoch per variant: the float batch, or exact epochs one by one; stored u16 bonds."""
    if exact:
        results = [epoch_exact(x, p) for x, p in zip(inputs, params, strict=True)]
        return [r.outputs for r in results], [r.bonds_u16.astype(np.int64) for r in results]
    batch = epoch_batch(inputs, params)
    outs = [batch.select(k) for k in range(len(params))]
    return outs, [np.floor(out.bonds * U16_MAX).astype(np.int64) for out in outs]
