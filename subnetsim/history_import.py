"""Weight histories from other tools' files, converted to the replay format
(``docs/replay-format.md``), for ``subnetsim replay --from yuma-simulation|metagraph``.

Two sources (their formats as read from their source code; nothing of theirs is copied here):

- **yuma-simulation** (github.com/bactensor/yuma-simulation): a *case* as JSON, the fields of
  its ``BaseCase`` (``validators``, ``servers``, per-epoch ``weights_epochs`` and
  ``stakes_epochs``, optional ``num_epochs``, ``reset_bonds``, ``reset_bonds_index``,
  ``reset_bonds_epoch``, ``use_full_matrices``), or its archived metagraph files: one
  ``torch.save``'d dict per block with ``S`` (stake), ``W`` (weights, uid x uid), ``hotkeys``
  and ``block`` (``metagraph_utils.py : download_metagraph``).
- **bittensor SDK metagraphs**: ``Metagraph.state_dict()`` saved with ``torch.save``, one file
  per block (``weights`` uid x uid, ``stake``, ``block``, ``n``, ``uids``, ``last_update``, ...;
  ``bittensor/core/metagraph.py``).

Every ``.pt`` file is read with ``torch.load(path, weights_only=True)``: tensors and plain
containers only, nothing executed. Float weight rows become what a validator submits through
the SDK (``weight_utils.py : convert_weights_and_uids_for_emit``): max-upscaled to 65535,
rounded, zeros dropped; the replay then stores them as the chain does. Every problem is a
``ConfigError`` naming the file and the field (one line, exit code 2 in the CLI).
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from subnetsim.subnet.config import U16_MAX, Hyperparameters
from subnetsim.subnet.errors import ConfigError

__all__ = ["IMPORT_SOURCES", "import_history", "submitted_row"]

IMPORT_SOURCES = ("yuma-simulation", "metagraph")
_STAKE_KEYS = ("S", "stake")  # yuma-simulation's dumps / the SDK's state dict
_WEIGHT_KEYS = ("W", "weights")


def import_history(source: str, paths: Sequence[Path]) -> dict[str, Any]:
    """The replay-format data (JSON-ready) read from ``paths`` of kind ``source``: for
    ``yuma-simulation`` one case ``.json`` or metagraph ``.pt`` files, for ``metagraph`` SDK
    state-dict ``.pt`` files; a directory stands for the ``.pt`` files in it."""
    if source not in IMPORT_SOURCES:
        raise ConfigError("--from", source, f"expected one of {', '.join(IMPORT_SOURCES)}")
    if source == "yuma-simulation" and len(paths) == 1 and paths[0].suffix == ".json":
        return _from_case(_read_json(paths[0]), str(paths[0]))
    snapshots = [_snapshot(_load_torch(path), str(path)) for path in _torch_files(paths)]
    return _from_snapshots(snapshots)


def submitted_row(values: np.ndarray) -> dict[int, int]:
    """A float weight row as the SDK submits it: {uid: u16}, max-upscaled, rounded, no zeros."""
    values = np.asarray(values, dtype=np.float64)
    peak = float(values.max(initial=0.0))
    if peak <= 0:
        return {}
    scaled = np.rint(values / peak * U16_MAX).astype(np.int64)
    return {int(uid): int(scaled[uid]) for uid in np.flatnonzero(scaled > 0)}


# --- yuma-simulation cases -------------------------------------------------------------------

def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(str(path), None, f"cannot read file: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), None, f"not valid JSON: {error}") from None


def _from_case(case: Any, where: str) -> dict[str, Any]:
    """A case: validators are uids 0..v-1 and servers v..v+s-1 (yuma-simulation's "full
    matrices" layout); epoch i runs at block (i + 1) * tempo."""
    if not isinstance(case, Mapping):
        raise ConfigError(where, type(case).__name__, "expected a yuma-simulation case object")
    validators = _names(case, "validators", where)
    servers = _names(case, "servers", where)
    v, n = len(validators), len(validators) + len(servers)
    weights: Any = case.get("weights_epochs")
    stakes: Any = case.get("stakes_epochs")
    for field, value in (("weights_epochs", weights), ("stakes_epochs", stakes)):
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: {field}", _short(value), "expected a non-empty list")
    count = case.get("num_epochs", len(weights))
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= len(weights):
        raise ConfigError(f"{where}: num_epochs", count,
                          f"expected an integer in [1, {len(weights)}] (the epochs given)")
    if len(stakes) < count:
        raise ConfigError(f"{where}: stakes_epochs", f"{len(stakes)} epochs",
                          f"expected at least num_epochs = {count}")
    reset = _case_reset(case, where, v, n)
    tempo = Hyperparameters().tempo
    epochs = []
    for index in range(count):
        matrix = _case_weights(weights[index], v, n, f"{where}: weights_epochs[{index}]")
        stake = _numbers(stakes[index], f"{where}: stakes_epochs[{index}]")
        if stake.shape not in ((v,), (n,)):
            raise ConfigError(f"{where}: stakes_epochs[{index}]", f"{len(stake)} values",
                              f"expected {v} (validators) or {n} (all uids)")
        entry: dict[str, Any] = {
            "block": (index + 1) * tempo,
            "stake_tao": np.pad(stake, (0, n - len(stake))).tolist(),
            "weights": {str(uid): {str(t): w for t, w in row.items()}
                        for uid in range(n) if (row := submitted_row(matrix[uid]))}}
        if reset is not None and reset[0] == index:
            entry["reset_bonds"] = [reset[1]]
        epochs.append(entry)
    return {"n_uids": n, "netuid": 1, "hyperparameters": {}, "epochs": epochs}


def _names(case: Mapping[str, Any], field: str, where: str) -> list[str]:
    names = case.get(field)
    if not isinstance(names, list) or not names or not all(isinstance(x, str) for x in names):
        raise ConfigError(f"{where}: {field}", _short(names), "expected a non-empty list of names")
    return names


def _case_weights(raw: Any, v: int, n: int, where: str) -> np.ndarray:
    """(n, n) weights from a case's (validators x servers) or full (n x n) matrix."""
    matrix = _numbers(raw, where, ndim=2)
    if matrix.shape == (n, n):
        return matrix
    if matrix.shape != (v, n - v):
        raise ConfigError(where, f"shape {matrix.shape}",
                          f"expected ({v}, {n - v}) (validators x servers) or ({n}, {n})")
    full = np.zeros((n, n))
    full[:v, v:] = matrix
    return full


def _case_reset(case: Mapping[str, Any], where: str, v: int, n: int) -> tuple[int, int] | None:
    """(epoch, uid) of a case's bond reset: the bonds held to server ``reset_bonds_index``
    are zeroed before epoch ``reset_bonds_epoch`` (yuma-simulation resets them for its Yuma
    2C/3 versions; the replay resets them for every variant)."""
    if not case.get("reset_bonds"):
        return None
    epoch: Any = case.get("reset_bonds_epoch")
    server: Any = case.get("reset_bonds_index")
    for field, value, high in (("reset_bonds_epoch", epoch, 2**31),
                               ("reset_bonds_index", server, n - v - 1)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise ConfigError(f"{where}: {field}", value, f"expected an integer in [0, {high}]")
    return epoch, v + server


# --- metagraph files (yuma-simulation dumps and SDK state dicts) ------------------------------

@dataclasses.dataclass(frozen=True, slots=True)
class _Snapshot:
    """One metagraph file: what the replay reads from it."""

    where: str
    block: int
    stake: np.ndarray
    weights: np.ndarray
    hotkeys: list[str] | None
    last_update: np.ndarray | None


def _torch_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.pt"))
            if not found:
                raise ConfigError(str(path), None, "directory holds no .pt files")
            files.extend(found)
        else:
            files.append(path)
    return files


def _load_torch(path: Path) -> Mapping[str, Any]:
    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as error:
        raise ConfigError(str(path), None, f"cannot read file: {error.strerror}") from None
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error):
            raise ConfigError(str(path), None, "holds Python objects besides tensors (the SDK's"
                              " save() adds axons and neurons); save only the tensors, e.g."
                              " {k: v for k, v in metagraph.state_dict().items() if k not in"
                              " ('axons', 'neurons')}") from None
        raise ConfigError(str(path), None, "not a torch.save file") from None
    except (RuntimeError, ValueError, EOFError) as error:
        raise ConfigError(str(path), None, f"not a torch.save file ({error})") from None
    if not isinstance(data, Mapping):
        raise ConfigError(str(path), type(data).__name__, "expected a dict of metagraph fields")
    return data


def _snapshot(data: Mapping[str, Any], where: str) -> _Snapshot:
    stake = _numbers(_field(data, _STAKE_KEYS, where), f"{where}: stake")
    n = len(stake)
    weights = _numbers(_field(data, _WEIGHT_KEYS, where), f"{where}: weights", ndim=2)
    if weights.shape != (n, n):
        raise ConfigError(f"{where}: weights", f"shape {weights.shape}",
                          f"expected ({n}, {n}) (a metagraph synced with lite=False)")
    if "n" in data and _integer(data["n"], f"{where}: n", low=1) != n:
        raise ConfigError(f"{where}: n", _short(data["n"]), f"expected {n} (the stake's length)")
    if "uids" in data and not np.array_equal(_numbers(data["uids"], f"{where}: uids"),
                                             np.arange(n)):
        raise ConfigError(f"{where}: uids", _short(data["uids"]), f"expected 0..{n - 1}")
    hotkeys = data.get("hotkeys")
    if hotkeys is not None and (not isinstance(hotkeys, list) or len(hotkeys) != n):
        raise ConfigError(f"{where}: hotkeys", _short(hotkeys), f"expected {n} hotkeys")
    last_update = (_numbers(data["last_update"], f"{where}: last_update")
                   if "last_update" in data else None)
    if last_update is not None and last_update.shape != (n,):
        raise ConfigError(f"{where}: last_update", _short(data["last_update"]),
                          f"expected {n} blocks")
    block = _integer(_field(data, ("block",), where), f"{where}: block")
    return _Snapshot(where=where, block=block, stake=stake, weights=weights, hotkeys=hotkeys,
                     last_update=last_update)


def _from_snapshots(snapshots: list[_Snapshot]) -> dict[str, Any]:
    """One epoch per file, in block order. A row enters an epoch when its validator set weights
    since the previous file (``last_update`` moved; every row when the files have none); a uid
    is registered when its hotkey changed or it is new (the subnet grew)."""
    snapshots = sorted(snapshots, key=lambda s: s.block)
    for earlier, later in zip(snapshots, snapshots[1:], strict=False):
        if earlier.block == later.block:
            raise ConfigError(later.where, later.block, f"same block as {earlier.where}")
    n = max(len(s.stake) for s in snapshots)
    epochs: list[dict[str, Any]] = []
    previous: _Snapshot | None = None
    for snap in snapshots:
        size = len(snap.stake)
        entry: dict[str, Any] = {"block": snap.block,
                                 "stake_tao": np.pad(snap.stake, (0, n - size)).tolist()}
        rows = {}
        for uid in range(size):
            if _updated(previous, snap, uid) and (row := submitted_row(snap.weights[uid])):
                rows[str(uid)] = {str(t): w for t, w in row.items()}
        entry["weights"] = rows
        if previous is not None:
            registered = [uid for uid in range(size) if uid >= len(previous.stake) or (
                snap.hotkeys is not None and previous.hotkeys is not None
                and snap.hotkeys[uid] != previous.hotkeys[uid])]
            if registered:
                entry["registered"] = registered
        epochs.append(entry)
        previous = snap
    return {"n_uids": n, "netuid": 1, "hyperparameters": {}, "epochs": epochs}


def _updated(previous: _Snapshot | None, snap: _Snapshot, uid: int) -> bool:
    if previous is None or snap.last_update is None or previous.last_update is None:
        return True
    return uid >= len(previous.last_update) or snap.last_update[uid] > previous.last_update[uid]


# --- values ---------------------------------------------------------------------------------

def _field(data: Mapping[str, Any], keys: tuple[str, ...], where: str) -> Any:
    for key in keys:
        if key in data:
            return data[key]
    raise ConfigError(f"{where}: {' or '.join(keys)}", None, "missing")


def _numbers(value: Any, where: str, ndim: int = 1) -> np.ndarray:
    """A finite, non-negative float array of ``ndim`` dimensions (tensors, arrays or lists)."""
    if hasattr(value, "detach"):  # a torch tensor or Parameter
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(where, _short(value), "expected numbers") from None
    if array.ndim != ndim or not array.size:
        raise ConfigError(where, _short(value), f"expected a non-empty {ndim}-d array of numbers")
    if not np.isfinite(array).all() or array.min() < 0:
        raise ConfigError(where, _short(value), "expected finite, non-negative numbers")
    return array


def _integer(value: Any, where: str, low: int = 2) -> int:
    """One integer >= ``low`` (a Python int, or a one-element tensor or array)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.reshape(np.asarray(value), -1)
    if array.size != 1 or array.dtype.kind not in "iuf" or array[0] != np.floor(array[0]) \
            or not low <= array[0] < 2**62:
        raise ConfigError(where, _short(value), f"expected one integer >= {low}")
    return int(array[0])


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
