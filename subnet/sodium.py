"""Batches of libsodium Ed25519 signatures and verifications, and the native thread that runs
them, without Python in the loop.

A signed run makes one signature and one verification per reply (``subnet.provenance``),
about 30 + 80 us of libsodium each, and the simulation spends about as much on the reply
itself; so the signing worker (``subnet.signing_worker``) runs them beside the simulation.
A batch is one call of a numba-compiled loop that calls libsodium's ``crypto_sign`` and
``crypto_sign_open`` directly, at the addresses PyNaCl's own binding of its bundled libsodium
exports (``nacl._sodium``): the same library and functions ``nacl.bindings`` calls, minus the
Python wrapper per call. No cryptography is written here: the loops only lay out libsodium's
buffers (``signature || message``, as ``crypto_sign`` makes and ``crypto_sign_open`` takes
them).

The batches run on a native thread (``_serve``, started with ``pthread_create``) that never
holds Python's GIL: a Python thread beside the simulation had to take the GIL back after every
batch, and the hand-overs cost the simulation more than the batches saved it (measured: with
the libsodium calls replaced by no-ops, that thread still added 40-70% to the simulation's
main-thread CPU). The thread and its callers share a *control block*, one int64 array: a
header (counters, a pthread mutex and two condition variables, the C functions' addresses) and
a ring of job slots, each a job's kind, state and its arrays' addresses and shapes; everything
in it is read and written under the mutex. (One file with the batches it runs: numba's disk
cache of a function is checked against its own file only.)

C functions are called through ``_call``: every argument a 64-bit word (pointers and
``unsigned long long`` lengths), an ``int`` back; the function's address is an argument, not a
compiled-in constant, so numba caches the compiled code on disk like the Yuma kernel's.
"""

from __future__ import annotations

import ctypes
import functools
import signal
from collections.abc import Callable
from typing import Any

import numpy as np
from llvmlite import ir
from nacl import bindings as _bindings  # noqa: F401 - importing it runs sodium_init()
from nacl._sodium import ffi, lib
from numba import carray, cfunc, njit, types
from numba.extending import intrinsic

__all__ = ["CAPACITY", "PUBLIC_KEY_BYTES", "SECRET_KEY_BYTES", "SIGNATURE_BYTES", "Control",
           "job_words", "open_rows", "sign_rows"]

SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32
SECRET_KEY_BYTES = 64  # libsodium's: seed || public key

# The control block (int64 words). Header: the counters, then the C functions' addresses and
# the addresses of the mutex and conditions, whose storage follows (16 words each: more than
# glibc's or macOS's pthread_mutex_t and pthread_cond_t need).
HEAD, CURSOR, STOP, MUTEX, WORK, DONE = range(6)  # WORK: a job was queued; DONE: one finished
LOCK, UNLOCK, WAIT, SIGNAL, BROADCAST, CRYPTO_SIGN_AT, CRYPTO_SIGN_OPEN_AT = range(6, 13)
SLEEPING, WAITERS = 13, 14  # the thread waits on WORK; how many wait on DONE
# Conditions are signalled after the mutex is let go, and only when someone waits on them: a
# woken thread would otherwise run at once on a busy machine and block on the mutex its waker
# still holds (two context switches per job, measured ~40 us a job).
SYNC_STORAGE = {MUTEX: 16, WORK: 32, DONE: 48}  # where each one's 16 words start
SLOTS = 64
# A slot: its job's sequence number and state, what it runs, and its arrays (address, shape).
SEQ, STATE, KIND, AFTER, ROWS, WIDTH, TABLE_ROWS, VERDICTS = range(8)
AT_MESSAGES, AT_TABLE, AT_ROW_INDEX, AT_OUTPUT, AT_VERDICTS, AT_SLOTS = range(8, 14)
SLOT_WORDS = 16
CAPACITY = 64  # slots; the simulation keeps at most ~16 jobs queued (signing_worker)
CONTROL_WORDS = SLOTS + CAPACITY * SLOT_WORDS
QUEUED, RUNNING, FINISHED = 1, 2, 3
SIGN, OPEN = 1, 2  # a slot's KIND


def _address(name: str) -> int:
    return int(ffi.cast("uintptr_t", ffi.addressof(lib, name)))


CRYPTO_SIGN = _address("crypto_sign")
CRYPTO_SIGN_OPEN = _address("crypto_sign_open")


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


@njit(nogil=True, cache=True)
def _sign(crypto_sign, messages, secret_keys, key_rows, signatures):
    count, width = messages.shape
    signed = np.empty(SIGNATURE_BYTES + width, np.uint8)  # crypto_sign's output
    length = np.zeros(1, np.uint64)
    for row in range(count):
        _call(np.uint64(crypto_sign), (  # type: ignore[call-arg]  # the intrinsic's typing
            np.uint64(signed.ctypes.data), np.uint64(length.ctypes.data),
            np.uint64(messages[row].ctypes.data), np.uint64(width),
            np.uint64(secret_keys[key_rows[row]].ctypes.data)))
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
        verdicts[slots[row]] = _call(np.uint64(crypto_sign_open), (  # type: ignore[call-arg]
            np.uint64(opened.ctypes.data), np.uint64(length.ctypes.data),
            np.uint64(signed.ctypes.data), np.uint64(SIGNATURE_BYTES + width),
            np.uint64(public_keys[row].ctypes.data))) == 0


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


# --- jobs for the native thread ------------------------------------------------------------

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
def _sign_words(words, messages, secret_keys, key_rows, signatures):
    """Fill a signing slot's words (addresses: one compiled call, not five ctypes lookups);
    False if a key row is out of range."""
    words[KIND], words[TABLE_ROWS] = SIGN, secret_keys.shape[0]
    words[AT_MESSAGES], words[AT_TABLE] = messages.ctypes.data, secret_keys.ctypes.data
    words[AT_ROW_INDEX], words[AT_OUTPUT] = key_rows.ctypes.data, signatures.ctypes.data
    return _within(key_rows, secret_keys.shape[0])


@njit(cache=True)
def _open_words(words, messages, signatures, signature_rows, public_keys, verdicts, slots):
    """Fill a verification slot's words; False if a row or slot index is out of range."""
    words[KIND], words[TABLE_ROWS], words[VERDICTS] = OPEN, signatures.shape[0], len(verdicts)
    words[AT_MESSAGES], words[AT_TABLE] = messages.ctypes.data, signatures.ctypes.data
    words[AT_ROW_INDEX], words[AT_OUTPUT] = signature_rows.ctypes.data, public_keys.ctypes.data
    words[AT_VERDICTS], words[AT_SLOTS] = verdicts.ctypes.data, slots.ctypes.data
    return _within(signature_rows, signatures.shape[0]) and _within(slots, len(verdicts))


def job_words(function: Callable[..., np.ndarray],
              args: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray]:
    """A slot's words (kind, shapes, addresses) for ``function(*args)``, ``sign_rows`` or
    ``open_rows``, and the array it writes (what it returns), after checking every array's
    type, shape and index range (ValueError)."""
    if function is not sign_rows and function is not open_rows:
        raise ValueError(f"{getattr(function, '__name__', function)!r} is not a libsodium batch")
    words = np.zeros(SLOT_WORDS, np.int64)
    messages = args[0]
    rows, width = messages.shape if isinstance(messages, np.ndarray) and messages.ndim == 2 \
        else (-1, -1)
    words[ROWS], words[WIDTH] = rows, width
    _check(messages, np.uint8, (rows, width))
    if function is sign_rows:
        secret_keys, key_rows, signatures = args[1:]
        _check(secret_keys, np.uint8, (len(secret_keys), SECRET_KEY_BYTES))
        _check(key_rows, np.int64, (rows,))
        _check(signatures, np.uint8, (rows, SIGNATURE_BYTES))
        if not _sign_words(words, *args):
            raise ValueError(f"key rows outside 0..{len(secret_keys) - 1}")
        return words, signatures
    signatures, signature_rows, public_keys, verdicts, slots = args[1:]
    _check(signatures, np.uint8, (len(signatures), SIGNATURE_BYTES))
    _check(signature_rows, np.int64, (rows,))
    _check(public_keys, np.uint8, (rows, PUBLIC_KEY_BYTES))
    _check(verdicts, np.bool_, (len(verdicts),))
    _check(slots, np.int64, (rows,))
    if not _open_words(words, *args):
        raise ValueError("signature rows or verdict slots outside their arrays")
    return words, verdicts


# --- the control block's protocol (everything under its mutex) -----------------------------
# The callers' steps (publish, claim, complete, is_finished, stop) keep the GIL: they take a
# microsecond, and letting the GIL go could hand it to another Python thread for up to the
# switch interval. Only ``_await``, which may block, lets it go.

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
    return SLOTS + (seq % CAPACITY) * SLOT_WORDS


@njit(nogil=True, cache=True)
def _finished(control, seq):
    """Whether job ``seq`` has finished (its slot since taken by a later job: long ago)."""
    base = _slot(seq)
    return control[base + SEQ] != seq or control[base + STATE] == FINISHED


@njit(nogil=True, cache=True)
def _wait_finished(control, seq):
    """With the mutex held: wait until job ``seq`` has finished."""
    while not _finished(control, seq):
        control[WAITERS] += 1
        _wait(control, DONE)
        control[WAITERS] -= 1


@njit(nogil=True, cache=True)
def _finish_locked(control, base):
    """With the mutex held: mark the job at ``base`` finished and wake whoever waits for one
    (the mutex let go meanwhile, held again on return)."""
    control[base + STATE] = FINISHED
    if control[WAITERS]:
        _unlock(control)
        _call(np.uint64(control[BROADCAST]), (  # type: ignore[call-arg]
            np.uint64(control[DONE]),))
        _lock(control)


@njit(nogil=True, cache=True)
def _run_slot(control, base):
    """Run the job in the slot at ``base`` (on whichever thread claimed it)."""
    rows, width = control[base + ROWS], control[base + WIDTH]
    messages = carray(_bytes_at(control[base + AT_MESSAGES]), (rows, width))
    row_index = carray(_int64s_at(control[base + AT_ROW_INDEX]), (rows,))
    if control[base + KIND] == SIGN:
        _sign(control[CRYPTO_SIGN_AT], messages,
              carray(_bytes_at(control[base + AT_TABLE]), (control[base + TABLE_ROWS],
                                                           SECRET_KEY_BYTES)),
              row_index, carray(_bytes_at(control[base + AT_OUTPUT]), (rows, SIGNATURE_BYTES)))
    else:  # verdicts are numpy bools: one byte, 0 or 1
        _open(control[CRYPTO_SIGN_OPEN_AT], messages,
              carray(_bytes_at(control[base + AT_TABLE]), (control[base + TABLE_ROWS],
                                                           SIGNATURE_BYTES)),
              row_index, carray(_bytes_at(control[base + AT_OUTPUT]), (rows, PUBLIC_KEY_BYTES)),
              carray(_bytes_at(control[base + AT_VERDICTS]), (control[base + VERDICTS],)),
              carray(_int64s_at(control[base + AT_SLOTS]), (rows,)))


@njit(nogil=True, cache=True)
def _serve_loop(control):
    """The native thread: run queued jobs in order (skipping those a caller claimed), each
    after the job it reads (``AFTER``); sleep while none is queued; return once stopped and
    drained."""
    _lock(control)
    while True:
        seq = control[CURSOR]
        while seq < control[HEAD] and control[_slot(seq) + STATE] != QUEUED:
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
        control[base + STATE] = RUNNING
        control[CURSOR] = seq + 1
        after = control[base + AFTER]  # its seq + 1; 0: none
        if after:
            _wait_finished(control, after - 1)
        _unlock(control)
        _run_slot(control, base)
        _lock(control)
        _finish_locked(control, base)
    _unlock(control)


def _serve(address):  # a pthread start routine: void *(*)(void *)
    _serve_loop(carray(address, (CONTROL_WORDS,), np.int64))
    return address


@functools.cache
def _serve_entry() -> Any:
    """The compiled start routine (compiled on first use, then from numba's disk cache)."""
    return cfunc(types.voidptr(types.voidptr), cache=True)(_serve)


@njit(cache=True)
def _publish(control, words, after):
    """Queue a job (its slot's words, ``after``: the seq of the job it reads, or -1); its seq,
    or -1 if its slot is still in use (the caller runs the job itself)."""
    _lock(control)
    seq = control[HEAD]
    base = _slot(seq)
    if seq >= CAPACITY and not _finished(control, seq - CAPACITY):
        _unlock(control)
        return -1
    control[base:base + SLOT_WORDS] = words
    control[base + SEQ], control[base + STATE], control[base + AFTER] = seq, QUEUED, after + 1
    control[HEAD] = seq + 1
    sleeping = control[SLEEPING]
    _unlock(control)
    if sleeping:
        _call(np.uint64(control[SIGNAL]), (np.uint64(control[WORK]),))  # type: ignore[call-arg]
    return seq


@njit(cache=True)
def _claim(control, seq):
    """Take a queued job to run it here: 1 taken, 0 finished already, 2 running elsewhere."""
    _lock(control)
    base = _slot(seq)
    if _finished(control, seq):
        outcome = 0
    elif control[base + STATE] == QUEUED:
        control[base + STATE] = RUNNING
        outcome = 1
    else:
        outcome = 2
    _unlock(control)
    return outcome


@njit(cache=True)
def _complete(control, seq):
    """A claimed job has run: tell whoever waits for it."""
    _lock(control)
    _finish_locked(control, _slot(seq))
    _unlock(control)


@njit(nogil=True, cache=True)
def _await(control, seq):
    """Return once job ``seq`` has finished (the GIL released meanwhile)."""
    _lock(control)
    _wait_finished(control, seq)
    _unlock(control)


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
        words[CRYPTO_SIGN_AT], words[CRYPTO_SIGN_OPEN_AT] = CRYPTO_SIGN, CRYPTO_SIGN_OPEN
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

    def publish(self, words: np.ndarray, after: int) -> int:
        return int(_publish(self.words, words, after))

    def claim(self, seq: int) -> int:
        return int(_claim(self.words, seq))

    def complete(self, seq: int) -> None:
        _complete(self.words, seq)

    def wait(self, seq: int) -> None:
        _await(self.words, seq)

    def finished(self, seq: int) -> bool:
        return bool(_is_finished(self.words, seq))

    def finished_in_copy(self, seq: int) -> bool:
        """``finished`` without the mutex, in a forked child (the parent's thread may have held
        the mutex when it forked; nothing else runs in this copy of the block)."""
        return bool(_finished(self.words, seq))

    def behind(self) -> int:
        """Jobs queued and not yet picked up (read without the mutex: an estimate)."""
        return int(self.words[HEAD] - self.words[CURSOR])

    def stop(self) -> None:
        """Let the thread finish every queued job, then end it and join it."""
        if self.started:
            _stop(self.words)
            ctypes.CDLL(None).pthread_join(self._thread, None)  # ctypes releases the GIL
            self.started = False
