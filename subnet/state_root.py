"""The ledger's state root, kept up to date instead of recomputed: only what changed is hashed.

Every block's hash commits to the ledger's state root, so the root is computed 7,200 times a
simulated day. Rehashing the (n, n) weight and bond matrices whole each time a row changed, and
printing the hotkeys and balances, was most of a block's cost. Here:

* each matrix's digest is the hash of its rows' digests (a two-level Merkle tree); a ledger
  writer names the rows it wrote (``MatrixDigest.touched``) and only those are rehashed. The
  ledger keeps its matrices read-only between its own writes, so a write from anywhere else
  fails loudly; a matrix found writeable, or replaced by another array, is rehashed whole;
* the hotkeys' text is reused while the list is equal to the copy it was printed from (its
  entries are ``str`` or ``None``, for which equality means the same text);
* the uid vectors (their bytes) are hashed into a digest of their own, reused while the bytes
  are equal to the last block's (comparing bytes costs far less than hashing);
* so are the balances (their sorted coldkeys' text and their values as float64 bytes), reused
  while the dict equals a copy of the last one hashed: equal float values have equal bytes
  except ``0.0`` and ``-0.0``, so a copy holding a zero is never trusted this way;
* the hash state after the parts that rarely change (the vectors', matrices' and hotkeys'
  parts, in the root's order) is kept and copied, so a block whose burn alone moved (every
  block: it decays) hashes a few dozen bytes, not the ~3.5 KiB of hotkeys' text again.

``StateRoot.of(ledger)`` is the only place the root is defined; the uncached formula a test
checks it against is in ``tests/subnet/test_state_root.py``.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["MATRICES", "VECTORS", "BytesDigest", "MatrixDigest", "StateRoot", "row_digests_hash"]

VECTORS = ("registered", "block_at_registration", "stake", "last_update", "validator_permit")
MATRICES = ("weights", "weight_set", "bonds")
_ROW = 32  # bytes of a row digest


def _row_digest(row: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(row).data, digest_size=_ROW).digest()


def row_digests_hash(row_digests: bytes) -> bytes:
    """A matrix's digest: the hash of its rows' digests, in row order."""
    return hashlib.blake2b(row_digests, digest_size=32).digest()


class MatrixDigest:
    """The digest of one ledger matrix, rehashing only the rows written since the last one."""

    __slots__ = ("dirty", "matrix", "rows", "value")

    def __init__(self) -> None:
        self.matrix: np.ndarray | None = None  # the array the digest was taken of
        self.rows = bytearray()  # row digests, _ROW bytes each
        self.dirty: set[int] | None = None  # rows written since (None: all of them)
        self.value = b""

    def touched(self, rows: Iterable[int] | None) -> None:
        """The ledger wrote ``rows`` of the matrix (None: any row)."""
        if rows is None:
            self.dirty = None
        elif self.dirty is not None:
            self.dirty.update(rows)

    def digest(self, matrix: np.ndarray) -> bytes:
        """The matrix's digest; locks it read-only (the ledger's writers unlock it)."""
        if not self.dirty and self.dirty is not None and matrix is self.matrix and (
                not matrix.flags.writeable):
            return self.value  # the common case: nothing written since
        whole = (self.dirty is None or matrix is not self.matrix or matrix.flags.writeable
                 or len(self.rows) != len(matrix) * _ROW)
        if whole:
            self.rows = bytearray(b"".join(_row_digest(row) for row in matrix))
        elif self.dirty:
            for row in self.dirty:
                self.rows[row * _ROW:(row + 1) * _ROW] = _row_digest(matrix[row])
        if whole or self.dirty:
            self.value = row_digests_hash(bytes(self.rows))
        matrix.flags.writeable = False
        self.matrix, self.dirty = matrix, set()
        return self.value


class BytesDigest:
    """The 32-byte BLAKE2b digest of some bytes, kept while the next bytes are the same
    (comparing a few KiB with the last block's is much cheaper than hashing them)."""

    __slots__ = ("data", "value")

    def __init__(self) -> None:
        self.data: bytes | None = None
        self.value = b""

    def of(self, data: bytes) -> bytes:
        if data != self.data:
            self.value = hashlib.blake2b(data, digest_size=32).digest()
            self.data = data
        return self.value


class StateRoot:
    """What the ledger's root reuses between blocks (never part of a checkpoint)."""

    __slots__ = ("balances", "balances_digest", "halted", "halted_text", "hotkeys",
                 "hotkeys_text", "matrices", "prefix", "prefix_parts", "vectors")

    def __init__(self) -> None:
        self.matrices = {name: MatrixDigest() for name in MATRICES}
        self.vectors = BytesDigest()
        self.hotkeys: list[Any] | None = None
        self.hotkeys_text = b""
        self.prefix_parts: tuple[bytes, ...] = ()  # what ``prefix`` has hashed
        self.prefix = hashlib.blake2b(digest_size=32)
        self.halted: frozenset[str] | None = None
        self.halted_text = ""
        self.balances: dict[str, float] | None = None  # a copy of the balances last hashed
        self.balances_digest = b""

    def touched(self, name: str, rows: Iterable[int] | None) -> None:
        """The ledger wrote ``rows`` (None: any) of matrix ``name``."""
        self.matrices[name].touched(rows)

    def of(self, ledger: Any) -> str:  # a ``Ledger`` (which imports this module)
        """The state root of ``ledger``: the hash of its uid vectors' digest, its matrices'
        digests, its hotkeys' text, (epoch count, burn, halted scopes) as text and its
        balances' digest."""
        parts = (self._vectors_digest(ledger),
                 *[self.matrices[name].digest(getattr(ledger, name)) for name in MATRICES],
                 self._hotkeys_text(ledger.hotkeys))
        if parts != self.prefix_parts:
            self.prefix = hashlib.blake2b(parts[0], digest_size=32)
            for part in parts[1:]:
                self.prefix.update(part)
            self.prefix_parts = parts
        hasher = self.prefix.copy()
        # The text of the tuple (epoch count, burn, sorted halted scopes), as its repr.
        hasher.update(f"({ledger.epoch_index!r}, {ledger.burn!r}, "
                      f"{self._halted_text(ledger.halted_scopes)})".encode())
        hasher.update(self._balances_digest(ledger.balances))
        return hasher.hexdigest()

    def _vectors_digest(self, ledger: Any) -> bytes:
        """The hash of the uid vectors' bytes back to back (comparing ~6 KiB of bytes with
        the last block's is much cheaper than hashing them)."""
        return self.vectors.of(b"".join([getattr(ledger, name).tobytes()  # C order
                                         for name in VECTORS]))

    def _hotkeys_text(self, hotkeys: list[Any]) -> bytes:
        if hotkeys != self.hotkeys:
            self.hotkeys_text = repr(hotkeys).encode()
            self.hotkeys = list(hotkeys) if _plain_strings(hotkeys) else None
        return self.hotkeys_text

    def _halted_text(self, scopes: frozenset[str]) -> str:
        """``repr(sorted(scopes))``, kept while the scopes are the same frozenset object (it
        cannot change; the kept reference keeps its id from being reused)."""
        if scopes is not self.halted:
            self.halted_text = repr(sorted(scopes))
            self.halted = scopes if type(scopes) is frozenset else None
        return self.halted_text

    def _balances_digest(self, balances: dict[str, float]) -> bytes:
        """The hash of the sorted coldkeys' repr and their balances' float64 bytes."""
        if balances == self.balances:  # same keys, equal values, no zero: the same bytes
            return self.balances_digest
        keys = sorted(balances)
        values = struct.pack(f"<{len(keys)}d", *[balances[key] for key in keys])
        self.balances_digest = hashlib.blake2b(repr(keys).encode() + values,
                                               digest_size=32).digest()
        # Kept only where equality means equal bytes: str keys (their repr is their text)
        # and no zero value (0.0 == -0.0); the dict's order does not matter (keys sorted).
        trusted = _plain_strings(keys) and 0.0 not in balances.values()
        self.balances = dict(balances) if trusted else None
        return self.balances_digest


def _plain_strings(values: list[Any]) -> bool:
    """Whether equality of these entries means equal text (``str`` or ``None`` only): only
    then is a cache compared by equality."""
    return set(map(type, values)) <= {str, type(None)}
