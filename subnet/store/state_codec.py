"""Checkpoint bytes that are data only: a JSON tree and raw little-endian arrays, nothing to run.

A checkpoint is read from a user's file, so decoding it must never execute code (pickle does:
any ``__reduce__`` runs on load). This format can only produce plain values, numpy arrays,
torch tensors (rebuilt from raw bytes with ``torch.from_numpy``) and instances of dataclasses
the caller names in ``types``, whose fields are set from decoded data (no constructor or
``__setstate__`` of the file's choosing runs).

Layout: ``MAGIC``, an 8-byte little-endian header length, the header (canonical JSON
``{"tree": ..., "arrays": [[dtype, shape], ...]}``) and the arrays' bytes back to back in header
order. The bytes are a pure function of the value (no timestamps, sorted sets), so the same
state always has the same digest, which the chain commits to.

Tree tags (every JSON object in the tree is one of these; anything else is refused):
``{"t": [...]}`` tuple, ``{"d": [[k, v], ...]}`` dict (any keys, insertion order),
``{"fs": [...]}`` frozenset, ``{"s": [...]}`` set, ``{"b": hex}`` bytes, ``{"f": "nan"}``
non-finite float, ``{"a": i}`` numpy array, ``{"n": i}`` numpy scalar, ``{"pt": i}`` torch
tensor, ``{"o": name, "v": {field: value}}`` a dataclass of an allowed type.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import sys
from collections.abc import Collection, Iterable
from typing import Any

import numpy as np

from subnetsim.subnet.errors import StoreError

__all__ = ["MAGIC", "OMIT_IF_DEFAULT", "CheckpointError", "decode_state", "encode_state"]

MAGIC = b"subnetsim-ckpt1\n"
_ALLOWED_DTYPES = frozenset(np.dtype(name).str for name in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64"))
MAX_DEPTH = 64
_SCALARS = frozenset((str, int, bool, type(None)))  # exactly these types: their own tree
_SHORT = 4  # entries a tuple has at most to be encoded entry by entry without a test first


class CheckpointError(StoreError):
    """A checkpoint's bytes are not a checkpoint this code wrote (or were altered)."""


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _Encoder:
    def __init__(self, types: Iterable[type]) -> None:
        self.allowed = {_type_name(cls) for cls in types}
        self.arrays: list[np.ndarray] = []

    def array(self, value: np.ndarray) -> int:
        array = np.ascontiguousarray(value)
        little = array.astype(array.dtype.newbyteorder("<"), copy=False)
        if little.dtype.str not in _ALLOWED_DTYPES:
            raise TypeError(f"checkpoint: arrays of dtype {array.dtype} are not supported")
        self.arrays.append(little)
        return len(self.arrays) - 1

    def tree(self, value: Any) -> Any:  # noqa: PLR0911 - one branch per supported type
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else {"f": repr(float(value))}
        if isinstance(value, list):
            if _plain(value):  # e.g. the hotkeys: a copy is the tree
                return list(value)
            return [self.entry(item) for item in value]
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            # Long ones (sealed weight rows) copied whole; short ones (the (coldkey, uid)
            # stake keys) are quicker entry by entry than tested first.
            if len(value) > _SHORT and _plain(value):
                return {"t": list(value)}
            return {"t": [self.entry(item) for item in value]}
        if isinstance(value, dict):
            if _plain(value.values()):
                if _plain(value):  # e.g. the balances
                    return {"d": [[key, item] for key, item in value.items()]}
                if _plain_tuples(value):  # e.g. the stake by (coldkey, uid)
                    return {"d": [[{"t": list(key)}, item] for key, item in value.items()]}
            return {"d": [[self.entry(k), self.entry(v)] for k, v in value.items()]}
        if isinstance(value, frozenset | set):
            items = sorted((self.tree(item) for item in value), key=_canonical)
            return {"fs" if isinstance(value, frozenset) else "s": items}
        if isinstance(value, bytes):
            return {"b": value.hex()}
        if isinstance(value, np.ndarray):
            return {"a": self.array(value)}
        if isinstance(value, np.generic):
            return {"n": self.array(np.asarray(value))}
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(value, torch.Tensor):
            return {"pt": self.array(value.detach().cpu().numpy())}
        return self.dataclass(value)

    def entry(self, value: Any) -> Any:
        """``tree`` of a container's entry, without the call for a plain scalar (a str, int,
        bool, None or finite float is its own tree): checkpoints hold long lists of them."""
        kind = type(value)
        if kind in _SCALARS or (kind is float and value - value == 0.0):
            return value
        return self.tree(value)

    def dataclass(self, value: Any) -> Any:
        name = _type_name(type(value))
        if not dataclasses.is_dataclass(value) or name not in self.allowed:
            raise TypeError(f"checkpoint: cannot store a {name}")
        fields = {f.name: self.tree(getattr(value, f.name))
                  for f in dataclasses.fields(value)
                  if not f.name.startswith("_") and not _omitted(f, value)}
        return {"o": name, "v": fields}


def _plain(values: Collection[Any]) -> bool:
    """Whether every entry is its own tree (what ``entry`` returns unchanged: a str, int,
    bool, None or finite float), tested without a Python call per entry: checkpoints hold
    long lists, tuples and dicts of them (hotkeys, balances, sealed weight rows)."""
    kinds = set(map(type, values))
    if kinds <= _SCALARS:
        return True
    if kinds != {float}:
        return False
    total = sum(values)  # finite if every entry is (an overflow only takes the long way)
    return total - total == 0.0


def _plain_tuples(values: Collection[Any]) -> bool:
    """Whether every entry is a plain tuple (not a named one) of str, int, bool or None
    entries: its tree is ``{"t": list(entry)}``."""
    return (set(map(type, values)) == {tuple}
            and _SCALARS.issuperset(map(type, itertools.chain.from_iterable(values))))


# A field added after checkpoints existed can be marked ``metadata={OMIT_IF_DEFAULT: True}``:
# at its default it is not written (older checkpoints, and their digests, stay as they were)
# and a checkpoint without it reads back the default.
OMIT_IF_DEFAULT = "checkpoint_omit_if_default"


def _omitted(field: dataclasses.Field[Any], value: Any) -> bool:
    return bool(field.metadata.get(OMIT_IF_DEFAULT)) and getattr(value, field.name) == field.default


def _canonical(value: Any) -> str:
    # A tree is fresh lists and dicts the encoder built, never cyclic (a cyclic value would
    # recurse in ``tree`` first), so json's cycle bookkeeping (~15% of it) is skipped; the
    # text is the same.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), check_circular=False)


def encode_state(value: Any, types: Iterable[type] = ()) -> bytes:
    """The checkpoint bytes of ``value``; ``types`` are the dataclasses it may contain.

    Raises:
        TypeError: ``value`` holds something the format does not carry (a bug, not the user's).
    """
    encoder = _Encoder(types)
    tree = encoder.tree(value)
    header = {"tree": tree, "arrays": [[a.dtype.str, list(a.shape)] for a in encoder.arrays]}
    head = _canonical(header).encode()
    # One copy of the arrays' bytes (contiguous, little-endian: their buffers are the bytes).
    return b"".join([MAGIC, len(head).to_bytes(8, "little"), head,
                     *[array.data for array in encoder.arrays]])


def decode_state(blob: bytes, types: Iterable[type] = ()) -> Any:
    """The value ``encode_state`` encoded; CheckpointError for anything else, executing nothing.

    Only dataclasses listed in ``types`` can come back; their fields are set directly.
    """
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise CheckpointError(f"checkpoint: expected bytes, got {type(blob).__name__}")
    blob = bytes(blob)
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 8:
        raise CheckpointError("checkpoint: not a subnetsim data-only checkpoint (unknown format)")
    size = int.from_bytes(blob[len(MAGIC):len(MAGIC) + 8], "little")
    start = len(MAGIC) + 8
    if size > len(blob) - start:
        raise CheckpointError("checkpoint: truncated header")
    try:
        header = json.loads(blob[start:start + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CheckpointError(f"checkpoint: corrupt header ({error})") from None
    if not isinstance(header, dict) or set(header) != {"tree", "arrays"}:
        raise CheckpointError("checkpoint: corrupt header (expected tree and arrays)")
    arrays = _arrays(header["arrays"], memoryview(blob)[start + size:])
    decoder = _Decoder({_type_name(cls): cls for cls in types}, arrays)
    try:
        return decoder.tree(header["tree"], 0)
    except (TypeError, ValueError, KeyError, IndexError, RecursionError) as error:
        raise CheckpointError(f"checkpoint: corrupt tree ({error})") from None


def _arrays(specs: Any, body: memoryview) -> list[np.ndarray]:
    if not isinstance(specs, list):
        raise CheckpointError("checkpoint: corrupt array table")
    arrays, offset = [], 0
    for index, spec in enumerate(specs):
        if (not isinstance(spec, list) or len(spec) != 2 or spec[0] not in _ALLOWED_DTYPES
                or not isinstance(spec[1], list) or len(spec[1]) > 8
                or not all(type(d) is int and 0 <= d < 2**40 for d in spec[1])):
            raise CheckpointError(f"checkpoint: array {index}: bad dtype or shape")
        dtype = np.dtype(spec[0])
        nbytes = math.prod(spec[1]) * dtype.itemsize
        if offset + nbytes > len(body):
            raise CheckpointError(f"checkpoint: array {index}: data truncated")
        raw = np.frombuffer(body[offset:offset + nbytes], dtype=dtype)
        arrays.append(raw.reshape(spec[1]).astype(dtype.newbyteorder("="), copy=True))
        offset += nbytes
    if offset != len(body):
        raise CheckpointError(f"checkpoint: {len(body) - offset} bytes after the last array")
    return arrays


class _Decoder:
    def __init__(self, types: dict[str, type], arrays: list[np.ndarray]) -> None:
        self.types = types
        self.arrays = arrays

    def tree(self, node: Any, depth: int) -> Any:  # noqa: PLR0911 - one branch per tag
        if depth > MAX_DEPTH:
            raise ValueError("nested too deeply")
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):
            return [self.tree(item, depth + 1) for item in node]
        if not isinstance(node, dict) or not node:
            raise TypeError(f"unexpected {type(node).__name__}")
        tag = next(iter(node))
        if tag == "o":
            return self.dataclass(node, depth)
        if len(node) != 1:
            raise ValueError(f"tag {tag!r} with extra keys")
        body = node[tag]
        if tag in ("t", "fs", "s"):
            items = [self.tree(item, depth + 1) for item in _list(body)]
            return {"t": tuple, "fs": frozenset, "s": set}[tag](items)
        if tag == "d":
            pairs = [_list(pair) for pair in _list(body)]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError("dict entries must be [key, value]")
            return {self.tree(k, depth + 1): self.tree(v, depth + 1) for k, v in pairs}
        if tag == "b" and isinstance(body, str):
            return bytes.fromhex(body)
        if tag == "f" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag in ("a", "n", "pt") and type(body) is int:
            return self.array(tag, body)
        raise ValueError(f"unknown tag {tag!r}")

    def array(self, tag: str, index: int) -> Any:
        if not 0 <= index < len(self.arrays):
            raise IndexError(f"array {index} does not exist")
        array = self.arrays[index]
        if tag == "n":
            return array[()] if array.ndim == 0 else array
        if tag == "pt":
            import torch

            return torch.from_numpy(array.copy())
        return array.copy()

    def dataclass(self, node: dict[str, Any], depth: int) -> Any:
        if set(node) != {"o", "v"} or not isinstance(node["v"], dict):
            raise ValueError("object entries must be {o, v}")
        cls = self.types.get(node["o"])
        if cls is None:
            raise TypeError(f"type {node['o']!r} is not allowed in a checkpoint")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        stored = node["v"]
        wanted = {name for name in fields if not name.startswith("_")}
        optional = {name for name in wanted if fields[name].metadata.get(OMIT_IF_DEFAULT)}
        if not wanted - optional <= set(stored) <= wanted:
            raise ValueError(f"{node['o']}: fields {sorted(set(stored) ^ wanted)} differ")
        instance: Any = object.__new__(cls)
        for name, field in fields.items():
            if name in stored:
                value = self.tree(stored[name], depth + 1)
            elif field.default_factory is not dataclasses.MISSING:
                value = field.default_factory()
            else:
                value = field.default
            object.__setattr__(instance, name, value)
        return instance


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value
