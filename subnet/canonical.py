"""Canonical bytes of plain JSON data, for hashing: one byte string per value, fast on numbers.

The block hash covers every extrinsic, event and epoch record. Their canonical JSON text spent
most of its time printing floats (``repr`` of a float costs ~0.8 us; a ``set_weights`` call
carries 192 of them), so what is hashed is this binary form instead: type-tagged,
length-prefixed, floats as their IEEE-754 float64 bytes, lists of plain floats or ints packed
as one array. It is defined on what JSON carries, so a record read back from the run store's
JSON hashes exactly as the one the chain produced:

* a tuple encodes as a list (JSON has only arrays), a float subclass as its float value, and
  a mapping's keys are sorted, as text (an ``int`` key as its decimal text, as JSON writes
  it);
* ``int`` and ``float`` stay apart (``1`` and ``1.0`` are different JSON), so do ``-0.0`` and
  ``0.0``; NaN and infinities are refused, as ``canonical_json`` refuses them;
* anything else (a set, bytes, a numpy integer) is a TypeError, as it is for ``json.dumps``;
* except a numpy array of at least one dimension, which encodes exactly as its ``tolist()``
  (the list the run store writes): an epoch record holds ~40,000 numbers, and packing the
  array's own bytes spares building and unpacking that many Python objects
  (``records.epoch_to_data(arrays=True)``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["canonical_bytes"]

_FLOAT = struct.Struct("<d")
_COUNT = struct.Struct("<Q")
_TEXTS: dict[str, bytes] = {}
_TEXTS_KEPT = 4096


def canonical_bytes(value: Any) -> bytes:
    """The canonical bytes of ``value`` (plain JSON data; see the module docstring).

    Raises:
        TypeError: a value JSON cannot carry.
        ValueError: a NaN or infinite float.
    """
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def _encode(value: Any, out: bytearray) -> None:
    encode = _BY_TYPE.get(type(value))
    if encode is None:  # a subclass (a numpy float, an IntEnum, an OrderedDict, ...)
        encode = _by_isinstance(value)
    encode(value, out)


def _by_isinstance(value: Any) -> Any:
    if isinstance(value, bool):
        return _encode_bool
    if isinstance(value, np.ndarray):  # a subclass (np.matrix): as the plain array it holds
        return lambda array, out: _encode_array(np.asarray(array), out)
    for kind, encode in _BY_TYPE.items():
        if kind is not type(None) and isinstance(value, kind):
            return encode
    if isinstance(value, Mapping):
        return _encode_mapping
    raise TypeError(f"canonical bytes: a {type(value).__name__} is not JSON data")


def _encode_none(value: None, out: bytearray) -> None:
    out += b"N"


def _encode_bool(value: bool, out: bytearray) -> None:
    out += b"T" if value else b"F"


def _encode_str(value: str, out: bytearray) -> None:
    out += b"S" + _text(str(value))


def _text(value: str) -> bytes:
    """Length-prefixed UTF-8, memoised: keys and hotkeys recur in every record."""
    data = _TEXTS.get(value)
    if data is None:
        encoded = value.encode()
        data = _COUNT.pack(len(encoded)) + encoded
        if len(_TEXTS) >= _TEXTS_KEPT:
            _TEXTS.clear()
        _TEXTS[value] = data
    return data


def _encode_int(value: int, out: bytearray) -> None:
    text = int(value).__repr__().encode()
    out += b"I" + _COUNT.pack(len(text)) + text


def _encode_float(value: float, out: bytearray) -> None:
    number = float(value)
    if number - number != 0.0:  # NaN or infinite
        raise ValueError(f"canonical bytes: {number!r} is not JSON")
    out += b"D" + _FLOAT.pack(number)


def _encode_mapping(value: Mapping[Any, Any], out: bytearray) -> None:
    if set(map(type, value)) <= {str}:  # distinct str keys: sorting never compares values
        items = sorted(value.items())
    else:
        items = sorted(((_key(key), item) for key, item in value.items()), key=_first)
    out += b"M" + _COUNT.pack(len(items))
    for key, item in items:
        out += _text(key)
        _encode(item, out)


def _encode_list(values: list[Any] | tuple[Any, ...], out: bytearray) -> None:
    """A list; all floats (or all ints in int64) go as one packed array. Which form a list
    takes depends only on what JSON keeps of it (float or int per entry), so a list read back
    from JSON (plain floats where there were numpy floats) encodes the same."""
    kinds = set(map(type, values))
    if kinds and (kinds == {float} or all(issubclass(kind, float) for kind in kinds)):
        total = sum(values)  # finite unless an entry is not (or the sum overflows)
        if total - total != 0.0 and not all(map(math.isfinite, values)):
            raise ValueError("canonical bytes: NaN or infinity is not JSON")
        out += b"d" + _COUNT.pack(len(values)) + struct.pack(f"<{len(values)}d", *values)
        return
    if kinds and all(issubclass(kind, int) and kind is not bool for kind in kinds):
        try:
            packed = struct.pack(f"<{len(values)}q", *values)
        except struct.error:  # beyond int64: entry by entry
            pass
        else:
            out += b"i" + _COUNT.pack(len(values)) + packed
            return
    out += b"L" + _COUNT.pack(len(values))
    for item in values:
        _encode(item, out)


_FALSE_TRUE = np.frombuffer(b"FT", dtype=np.uint8)  # a bool's tag, indexed by the bool


def _encode_array(value: np.ndarray, out: bytearray) -> None:
    """An array as ``value.tolist()`` encodes (``_encode_list``), from the array's bytes.

    ``tolist()`` turns float entries (up to float64) into Python floats, integer entries into
    ints and bools into bools, so: a non-empty float row is the packed float64 list, an
    integer row that fits int64 the packed int64 list, a bool row a plain list of tags, an
    empty row an empty plain list, and a matrix a plain list of its rows. Anything else goes
    through the list itself."""
    kind, size = value.dtype.kind, value.dtype.itemsize
    if value.ndim == 0:  # a numpy scalar in effect: refused as one is (inside a list it
        # would not encode as its value does: lists of numbers are packed by entry type)
        raise TypeError("canonical bytes: a 0-d array is not JSON data")
    if value.ndim > 1 or not len(value):
        if kind not in "fiub":
            _encode(value.tolist(), out)
            return
        out += b"L" + _COUNT.pack(len(value))
        for row in value:  # a matrix's rows (none for an empty vector)
            _encode_array(row, out)
    elif kind == "f" and size <= 8:
        if not np.isfinite(value).all():
            raise ValueError("canonical bytes: NaN or infinity is not JSON")
        out += b"d" + _COUNT.pack(len(value)) + value.astype("<f8").tobytes()
    elif kind == "i" or (kind == "u" and (size < 8 or int(value.max()) < 2**63)):
        out += b"i" + _COUNT.pack(len(value)) + value.astype("<i8").tobytes()
    elif kind == "b":
        out += b"L" + _COUNT.pack(len(value)) + _FALSE_TRUE[value.view(np.uint8)].tobytes()
    else:
        _encode(value.tolist(), out)


_BY_TYPE: dict[type, Any] = {
    type(None): _encode_none, bool: _encode_bool, str: _encode_str, int: _encode_int,
    float: _encode_float, list: _encode_list, tuple: _encode_list, dict: _encode_mapping,
    np.ndarray: _encode_array,
}


def _first(item: tuple[str, Any]) -> str:
    return item[0]


def _key(key: Any) -> str:
    """A mapping key as JSON writes it (``json.dumps`` turns other keys into text)."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool):
        return {None: "null", True: "true", False: "false"}[key]
    if isinstance(key, int):
        return str(int(key))
    if isinstance(key, float):
        return repr(float(key))
    raise TypeError(f"canonical bytes: a {type(key).__name__} key is not JSON data")
