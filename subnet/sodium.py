"""Batches of output digests, Ed25519 signatures and verifications over libsodium, and the
native thread that runs them, without Python in the loop.

A signed run digests, signs and verifies every reply (``subnet.provenance``): about 20-30 us
of libsodium to sign and 70-80 us to verify, plus the digests and message bytes, as much as
the simulation spends on the reply itself; so the signing worker (``subnet.signing_worker``)
runs them beside the simulation, and the simulation only hands over addresses. A batch is one
call of a numba-compiled loop that calls libsodium's ``crypto_generichash_blake2b_*``,
``crypto_sign`` and ``crypto_sign_open`` directly, at the addresses PyNaCl's own binding of
its bundled libsodium exports (``nacl._sodium``): the same library and functions
``nacl.bindings`` calls, minus the Python wrapper per call. No cryptography is written here:
the loops only lay out libsodium's buffers (the message ``prefix || hex(digest)``, and
``signature || message`` as ``crypto_sign`` makes and ``crypto_sign_open`` takes it).

The batches run on a native thread (``_serve``, started with ``pthread_create``) that never
holds Python's GIL: a Python thread beside the simulation had to take the GIL back after every
batch, and the hand-overs cost the simulation more than the batches saved it (measured: with
the libsodium calls replaced by no-ops, that thread still added 40-70% to the simulation's
main-thread CPU). The thread and its callers share a *control block*, one int64 array: a
header (counters, a pthread mutex and two condition variables, the C functions' addresses) and
a ring of job slots, each a job's kind, progress and its arrays' addresses and shapes; everything
in it is read and written under the mutex. A job's rows are handed out ``CHUNK`` at a time, to
the thread and to a caller that waits for the job (``_help``): a result needed at once is made
on both cores. (One file with the batches it runs: numba's disk
cache of a function is checked against its own file only.)

C functions are called through ``_call``: every argument a 64-bit word (pointers and
``unsigned long long`` lengths), an ``int`` back; the function's address is an argument, not a
compiled-in constant, so numba caches the compiled code on disk like the Yuma kernel's.
"""

from __future__ import annotations

import ctypes
import functools
import signal
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from llvmlite import ir
from nacl import bindings as _bindings  # noqa: F401 - importing it runs sodium_init()
from nacl._sodium import ffi, lib
from numba import carray, cfunc, njit, types
from numba.extending import intrinsic

__all__ = ["CAPACITY", "CLAIM_BYTES", "DIGEST_BYTES", "GIVEN", "HEADER_AT", "PUBLIC_KEY_BYTES",
           "SECRET_KEY_BYTES", "SIGNATURE_BYTES", "SOURCE_WORDS", "Control", "digest_rows",
           "job_words", "open_replies", "reply_message_bytes", "sign_replies"]

SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32
SECRET_KEY_BYTES = 64  # libsodium's: seed || public key
DIGEST_BYTES = 32  # an output digest: BLAKE2b-256
CLAIM_BYTES = DIGEST_BYTES + SIGNATURE_BYTES  # a signed reply's row: output digest || signature
PERSONAL = tuple(b"subnetsim-out".ljust(16, b"\0"))  # the output digest's BLAKE2b personalisation
#   (16 bytes, zero-padded: what hashlib's ``person=b"subnetsim-out"`` makes of it)
HEX = tuple(b"0123456789abcdef")
# A source row (int64 words): where the bytes of one output digest are. The digest is BLAKE2b
# of the header bytes ``headers[HEADER_AT:HEADER_AT + HEADER_LENGTH]`` then ``DATA_BYTES``
# bytes at address ``DATA_AT`` (0 bytes: the header only). HEADER_LENGTH ``GIVEN``: the
# digest is not computed, the caller gave it (``open_replies``' ``digests`` row).
HEADER_AT, HEADER_LENGTH, DATA_AT, DATA_BYTES = range(4)
SOURCE_WORDS = 4
GIVEN = -1

# The control block (int64 words). Header: the counters, the C functions' addresses (pthreads'
# and libsodium's) and the addresses of the mutex and conditions, whose storage follows (16
# words each: more than glibc's or macOS's pthread_mutex_t and pthread_cond_t need).
HEAD, CURSOR, STOP, MUTEX, WORK, DONE = range(6)  # WORK: a job was queued; DONE: one finished
LOCK, UNLOCK, WAIT, SIGNAL, BROADCAST = range(6, 11)
SLEEPING, WAITERS = 11, 12  # the thread waits on WORK; how many wait on DONE
LIBRARY = 13  # libsodium's functions the batches call, in ``LIBRARY_NAMES``' order
LIBRARY_NAMES = ("crypto_sign", "crypto_sign_open",
                 "crypto_generichash_blake2b_init_salt_personal",
                 "crypto_generichash_blake2b_update", "crypto_generichash_blake2b_final")
SIGN_AT, OPEN_AT, HASH_INIT_AT, HASH_UPDATE_AT, HASH_FINAL_AT = range(len(LIBRARY_NAMES))
FLOOR = 18  # every job below this seq has finished (advanced when a job is published)
# Conditions are signalled after the mutex is let go, and only when someone waits on them: a
# woken thread would otherwise run at once on a busy machine and block on the mutex its waker
# still holds (two context switches per job, measured ~40 us a job).
SYNC_STORAGE = {MUTEX: 24, WORK: 40, DONE: 56}  # where each one's 16 words start
RING = 72  # where the job slots start
# A slot: its job's sequence number, what it runs, its arrays' addresses and sizes, and its
# progress (a job has finished once all its rows are done).
SEQ, KIND, AFTER, ROWS = range(4)
PREFIX_AT, PREFIX_BYTES, HEADERS_AT, HEADERS_BYTES, SOURCES_AT = range(4, 9)
TABLE_AT, TABLE_ROWS, ROW_INDEX_AT, OUTPUT_AT = range(9, 13)  # sign: secret keys, key rows
DIGESTS_AT, KEYS_AT, VERDICTS_AT, VERDICTS, SLOTS_AT = range(13, 18)  # open only; its TABLE:
#   the claims, ROW_INDEX: each row's claim; OUTPUT unused
NEXT, ROWS_DONE = 18, 19  # the first row not yet handed out; rows finished
SLOT_WORDS = 24
CHUNK = 2  # rows handed out at a time: the thread and a caller waiting for the job share it
CAPACITY = 64  # slots; the simulation keeps at most ~16 jobs queued (signing_worker)
CONTROL_WORDS = RING + CAPACITY * SLOT_WORDS
SIGN, OPEN = 1, 2  # a slot's KIND
STATE_SPACE = 1024  # bytes for libsodium's BLAKE2b state (384 in every release so far)


def _address(name: str) -> int:
    return int(ffi.cast("uintptr_t", ffi.addressof(lib, name)))


LIBRARY_ADDRESSES = np.array([_address(name) for name in LIBRARY_NAMES], np.int64)
if lib.crypto_generichash_statebytes() > STATE_SPACE:  # a libsodium with a larger hash state
    raise ImportError(f"libsodium's BLAKE2b state is over {STATE_SPACE} bytes")


@intrinsic
def _call(typingctx, function, words):
    """Call the C function at address ``function`` with ``words`` (a tuple of uint64 machine
    words); its int result."""
    if not isinstance(words, types.UniTuple) or words.dtype != types.uint64:
        return None
    count = words.count

    def codegen(context, builder, signature, args):
        c_type = ir.FunctionType(ir.IntType(32), [ir.IntType(64)] * count)
        values = [builder.extract_value(args[1], index) for index in range(count)]
        return builder.call(builder.inttoptr(args[0], c_type.as_pointer()), values)

    return types.int32(types.uint64, words), codegen


def _pointer_to(element: types.Type) -> Any:
    """An intrinsic turning an address (int64) into a typed pointer (for ``carray``)."""

    @intrinsic
    def pointer(typingctx, address):
        pointer_type = types.CPointer(element)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(pointer_type))

        return pointer_type(types.int64), codegen

    return pointer


_bytes_at = _pointer_to(types.uint8)
_int64s_at = _pointer_to(types.int64)
_bools_at = _pointer_to(types.boolean)


@njit(nogil=True, cache=True)
def _u64(value):
    return np.uint64(value)


@njit(nogil=True, cache=True)
def _personal():
    personal = np.empty(16, np.uint8)
    for index in range(16):
        personal[index] = PERSONAL[index]
    return personal


@njit(nogil=True, cache=True)
def _digest(library, headers, source, state, personal, digest):
    """Write into ``digest`` (32 bytes) libsodium's personalised BLAKE2b-256 of ``source``'s
    header bytes then its data bytes (``state``: scratch for libsodium's hash state)."""
    at = _u64(state.ctypes.data)
    _call(_u64(library[HASH_INIT_AT]), (  # type: ignore[call-arg]  # the intrinsic's typing
        at, _u64(0), _u64(0), _u64(DIGEST_BYTES), _u64(0), _u64(personal.ctypes.data)))
    _call(_u64(library[HASH_UPDATE_AT]), (
        at, _u64(headers.ctypes.data + source[HEADER_AT]), _u64(source[HEADER_LENGTH])))
    if source[DATA_BYTES] > 0:
        _call(_u64(library[HASH_UPDATE_AT]), (
            at, _u64(source[DATA_AT]), _u64(source[DATA_BYTES])))
    _call(_u64(library[HASH_FINAL_AT]), (
        at, _u64(digest.ctypes.data), _u64(DIGEST_BYTES)))


@njit(nogil=True, cache=True)
def _write_message(prefix, digest, message):
    """The bytes a reply's signature covers: ``prefix`` then the digest in lowercase hex."""
    start = len(prefix)
    message[:start] = prefix
    for index in range(DIGEST_BYTES):
        message[start + 2 * index] = HEX[digest[index] >> 4]
        message[start + 2 * index + 1] = HEX[digest[index] & 15]


@njit(nogil=True, cache=True)
def _digest_rows(library, headers, sources, digests):
    state, personal = np.empty(STATE_SPACE, np.uint8), _personal()
    for row in range(sources.shape[0]):
        _digest(library, headers, sources[row], state, personal, digests[row])


@njit(nogil=True, cache=True)
def _sign(library, prefix, headers, sources, secret_keys, key_rows, claims, start, stop):
    width = len(prefix) + 2 * DIGEST_BYTES
    state, personal = np.empty(STATE_SPACE, np.uint8), _personal()
    signed = np.empty(SIGNATURE_BYTES + width, np.uint8)  # crypto_sign's output
    message = np.empty(width, np.uint8)
    length = np.zeros(1, np.uint64)
    for row in range(start, stop):
        digest = claims[row, :DIGEST_BYTES]
        _digest(library, headers, sources[row], state, personal, digest)
        _write_message(prefix, digest, message)
        _call(_u64(library[SIGN_AT]), (  # type: ignore[call-arg]
            _u64(signed.ctypes.data), _u64(length.ctypes.data), _u64(message.ctypes.data),
            _u64(width), _u64(secret_keys[key_rows[row]].ctypes.data)))
        claims[row, DIGEST_BYTES:] = signed[:SIGNATURE_BYTES]


@njit(nogil=True, cache=True)
def _open(library, prefix, headers, sources, digests, claims, claim_rows, public_keys,
          verdicts, slots, start, stop):
    width = len(prefix) + 2 * DIGEST_BYTES
    state, personal = np.empty(STATE_SPACE, np.uint8), _personal()
    signed = np.empty(SIGNATURE_BYTES + width, np.uint8)  # what crypto_sign_open reads
    opened = np.empty(SIGNATURE_BYTES + width, np.uint8)
    length = np.zeros(1, np.uint64)
    for row in range(start, stop):
        digest = digests[row]
        if sources[row, HEADER_LENGTH] != GIVEN:
            _digest(library, headers, sources[row], state, personal, digest)
        claim = claims[claim_rows[row]]
        same = True
        for index in range(DIGEST_BYTES):
            if claim[index] != digest[index]:
                same = False
                break
        if not same:  # signed over another output than the one that came
            verdicts[slots[row]] = False
            continue
        signed[:SIGNATURE_BYTES] = claim[DIGEST_BYTES:]
        _write_message(prefix, digest, signed[SIGNATURE_BYTES:])
        verdicts[slots[row]] = _call(_u64(library[OPEN_AT]), (  # type: ignore[call-arg]
            _u64(opened.ctypes.data), _u64(length.ctypes.data), _u64(signed.ctypes.data),
            _u64(SIGNATURE_BYTES + width), _u64(public_keys[row].ctypes.data))) == 0


def reply_message_bytes(prefix: np.ndarray, digest: np.ndarray) -> np.ndarray:
    """``prefix`` then ``digest`` (32 bytes) in lowercase hex: the bytes a reply's signature
    covers, as the batches write them."""
    _check(prefix, np.uint8, (len(prefix),))
    _check(digest, np.uint8, (DIGEST_BYTES,))
    message = np.empty(len(prefix) + 2 * DIGEST_BYTES, np.uint8)
    _write_message(prefix, digest, message)
    return message


def digest_rows(headers: np.ndarray, sources: np.ndarray, digests: np.ndarray) -> np.ndarray:
    """Write into ``digests[i]`` (uint8, (n, 32)) the output digest of source row ``i``
    (int64, (n, 4): see ``HEADER_AT``...) here and now; returns ``digests``."""
    _checked_sources(headers, sources)
    _check(digests, np.uint8, (len(sources), DIGEST_BYTES))
    _digest_rows(LIBRARY_ADDRESSES, headers, sources, digests)
    return digests


def sign_replies(prefix: np.ndarray, headers: np.ndarray, sources: np.ndarray,
                 secret_keys: np.ndarray, key_rows: np.ndarray,
                 claims: np.ndarray) -> np.ndarray:
    """For each source row ``i``: its output digest, and the Ed25519 signature by
    ``secret_keys[key_rows[i]]`` (libsodium's 64-byte keys) of ``prefix`` followed by that
    digest in hex, into ``claims[i]`` (uint8, (n, 96): digest || signature); returns
    ``claims``. Releases the GIL while it runs."""
    _sign(LIBRARY_ADDRESSES, prefix, headers, sources, secret_keys, key_rows, claims, 0,
          len(sources))
    return claims


def open_replies(prefix: np.ndarray, headers: np.ndarray, sources: np.ndarray,
                 digests: np.ndarray, claims: np.ndarray, claim_rows: np.ndarray,
                 public_keys: np.ndarray, verdicts: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """For each source row ``i``: its output digest into ``digests[i]`` (or the one given
    there, where its header length is ``GIVEN``), and into ``verdicts[slots[i]]`` whether the
    claim ``claims[claim_rows[i]]`` names that very digest and carries a valid Ed25519
    signature of ``prefix`` + the digest in hex under ``public_keys[i]``; returns
    ``verdicts``. Releases the GIL while it runs."""
    _open(LIBRARY_ADDRESSES, prefix, headers, sources, digests, claims, claim_rows,
          public_keys, verdicts, slots, 0, len(sources))
    return verdicts


# --- jobs for the native thread ------------------------------------------------------------
# A source's data address is not checked here (no array to check it against): the callers
# (``subnet.provenance``) take it from a live tensor or array, which the job keeps alive.

def _check(array: np.ndarray, dtype: Any, shape: tuple[int, ...]) -> None:
    """ValueError unless ``array`` is a C-ordered ``dtype`` array of ``shape`` (the native
    loop reads it by address: a wrong shape would read outside it)."""
    if (not isinstance(array, np.ndarray) or array.dtype != dtype
            or array.shape != shape or not array.flags.c_contiguous):
        raise ValueError(f"expected a C-ordered {np.dtype(dtype)} array of shape {shape}, got "
                         f"{getattr(array, 'dtype', type(array).__name__)} "
                         f"{getattr(array, 'shape', '')}")


@njit(cache=True)
def _within(index, rows):
    for value in index:  # noqa: SIM110 - numba compiles this loop (all() of a generator: no)
        if value < 0 or value >= rows:
            return False
    return True


@njit(cache=True)
def _sources_within(sources, header_bytes, given):
    """Whether every source's header lies in the headers and its data size is not negative
    (``given``: a GIVEN header length is allowed)."""
    for row in range(sources.shape[0]):
        at, length = sources[row, HEADER_AT], sources[row, HEADER_LENGTH]
        if length == GIVEN and given:
            continue
        if at < 0 or length < 0 or at + length > header_bytes or sources[row, DATA_BYTES] < 0:
            return False
    return True


def _checked_sources(headers: np.ndarray, sources: np.ndarray) -> int:
    """The row count of ``sources`` after checking it and ``headers`` (ValueError); a GIVEN
    header length is refused (digests are computed here, none is given)."""
    rows = len(sources) if isinstance(sources, np.ndarray) and sources.ndim == 2 else -1
    _check(sources, np.int64, (rows, SOURCE_WORDS))
    _check(headers, np.uint8, (len(headers),))
    if not _sources_within(sources, len(headers), False):
        raise ValueError(REFUSALS[2])
    return rows


# The layouts the jobs' arrays must have (numba refuses any other at the call: a TypeError).
_BYTES, _BYTE_ROWS = types.Array(types.uint8, 1, "C"), types.Array(types.uint8, 2, "C")
_WORDS, _WORD_ROWS = types.Array(types.int64, 1, "C"), types.Array(types.int64, 2, "C")
_FLAGS = types.Array(types.boolean, 1, "C")
# Why a job's arrays were refused (``_sign_words``/``_open_words`` return the index; 0: fit).
REFUSALS = ("",  # 0
            f"sources: expected rows of {SOURCE_WORDS} words",  # 1
            "a source's header lies outside the headers, or its size is negative",  # 2
            f"secret keys: expected rows of {SECRET_KEY_BYTES} bytes",  # 3
            "key rows: expected one per source row",  # 4
            f"claims: expected one row of {CLAIM_BYTES} bytes per source row",  # 5
            "key rows outside the secret keys",  # 6
            f"digests: expected one row of {DIGEST_BYTES} bytes per source row",  # 7
            f"claims: expected rows of {CLAIM_BYTES} bytes",  # 8
            "claim rows: expected one per source row",  # 9
            f"public keys: expected one row of {PUBLIC_KEY_BYTES} bytes per source row",  # 10
            "slots: expected one per source row",  # 11
            "claim rows or verdict slots outside their arrays")  # 12


@njit(cache=True)
def _common_words(words, prefix, headers, sources, given):
    """Check the sources against the headers and fill the words both kinds share; a
    ``REFUSALS`` index."""
    if sources.shape[1] != SOURCE_WORDS:
        return 1
    if not _sources_within(sources, len(headers), given):
        return 2
    words[PREFIX_AT], words[PREFIX_BYTES] = prefix.ctypes.data, len(prefix)
    words[HEADERS_AT], words[HEADERS_BYTES] = headers.ctypes.data, len(headers)
    words[SOURCES_AT], words[ROWS] = sources.ctypes.data, sources.shape[0]
    return 0


def _sign_words(words, prefix, headers, sources, secret_keys, key_rows, claims):
    """Check a signing job's arrays and fill its slot's words (one compiled call, not a
    check and a ctypes lookup per array); a ``REFUSALS`` index (0: they fit)."""
    refused = _common_words(words, prefix, headers, sources, False)
    rows = sources.shape[0]
    if refused:
        return refused
    if secret_keys.shape[1] != SECRET_KEY_BYTES:
        return 3
    if key_rows.shape[0] != rows:
        return 4
    if claims.shape[0] != rows or claims.shape[1] != CLAIM_BYTES:
        return 5
    if not _within(key_rows, secret_keys.shape[0]):
        return 6
    words[KIND], words[TABLE_AT], words[TABLE_ROWS] = SIGN, secret_keys.ctypes.data, len(
        secret_keys)
    words[ROW_INDEX_AT], words[OUTPUT_AT] = key_rows.ctypes.data, claims.ctypes.data
    return 0


def _open_words(words, prefix, headers, sources, digests, claims, claim_rows, public_keys,
                verdicts, slots):
    """Check a verification job's arrays and fill its slot's words; a ``REFUSALS`` index."""
    refused = _common_words(words, prefix, headers, sources, True)
    rows = sources.shape[0]
    if refused:
        return refused
    if digests.shape[0] != rows or digests.shape[1] != DIGEST_BYTES:
        return 7
    if claims.shape[1] != CLAIM_BYTES:
        return 8
    if claim_rows.shape[0] != rows:
        return 9
    if public_keys.shape[0] != rows or public_keys.shape[1] != PUBLIC_KEY_BYTES:
        return 10
    if slots.shape[0] != rows:
        return 11
    if not (_within(claim_rows, claims.shape[0]) and _within(slots, len(verdicts))):
        return 12
    words[KIND], words[TABLE_AT], words[TABLE_ROWS] = OPEN, claims.ctypes.data, len(claims)
    words[ROW_INDEX_AT], words[DIGESTS_AT] = claim_rows.ctypes.data, digests.ctypes.data
    words[KEYS_AT], words[SLOTS_AT] = public_keys.ctypes.data, slots.ctypes.data
    words[VERDICTS_AT], words[VERDICTS] = verdicts.ctypes.data, len(verdicts)
    return 0


@functools.cache
def _fillers() -> tuple[Any, Any]:
    """``_sign_words`` and ``_open_words`` compiled for their arrays' layouts only (on first
    use, then from numba's disk cache: importing this module compiles nothing)."""
    return (njit(types.int64(_WORDS, _BYTES, _BYTES, _WORD_ROWS, _BYTE_ROWS, _WORDS,
                             _BYTE_ROWS), cache=True)(_sign_words),
            njit(types.int64(_WORDS, _BYTES, _BYTES, _WORD_ROWS, _BYTE_ROWS, _BYTE_ROWS, _WORDS,
                             _BYTE_ROWS, _FLAGS, _WORDS), cache=True)(_open_words))


_LAYOUTS = {"sign_replies": "prefix, headers: uint8 (n,); sources: int64 (n, 4); secret keys: "
                            "uint8 (n, 64); key rows: int64 (n,); claims: uint8 (n, 96)",
            "open_replies": "prefix, headers: uint8 (n,); sources: int64 (n, 4); digests: "
                            "uint8 (n, 32); claims: uint8 (n, 96); claim rows: int64 (n,); "
                            "public keys: uint8 (n, 32); verdicts: bool (n,); slots: int64 (n,)"}


def job_words(function: Callable[..., np.ndarray],
              args: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray]:
    """A slot's words (kind, sizes, addresses) for ``function(*args)``, ``sign_replies`` or
    ``open_replies``, and the array it writes (what it returns), after checking every array's
    type, layout, shape and index range (ValueError)."""
    if function is sign_replies:
        fill, output = _fillers()[0], args[5:6]
    elif function is open_replies:
        fill, output = _fillers()[1], args[7:8]
    else:
        raise ValueError(f"{getattr(function, '__name__', function)!r} is not a libsodium batch")
    words = np.zeros(SLOT_WORDS, np.int64)
    try:
        refused = fill(words, *args)
    except TypeError:  # numba found no signature for these arguments
        got = ", ".join(f"{getattr(a, 'dtype', type(a).__name__)} {getattr(a, 'shape', '')}"
                        + ("" if getattr(a, "flags", None) is None or a.flags.c_contiguous
                           and a.flags.writeable else " (not C-ordered and writable)")
                        for a in args)
        raise ValueError(f"{function.__name__} expects writable C-ordered arrays "
                         f"({_LAYOUTS[function.__name__]}); got {got}") from None
    if refused:
        raise ValueError(f"{function.__name__}: {REFUSALS[refused]}")
    return words, output[0]


# --- the control block's protocol (everything under its mutex) -----------------------------
# The callers' steps (publish, is_finished, stop) keep the GIL: they take a microsecond, and
# letting the GIL go could hand it to another Python thread for up to the switch interval.
# ``_help``, which runs rows and may block, lets it go.

@njit(nogil=True, cache=True)
def _lock(control):
    _call(np.uint64(control[LOCK]), (np.uint64(control[MUTEX]),))  # type: ignore[call-arg]


@njit(nogil=True, cache=True)
def _unlock(control):
    _call(np.uint64(control[UNLOCK]), (np.uint64(control[MUTEX]),))  # type: ignore[call-arg]


@njit(nogil=True, cache=True)
def _wait(control, condition):
    _call(np.uint64(control[WAIT]), (  # type: ignore[call-arg]
        np.uint64(control[condition]), np.uint64(control[MUTEX])))


@njit(nogil=True, cache=True)
def _slot(seq):
    return RING + (seq % CAPACITY) * SLOT_WORDS


@njit(nogil=True, cache=True)
def _finished(control, seq):
    """Whether job ``seq`` has finished (its slot since taken by a later job: long ago)."""
    base = _slot(seq)
    return control[base + SEQ] != seq or control[base + ROWS_DONE] == control[base + ROWS]


@njit(nogil=True, cache=True)
def _wait_finished(control, seq):
    """With the mutex held: wait until job ``seq`` has finished."""
    while not _finished(control, seq):
        control[WAITERS] += 1
        _wait(control, DONE)
        control[WAITERS] -= 1


@njit(nogil=True, cache=True)
def _finish_locked(control, base):
    """With the mutex held: the job at ``base`` has finished (its last rows are counted);
    wake whoever waits for one (the mutex let go meanwhile, held again on return)."""
    if control[WAITERS]:
        _unlock(control)
        _call(np.uint64(control[BROADCAST]), (  # type: ignore[call-arg]
            np.uint64(control[DONE]),))
        _lock(control)


@njit(nogil=True, cache=True)
def _run_rows(control, base, start, stop):
    """Run rows ``start``..``stop`` of the job in the slot at ``base`` (on whichever thread
    was handed them)."""
    rows = control[base + ROWS]
    library = control[LIBRARY:LIBRARY + len(LIBRARY_NAMES)]
    prefix = carray(_bytes_at(control[base + PREFIX_AT]), (control[base + PREFIX_BYTES],))
    headers = carray(_bytes_at(control[base + HEADERS_AT]), (control[base + HEADERS_BYTES],))
    sources = carray(_int64s_at(control[base + SOURCES_AT]), (rows, SOURCE_WORDS))
    row_index = carray(_int64s_at(control[base + ROW_INDEX_AT]), (rows,))
    if control[base + KIND] == SIGN:
        _sign(library, prefix, headers, sources,
              carray(_bytes_at(control[base + TABLE_AT]), (control[base + TABLE_ROWS],
                                                          SECRET_KEY_BYTES)),
              row_index, carray(_bytes_at(control[base + OUTPUT_AT]), (rows, CLAIM_BYTES)),
              start, stop)
    else:
        _open(library, prefix, headers, sources,
              carray(_bytes_at(control[base + DIGESTS_AT]), (rows, DIGEST_BYTES)),
              carray(_bytes_at(control[base + TABLE_AT]), (control[base + TABLE_ROWS],
                                                          CLAIM_BYTES)),
              row_index, carray(_bytes_at(control[base + KEYS_AT]), (rows, PUBLIC_KEY_BYTES)),
              carray(_bools_at(control[base + VERDICTS_AT]), (control[base + VERDICTS],)),
              carray(_int64s_at(control[base + SLOTS_AT]), (rows,)), start, stop)


@njit(nogil=True, cache=True)
def _rows_left(control, base):
    return control[base + NEXT] < control[base + ROWS]


@njit(nogil=True, cache=True)
def _run_chunk(control, base):
    """With the mutex held: take the job's next ``CHUNK`` rows, run them (the mutex let go
    meanwhile) and count them done, marking the job finished with its last row; how many."""
    start = control[base + NEXT]
    stop = min(start + CHUNK, control[base + ROWS])
    control[base + NEXT] = stop
    _unlock(control)
    _run_rows(control, base, start, stop)
    _lock(control)
    control[base + ROWS_DONE] += stop - start
    if control[base + ROWS_DONE] == control[base + ROWS]:
        _finish_locked(control, base)
    return stop - start


@njit(nogil=True, cache=True)
def _serve_loop(control):
    """The native thread: run queued jobs' rows in order, a chunk at a time (a caller waiting
    for a job runs its rows too), each job after the job it reads (``AFTER``); sleep while no
    row is left to run; return once stopped and drained."""
    _lock(control)
    while True:
        seq = control[CURSOR]
        while seq < control[HEAD] and not _rows_left(control, _slot(seq)):
            seq += 1
        control[CURSOR] = seq
        if seq == control[HEAD]:
            if control[STOP]:
                break
            control[SLEEPING] = 1
            _wait(control, WORK)
            control[SLEEPING] = 0
            continue
        base = _slot(seq)
        after = control[base + AFTER]  # its seq + 1; 0: none
        if after and not _finished(control, after - 1):
            _wait_finished(control, after - 1)
            continue  # its rows may all be handed out meanwhile
        _run_chunk(control, base)
    _unlock(control)


def _serve(address):  # a pthread start routine: void *(*)(void *)
    _serve_loop(carray(address, (CONTROL_WORDS,), np.int64))
    return address


@functools.cache
def _serve_entry() -> Any:
    """The compiled start routine (compiled on first use, then from numba's disk cache)."""
    return cfunc(types.voidptr(types.voidptr), cache=True)(_serve)


@njit(cache=True)
def _publish(control, words, after, backlog):
    """Queue a job (its slot's words, ``after``: the seq of the job it reads, or -1) unless
    more than ``backlog`` jobs wait for the thread or its slot is still in use; its seq (-1:
    not queued, the caller runs it itself) and ``FLOOR`` (the jobs below have finished)."""
    _lock(control)
    floor = control[FLOOR]
    while floor < control[HEAD] and _finished(control, floor):
        floor += 1
    control[FLOOR] = floor
    seq = control[HEAD]
    base = _slot(seq)
    if seq - control[CURSOR] > backlog or (seq >= CAPACITY
                                           and not _finished(control, seq - CAPACITY)):
        _unlock(control)
        return -1, floor
    control[base:base + SLOT_WORDS] = words
    control[base + SEQ], control[base + AFTER] = seq, after + 1
    control[base + NEXT], control[base + ROWS_DONE] = 0, 0
    control[HEAD] = seq + 1
    sleeping = control[SLEEPING]
    _unlock(control)
    if sleeping:
        _call(np.uint64(control[SIGNAL]), (np.uint64(control[WORK]),))  # type: ignore[call-arg]
    return seq, floor


@njit(nogil=True, cache=True)
def _help(control, seq):
    """Run job ``seq``'s rows not yet handed out, a chunk at a time beside the thread, then
    wait until it has finished (the GIL released meanwhile); how many rows ran here."""
    ran = 0
    _lock(control)
    base = _slot(seq)
    while not _finished(control, seq) and _rows_left(control, base):
        ran += _run_chunk(control, base)
    _wait_finished(control, seq)
    _unlock(control)
    return ran


@njit(cache=True)
def _is_finished(control, seq):
    _lock(control)
    finished = _finished(control, seq)
    _unlock(control)
    return finished


@njit(cache=True)
def _stop(control):
    _lock(control)
    control[STOP] = 1
    _unlock(control)
    _call(np.uint64(control[BROADCAST]), (np.uint64(control[WORK]),))  # type: ignore[call-arg]


def _c_address(function: Any) -> int:
    return int(ctypes.cast(function, ctypes.c_void_p).value or 0)


class Control:
    """A control block and its native thread (``start``); the methods are the protocol's
    steps, each one compiled call."""

    def __init__(self) -> None:
        self.words = np.zeros(CONTROL_WORDS, np.int64)
        self._thread = ctypes.c_void_p()  # pthread_t: an unsigned long or a pointer
        self.started = False
        self._spent = 0.0  # CPU seconds of threads that have ended

    def start(self) -> None:
        """Initialise the mutex and conditions and start the thread (OSError if pthreads are
        not there: the caller runs jobs in place instead)."""
        try:
            libc = ctypes.CDLL(None)
            libc.pthread_create  # noqa: B018 - a platform without pthreads fails here
        except (AttributeError, TypeError) as missing:
            raise OSError(f"no pthreads here: {missing}") from None
        words, base = self.words, int(self.words.ctypes.data)
        for word, offset in SYNC_STORAGE.items():
            words[word] = base + 8 * offset
        functions = (libc.pthread_mutex_lock, libc.pthread_mutex_unlock, libc.pthread_cond_wait,
                     libc.pthread_cond_signal, libc.pthread_cond_broadcast)
        for word, function in zip((LOCK, UNLOCK, WAIT, SIGNAL, BROADCAST), functions,
                                  strict=True):
            words[word] = _c_address(function)
        words[LIBRARY:LIBRARY + len(LIBRARY_NAMES)] = LIBRARY_ADDRESSES
        entry = _serve_entry()
        # The thread starts with every signal blocked (it inherits this thread's mask): a
        # process signal (Ctrl-C) is then always delivered to a thread that runs Python.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            failed = (libc.pthread_mutex_init(ctypes.c_void_p(int(words[MUTEX])), None)
                      or libc.pthread_cond_init(ctypes.c_void_p(int(words[WORK])), None)
                      or libc.pthread_cond_init(ctypes.c_void_p(int(words[DONE])), None)
                      or libc.pthread_create(ctypes.byref(self._thread), None,
                                             ctypes.c_void_p(entry.address),
                                             ctypes.c_void_p(base)))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if failed:
            raise OSError(failed, "could not start the signing thread")
        self.started = True

    def publish(self, words: np.ndarray, after: int, backlog: int) -> tuple[int, int]:
        """Queue a job (``_publish``): its seq (-1: run it yourself), and the seq below which
        every job has finished."""
        seq, floor = _publish(self.words, words, after, backlog)
        return int(seq), int(floor)

    def help(self, seq: int) -> int:
        """Run job ``seq``'s rows left here, then wait for the rest; the rows run here."""
        return int(_help(self.words, seq))

    def finished(self, seq: int) -> bool:
        return bool(_is_finished(self.words, seq))

    def finished_in_copy(self, seq: int) -> bool:
        """``finished`` without the mutex, in a forked child (the parent's thread may have held
        the mutex when it forked; nothing else runs in this copy of the block)."""
        return bool(_finished(self.words, seq))

    def behind(self) -> int:
        """Jobs queued and not yet picked up (read without the mutex: an estimate)."""
        return int(self.words[HEAD] - self.words[CURSOR])

    def cpu_seconds(self) -> float | None:
        """CPU seconds the native thread has run (those of a stopped one up to its stop
        request); None where threads have no CPU clock to read (no
        ``pthread_getcpuclockid``, as on macOS)."""
        clock_of = getattr(time, "pthread_getcpuclockid", None)
        if clock_of is None:
            return None
        if not self.started:
            return self._spent
        return self._spent + time.clock_gettime(clock_of(self._thread.value or 0))

    def stop(self) -> None:
        """Let the thread finish every queued job, then end it and join it."""
        if self.started:
            self._spent = self.cpu_seconds() or 0.0
            _stop(self.words)
            ctypes.CDLL(None).pthread_join(self._thread, None)  # ctypes releases the GIL
            self.started = False
