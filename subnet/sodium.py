"""Batches of libsodium Ed25519 signatures and verifications, run without Python in the loop.

A signed run makes one signature and one verification per reply (``subnet.provenance``),
about 30 + 70 us of libsodium each, and the simulation spends about as much on the reply
itself; so the signing worker (``subnet.signing_worker``) runs them on a thread beside the
simulation. Calling libsodium from Python would not let that thread run: each call releases
the GIL, but the thread must take it back after every call, and it waits up to the switch
interval (5 ms) while the simulation runs Python. Here a whole batch is one call of a
numba-compiled loop (``nogil``) that calls libsodium's ``crypto_sign`` and
``crypto_sign_open`` directly, at the addresses PyNaCl's own binding of its bundled
libsodium exports (``nacl._sodium``): the same library and functions ``nacl.bindings``
calls, minus the Python wrapper per call. No cryptography is written here: the loop only
lays out libsodium's buffers (``signature || message``, as ``crypto_sign`` makes and
``crypto_sign_open`` takes them).

Both libsodium functions take five machine words (pointers and ``unsigned long long``
lengths) and return an ``int``; the function address is an argument (not a compiled-in
constant), so numba can cache the compiled loops on disk like the Yuma kernel's.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from nacl import bindings as _bindings  # noqa: F401 - importing it runs sodium_init()
from nacl._sodium import ffi, lib
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["PUBLIC_KEY_BYTES", "SECRET_KEY_BYTES", "SIGNATURE_BYTES", "open_rows", "sign_rows"]

SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32
SECRET_KEY_BYTES = 64  # libsodium's: seed || public key


def _address(name: str) -> int:
    return int(ffi.cast("uintptr_t", ffi.addressof(lib, name)))


CRYPTO_SIGN = _address("crypto_sign")
CRYPTO_SIGN_OPEN = _address("crypto_sign_open")


@intrinsic
def _call(typingctx, function, a, b, c, d, e):
    """Call the C function at address ``function`` with five 64-bit words; its int result."""
    word = types.uint64

    def codegen(context, builder, signature, args):
        c_type = ir.FunctionType(ir.IntType(32), [ir.IntType(64)] * 5)
        return builder.call(builder.inttoptr(args[0], c_type.as_pointer()), args[1:])

    return types.int32(word, word, word, word, word, word), codegen


@njit(nogil=True, cache=True)
def _sign(crypto_sign, messages, secret_keys, key_rows, signatures):
    count, width = messages.shape
    signed = np.empty(SIGNATURE_BYTES + width, np.uint8)  # crypto_sign's output
    length = np.zeros(1, np.uint64)
    for row in range(count):
        _call(  # type: ignore[call-arg]  # the intrinsic's own typing
            np.uint64(crypto_sign), np.uint64(signed.ctypes.data),
            np.uint64(length.ctypes.data), np.uint64(messages[row].ctypes.data),
            np.uint64(width), np.uint64(secret_keys[key_rows[row]].ctypes.data))
        signatures[row, :] = signed[:SIGNATURE_BYTES]


@njit(nogil=True, cache=True)
def _open(crypto_sign_open, messages, signatures, signature_rows, public_keys,
          verdicts, slots):
    count, width = messages.shape
    signed = np.empty(SIGNATURE_BYTES + width, np.uint8)  # what crypto_sign_open reads
    opened = np.empty(SIGNATURE_BYTES + width, np.uint8)
    length = np.zeros(1, np.uint64)
    for row in range(count):
        signed[:SIGNATURE_BYTES] = signatures[signature_rows[row]]
        signed[SIGNATURE_BYTES:] = messages[row]
        verdicts[slots[row]] = _call(  # type: ignore[call-arg]  # the intrinsic's own typing
            np.uint64(crypto_sign_open), np.uint64(opened.ctypes.data),
            np.uint64(length.ctypes.data), np.uint64(signed.ctypes.data),
            np.uint64(SIGNATURE_BYTES + width), np.uint64(public_keys[row].ctypes.data)) == 0


def sign_rows(messages: np.ndarray, secret_keys: np.ndarray, key_rows: np.ndarray,
              signatures: np.ndarray) -> np.ndarray:
    """Write into ``signatures[i]`` (uint8, (n, 64)) the Ed25519 signature of ``messages[i]``
    (uint8, (n, width), C order) by ``secret_keys[key_rows[i]]`` (libsodium's 64-byte secret
    keys, (keys, 64)); returns ``signatures``. Releases the GIL while it runs."""
    _sign(CRYPTO_SIGN, messages, secret_keys, key_rows, signatures)
    return signatures


def open_rows(messages: np.ndarray, signatures: np.ndarray, signature_rows: np.ndarray,
              public_keys: np.ndarray, verdicts: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Set ``verdicts[slots[i]]`` to whether ``signatures[signature_rows[i]]`` is a valid
    Ed25519 signature of ``messages[i]`` under ``public_keys[i]`` (uint8, (n, 32));
    returns ``verdicts``. Releases the GIL while it runs."""
    _open(CRYPTO_SIGN_OPEN, messages, signatures, signature_rows, public_keys, verdicts, slots)
    return verdicts
