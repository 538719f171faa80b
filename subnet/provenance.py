"""Signed replies: a miner's word is provable. Hotkey keys, reply bytes, signing, verifying.

Every neuron holds an Ed25519 key pair on its hotkey (on the real chain the hotkey *is* the
public key). Here a hotkey is a name, so its key pair is drawn from the run's keyed streams
(``hotkey_secret_key``): a run stays a pure function of (scenario, seed), and Ed25519
signatures are deterministic (RFC 8032), so signing changes no trajectory. The public key is
what the chain and every validator know of a hotkey (``hotkey_public_key``); in a simulation
anyone could recompute the secret from the seed, which only the miner's own code does.

A miner signs each answer over canonical bytes naming the query, the block and a digest of the
model output::

    subnetsim-reply/v1|query=<32 hex>|block=<n>|output=<64 hex>

Validators verify before scoring (an unsigned or mis-signed reply scores 0); after a serving
halt, the same bytes are the evidence that a miner kept serving (``subnet.evidence``). One
function verifies for all of them: ``verify_reply``.

Signing and verifying cost about 100-120 us of libsodium per reply, as much as the rest of the
simulation spends on it; the simulation therefore hands them to the signing worker
(``subnet.signing_worker``: a native thread on the machine's other core running compiled
batches, ``subnet.sodium``), a round at a time: ``sign_batch`` returns a ``SignedBatch`` that
fills in while the simulation goes on, and ``verify_batch`` checks each claim's fields now (the
checks of ``verify_reply``) and its signature there; whoever reads a result waits for it. Every
reply is still signed by its own hotkey's key and every scorable reply verified, with
libsodium, and the outcome does not depend on when or where the worker gets to them.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import hashlib
import sys
from collections.abc import Sequence
from typing import Any, overload

import numpy as np
from nacl.bindings import crypto_sign_seed_keypair

from subnetsim.subnet.rng import stream_seed
from subnetsim.subnet.signing_worker import Job, submit
from subnetsim.subnet.sodium import (
    PUBLIC_KEY_BYTES,
    SECRET_KEY_BYTES,
    SIGNATURE_BYTES,
    open_rows,
    sign_rows,
)

__all__ = ["REPLY_DOMAIN", "SignedBatch", "SignedReply", "hotkey_public_key",
           "hotkey_secret_key", "output_digest", "output_digests", "query_id",
           "reply_message", "reply_messages", "secret_key_table", "sign_batch", "sign_reply",
           "verify_batch", "verify_reply"]

REPLY_DOMAIN = "subnetsim-reply/v1"
QUERY_ID_BYTES = 16
DIGEST_BYTES = 32
MAX_DIGESTED_BYTES = 1 << 20  # a larger "tensor" (the wire's frame limit) is digested by
#                                its header only: a hostile view claiming 100 MB is never read


def _hotkey_seed(seed: int, hotkey: str) -> bytes:
    """The 32-byte Ed25519 seed of ``hotkey`` in the run of ``seed`` (its own keyed stream)."""
    material = stream_seed(seed, f"hotkey.ed25519.{hotkey}").to_bytes(16, "little")
    return hashlib.blake2b(material, digest_size=32, person=b"subnetsim-hk").digest()


@functools.lru_cache(maxsize=4096)
def _hotkey_keypair(seed: int, hotkey: str) -> tuple[bytes, bytes]:
    return crypto_sign_seed_keypair(_hotkey_seed(seed, hotkey))


def hotkey_secret_key(seed: int, hotkey: str) -> bytes:
    """The same key as libsodium's 64-byte secret key (what ``crypto_sign`` takes)."""
    return _hotkey_keypair(seed, hotkey)[1]


def hotkey_public_key(seed: int, hotkey: str) -> bytes:
    """The public key registered for ``hotkey`` (32 bytes)."""
    return _hotkey_keypair(seed, hotkey)[0]


def query_id(caller_hotkey: str, block: int, inputs_digest: bytes) -> bytes:
    """A query's id: its caller, its block and its inputs (a caller queries once per block)."""
    hasher = hashlib.blake2b(digest_size=QUERY_ID_BYTES, person=b"subnetsim-qid")
    hasher.update(caller_hotkey.encode())
    hasher.update(block.to_bytes(8, "little"))
    hasher.update(inputs_digest)
    return hasher.digest()


_DIGEST_START = hashlib.blake2b(digest_size=DIGEST_BYTES, person=b"subnetsim-out")
_headed: dict[tuple[Any, ...], tuple[Any, Any]] = {}  # a CPU tensor's (dtype, shape) -> hasher
#       fed its header, and a ctypes window over its bytes (None: digested by header only;
#       False: not read in place, a complex tensor, whose conjugate bit numpy resolves)


def output_digest(payload: Any) -> bytes:
    """BLAKE2b-256 of what a miner answered: a tensor's dtype, shape and bytes; anything else
    (or a tensor claiming more than ``MAX_DIGESTED_BYTES``) by its type and shape only, so a
    hostile reply is never read in full."""
    return output_digests((payload,))[0]


def output_digests(payloads: Sequence[Any]) -> list[bytes]:
    """``output_digest`` of each payload (one loop: a round's replies at a time)."""
    torch = sys.modules.get("torch")  # not imported: no tensors
    tensor = torch.Tensor if torch is not None else None
    digests = []
    for payload in payloads:
        if type(payload) is tensor and payload.is_cpu and not payload.requires_grad:
            form = (payload.dtype, payload.shape)
            known = _headed.get(form)
            if known is None:
                known = _form(payload)
                if len(_headed) < 1024:  # a hostile peer's shapes must not grow it without end
                    _headed[form] = known
            headed, window = known
            if window is None:
                digests.append(headed.copy().digest())
                continue
            if window is not False and payload.is_contiguous():
                hasher = headed.copy()  # its bytes read where they are (as .tobytes() has them)
                hasher.update(window.from_address(payload.data_ptr()))
                digests.append(hasher.digest())
                continue
        hasher = _header_hasher(payload)
        size = getattr(payload, "element_size", None)
        numel = getattr(payload, "numel", None)
        if callable(size) and callable(numel) and numel() * size() <= MAX_DIGESTED_BYTES:
            hasher.update(payload.detach().contiguous().numpy().tobytes())
        digests.append(hasher.digest())
    return digests


def _form(tensor: Any) -> tuple[Any, Any]:
    """A CPU tensor form's header hasher and how its bytes are read (see ``_headed``)."""
    size = tensor.nelement() * tensor.element_size()
    window = (None if size > MAX_DIGESTED_BYTES else False if tensor.is_complex()
              else ctypes.c_char * size)
    return _header_hasher(tensor), window


def _header_hasher(payload: Any) -> Any:
    """The digest's hasher fed the payload's type, dtype and shape."""
    hasher = _DIGEST_START.copy()
    shape = getattr(payload, "shape", None)
    hasher.update(f"{type(payload).__name__}|{getattr(payload, 'dtype', '')}|"
                  f"{tuple(shape) if shape is not None else ''}".encode())
    return hasher


def _message_prefix(query: bytes, block: int) -> bytes:
    return f"{REPLY_DOMAIN}|query={query.hex()}|block={block}|output=".encode()


def reply_messages(query: bytes, block: int, digests: Sequence[bytes]) -> np.ndarray:
    """The canonical bytes a miner signs for each output digest (of equal lengths) of its
    answers to ``query`` at ``block``: one uint8 row each (the module docstring's layout)."""
    prefix = np.frombuffer(_message_prefix(query, block), np.uint8)
    hexed = np.frombuffer(b"".join(digests).hex().encode(), np.uint8)
    rows = np.empty((len(digests), len(prefix) + (len(hexed) // len(digests) if digests
                                                   else 2 * DIGEST_BYTES)), np.uint8)
    rows[:, :len(prefix)] = prefix
    if digests:
        rows[:, len(prefix):] = hexed.reshape(len(digests), -1)
    return rows


def reply_message(query: bytes, block: int, digest: bytes) -> bytes:
    """The canonical bytes a miner signs."""
    return reply_messages(query, block, (digest,))[0].tobytes()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SignedReply:
    """One signed answer, as a validator keeps it and as evidence carries it."""

    hotkey: str
    query: bytes  # query id
    block: int
    digest: bytes  # output digest
    signature: bytes

    def as_json(self) -> dict[str, Any]:
        """Hex fields, checkable with any Ed25519 verifier over ``message``."""
        return {"hotkey": self.hotkey, "query": self.query.hex(), "block": self.block,
                "output": self.digest.hex(), "signature": self.signature.hex(),
                "message": reply_message(self.query, self.block, self.digest).decode()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedReply:
        """Inverse of ``as_json`` (ValueError/KeyError/TypeError on a bad field)."""
        block = data["block"]
        if isinstance(block, bool) or not isinstance(block, int) or block < 0:
            raise ValueError(f"block {block!r}")
        return cls(hotkey=str(data["hotkey"]), query=bytes.fromhex(data["query"]), block=block,
                   digest=bytes.fromhex(data["output"]),
                   signature=bytes.fromhex(data["signature"]))


def _key_rows(keys: Sequence[bytes], size: int) -> np.ndarray:
    """Keys of ``size`` bytes as rows of a uint8 array (what ``subnet.sodium`` takes)."""
    return np.frombuffer(b"".join(keys), np.uint8).reshape(len(keys), size)


def sign_reply(secret_key: bytes, hotkey: str, query: bytes, block: int,
               payload: Any) -> SignedReply:
    """A miner's signature on its answer ``payload`` to ``query`` at ``block`` with libsodium's
    64-byte secret key (``hotkey_secret_key``)."""
    return sign_batch(1, [(0, hotkey, 0)], query, block, [payload],
                      _key_rows([secret_key], SECRET_KEY_BYTES), here=True)[0]  # type: ignore[return-value]


def _fields_match(public_key: bytes, reply_query: bytes, reply_block: int,
                  reply_digest: bytes, query: bytes | None, block: int | None,
                  digest: bytes | None) -> bool:
    """Whether a signed claim is well formed and names this query, block and output (None:
    any); its signature is checked only if so."""
    return (len(reply_query) == QUERY_ID_BYTES and len(reply_digest) == DIGEST_BYTES
            and len(public_key) == PUBLIC_KEY_BYTES
            and (query is None or reply_query == query) and (block is None or reply_block == block)
            and (digest is None or reply_digest == digest))


def _open_arguments(messages: np.ndarray, signatures: np.ndarray, rows: Sequence[int],
                    public_keys: Sequence[bytes], count: int,
                    slots: Sequence[int]) -> tuple[np.ndarray, ...]:
    """``subnet.sodium.open_rows``'s arguments for (count,) verdicts: at ``slots[i]``, whether
    ``signatures[rows[i]]`` is the signature of ``messages[i]`` by ``public_keys[i]``; False
    elsewhere. (Made by the caller: the job itself only runs libsodium.)"""
    return (messages, signatures, np.asarray(rows, dtype=np.int64),
            _key_rows(public_keys, PUBLIC_KEY_BYTES), np.zeros(count, dtype=np.bool_),
            np.asarray(slots, dtype=np.int64))


def verify_reply(public_key: bytes, reply: SignedReply, *, query: bytes | None = None,
                 block: int | None = None, payload: Any = None,
                 digest: bytes | None = None) -> bool:
    """Whether ``reply`` is signed by ``public_key``; with ``query``, ``block`` and
    ``payload`` (or its ``digest``, computed by the caller), also whether it is the reply to
    that query and carries that very output."""
    if payload is not None and digest is None:
        digest = output_digest(payload)
    if len(reply.signature) != SIGNATURE_BYTES or not _fields_match(
            public_key, reply.query, reply.block, reply.digest, query, block, digest):
        return False
    return bool(open_rows(*_open_arguments(
        reply_messages(reply.query, reply.block, (reply.digest,)),
        _key_rows([reply.signature], SIGNATURE_BYTES), (0,), (public_key,), 1, (0,)))[0])


class SignedBatch(Sequence[SignedReply | None]):
    """A server's signed replies to one query, per target (None where nothing was signed or
    the reply never arrived), while the signing worker makes them: reading one waits for them.
    Pickled (sent over a wire), it is a plain tuple of its replies."""

    __slots__ = ("_block", "_count", "_digests", "_hotkeys", "_indices", "_keep", "_query",
                 "_replies", "job")

    def __init__(self, count: int, indices: Sequence[int], hotkeys: Sequence[str],
                 query: bytes, block: int, digests: Sequence[bytes], job: Job[np.ndarray],
                 keep: frozenset[int] | None = None) -> None:
        self._count = count
        self._indices, self._hotkeys, self._digests = indices, hotkeys, digests  # per signature
        self._query, self._block = query, block
        self.job = job  # makes the (len(indices), 64) uint8 signatures
        self._keep = keep  # the indices shown (None: all)
        self._replies: tuple[SignedReply | None, ...] | None = None

    def claims(self) -> dict[int, tuple[str, bytes, int, bytes, int]]:
        """Per index shown: (hotkey, query, block, output digest, row in ``signatures``), known
        before the signatures are made."""
        keep = self._keep
        return {index: (hotkey, self._query, self._block, digest, row)
                for row, (index, hotkey, digest) in enumerate(
                    zip(self._indices, self._hotkeys, self._digests, strict=True))
                if keep is None or index in keep}

    def _made(self) -> tuple[SignedReply | None, ...]:
        if self._replies is None:
            replies: list[SignedReply | None] = [None] * self._count
            signatures = self.job.result()
            for index, (hotkey, query, block, digest, row) in self.claims().items():
                replies[index] = SignedReply(hotkey=hotkey, query=query, block=block,
                                             digest=digest, signature=signatures[row].tobytes())
            self._replies = tuple(replies)
        return self._replies

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> SignedReply | None: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[SignedReply | None]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self._made()[index]

    def __reduce__(self) -> tuple[Any, ...]:
        return tuple, (self._made(),)

    def only(self, keep: Sequence[bool]) -> SignedBatch:
        """The same batch with None where ``keep`` is false (replies that never arrived)."""
        return SignedBatch(self._count, self._indices, self._hotkeys, self._query, self._block,
                           self._digests, self.job,
                           frozenset(index for index, kept in enumerate(keep) if kept))


def sign_batch(count: int, signers: Sequence[tuple[int, str, int]], query: bytes,
               block: int, payloads: Sequence[Any], secret_keys: np.ndarray, *,
               here: bool = False) -> SignedBatch:
    """Sign on the signing worker (``here``: at once) each ``(index, hotkey, key row)``
    signer's answer ``payloads[index]`` to ``query`` at ``block`` with its secret key
    ``secret_keys[key row]`` (libsodium's, (keys, 64) uint8); the output digests are taken
    now."""
    indices = [index for index, _, _ in signers]
    digests = output_digests([payloads[index] for index in indices])
    signatures = np.empty((len(indices), SIGNATURE_BYTES), dtype=np.uint8)
    job = submit(sign_rows, reply_messages(query, block, digests), secret_keys,
                 np.fromiter((row for _, _, row in signers), dtype=np.int64, count=len(indices)),
                 signatures, here=here)
    return SignedBatch(count, indices, [hotkey for _, hotkey, _ in signers], query, block,
                       digests, job)


def secret_key_table(seed: int, hotkeys: Sequence[str]) -> np.ndarray:
    """(len(hotkeys), 64) uint8: each hotkey's libsodium secret key, for ``sign_batch``."""
    return _key_rows([hotkey_secret_key(seed, hotkey) for hotkey in hotkeys], SECRET_KEY_BYTES)


def verify_batch(checks: Sequence[tuple[int, str, bytes, bytes]],
                 signatures: Sequence[SignedReply | None], *, query: bytes,
                 block: int) -> Job[np.ndarray]:
    """On the signing worker: for each ``(index, hotkey, public key, output digest)``, whether
    ``signatures[index]`` is that hotkey's valid signature over ``query``, ``block`` and that
    output (the checks of ``verify_reply``, the claims' fields here and now, their signatures
    once made)."""
    if isinstance(signatures, SignedBatch):
        claims, made, after = signatures.claims(), signatures.job.output, signatures.job
    else:  # replies that came whole (over a wire)
        whole = [(index, signed) for index, signed in enumerate(signatures)
                 if signed is not None and len(signed.signature) == SIGNATURE_BYTES]
        claims = {index: (signed.hotkey, signed.query, signed.block, signed.digest, row)
                  for row, (index, signed) in enumerate(whole)}
        made = _key_rows([signed.signature for _, signed in whole], SIGNATURE_BYTES)
        after = None
    slots, rows, public_keys, digests = [], [], [], []
    for slot, (index, hotkey, public_key, digest) in enumerate(checks):
        claim = claims.get(index)
        if claim is not None and claim[0] == hotkey and _fields_match(
                public_key, claim[1], claim[2], claim[3], query, block, digest):
            slots.append(slot)
            rows.append(claim[4])
            public_keys.append(public_key)
            digests.append(digest)
    return submit(open_rows, *_open_arguments(reply_messages(query, block, digests), made, rows,
                                              public_keys, len(checks), slots), after=after)
