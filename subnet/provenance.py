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
batch verifies for all of them (``subnet.sodium.open_replies``: ``verify_reply`` and
``verify_batch`` call it), and one digests (``subnet.sodium``'s BLAKE2b of a source row:
``output_digest`` calls it too).

Digesting, signing and verifying cost about 100-120 us per reply, as much as the rest of the
simulation spends on it; the simulation therefore hands them to the signing worker
(``subnet.signing_worker``: a native thread on the machine's other core running compiled
batches, ``subnet.sodium``), a round at a time and as addresses (where each payload's bytes
are: ``_sources``): ``sign_batch`` returns a ``SignedBatch`` that fills in while the
simulation goes on, and ``verify_batch`` checks each claim's hotkey, query and block now and
its digest and signature there; whoever reads a result waits for it (and runs its rows left).
Every reply is still signed by its own hotkey's key and every rewarded reply verified, with
libsodium, and the outcome does not depend on when or where the worker gets to them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import operator
import sys
import threading
from collections.abc import Sequence
from typing import Any, overload

import numpy as np
from nacl.bindings import crypto_sign_seed_keypair
from numba import njit

from subnetsim.subnet.rng import stream_seed
from subnetsim.subnet.signing_worker import Job, submit
from subnetsim.subnet.sodium import (
    CLAIM_BYTES,
    DIGEST_BYTES,
    GIVEN,
    HEADER_AT,
    PUBLIC_KEY_BYTES,
    SECRET_KEY_BYTES,
    SIGNATURE_BYTES,
    SOURCE_WORDS,
    digest_rows,
    open_replies,
    reply_message_bytes,
    sign_replies,
)

__all__ = ["REPLY_DOMAIN", "SignedBatch", "SignedReply", "compile_signing", "hotkey_public_key",
           "hotkey_secret_key", "output_digest", "output_digests", "query_id",
           "public_key_table", "reply_message", "secret_key_table", "sign_batch", "sign_reply",
           "verify_batch", "verify_reply"]

REPLY_DOMAIN = "subnetsim-reply/v1"
QUERY_ID_BYTES = 16
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


# Output digests are computed by ``subnet.sodium`` (libsodium's BLAKE2b, in the batches that
# sign and verify, or here through ``output_digests``) from *source rows*: a header (the
# payload's type, dtype and shape, as text) in a shared array of header bytes, then the
# payload's bytes read where they are. A CPU tensor form's header is kept (``_forms``); its
# bytes are read in place when it is contiguous and not complex (a complex tensor's conjugate
# bit is resolved by numpy first).
_forms: dict[tuple[Any, ...], tuple[int, int, int, bool]] = {}  # (dtype, shape) -> its
#       header's offset and length in ``_headers``, its bytes' size (0: header only), in place
_headers = np.zeros(1 << 14, np.uint8)  # replaced by a larger copy when full (queued jobs keep
_headers_used = 0  #                       the array they were given)
MAX_FORMS = 1024  # a hostile peer's shapes must not grow it without end
_forms_lock = threading.Lock()  # for callers on several threads (a bridge's server and client)


def output_digest(payload: Any) -> bytes:
    """BLAKE2b-256 (personalised ``subnetsim-out``) of what a miner answered: a tensor's type,
    dtype and shape, then its bytes; anything else (or a tensor claiming more than
    ``MAX_DIGESTED_BYTES``) by its type and shape only, so a hostile reply is never read in
    full."""
    return output_digests((payload,))[0]


def output_digests(payloads: Sequence[Any]) -> list[bytes]:
    """``output_digest`` of each payload (the batches' own digest, run here)."""
    sources, headers, keep = _sources(payloads)
    digests = digest_rows(headers, sources, np.empty((len(sources), DIGEST_BYTES), np.uint8))
    del keep  # read: the payloads' bytes may go
    return [row.tobytes() for row in digests]


def _sources(payloads: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Each payload's source row (``subnet.sodium``: its header's offset and length, its
    bytes' address and size), the header bytes the rows point into, and what the addresses
    point into (to keep alive while a batch reads them)."""
    torch = sys.modules.get("torch")  # not imported: no tensors
    tensor = torch.Tensor if torch is not None else None
    words: list[int] = []  # SOURCE_WORDS per payload
    keep: list[Any] = list(payloads)
    extra: list[tuple[int, bytes]] = []  # (row, header) of payloads whose form is not kept
    known = _forms.get
    for row, payload in enumerate(payloads):
        if type(payload) is tensor and payload.is_cpu and not payload.requires_grad:
            form = known((payload.dtype, payload.shape)) or _new_form(payload)
            if form is not None:
                at, length, size, in_place = form
                if not size:
                    words += (at, length, 0, 0)
                    continue
                if in_place and payload.is_contiguous():
                    words += (at, length, payload.data_ptr(), size)
                    continue
        data = _bytes_of(payload)
        keep.append(data)
        extra.append((row, _header(payload)))
        words += (0, len(extra[-1][1]), data.ctypes.data, data.nbytes)
    sources = np.array(words, dtype=np.int64).reshape(len(payloads), SOURCE_WORDS)
    headers = _headers  # holds every kept form's header (a larger copy holds the same bytes)
    if extra:  # headers of this call only, after the kept ones
        with _forms_lock:
            base = _headers_used
            headers = np.concatenate([_headers[:base],
                                      np.frombuffer(b"".join(header for _, header in extra),
                                                    np.uint8)])
        for row, header in extra:
            sources[row, HEADER_AT] = base
            base += len(header)
    return sources, headers, keep


def _new_form(tensor: Any) -> tuple[int, int, int, bool] | None:
    """Keep a CPU tensor form's header (None once ``MAX_FORMS`` are kept)."""
    global _headers, _headers_used
    key = (tensor.dtype, tensor.shape)
    header = _header(tensor)
    size = tensor.nelement() * tensor.element_size()
    with _forms_lock:
        if key in _forms or len(_forms) >= MAX_FORMS:
            return _forms.get(key)
        if _headers_used + len(header) > len(_headers):
            grown = np.zeros(2 * (len(_headers) + len(header)), np.uint8)
            grown[:_headers_used] = _headers[:_headers_used]
            _headers = grown  # queued jobs keep the array they were given
        _headers[_headers_used:_headers_used + len(header)] = np.frombuffer(header, np.uint8)
        form = (_headers_used, len(header), 0 if size > MAX_DIGESTED_BYTES else size,
                not tensor.is_complex())
        _headers_used += len(header)
        _forms[key] = form
    return form


def _header(payload: Any) -> bytes:
    """What a digest reads first: the payload's type, dtype and shape."""
    shape = getattr(payload, "shape", None)
    return (f"{type(payload).__name__}|{getattr(payload, 'dtype', '')}|"
            f"{tuple(shape) if shape is not None else ''}").encode()


def _bytes_of(payload: Any) -> np.ndarray:
    """A payload's bytes as digested (empty: header only): a tensor-like of at most
    ``MAX_DIGESTED_BYTES``, copied out in C order; nothing of anything else."""
    size = getattr(payload, "element_size", None)
    numel = getattr(payload, "numel", None)
    if callable(size) and callable(numel) and numel() * size() <= MAX_DIGESTED_BYTES:
        return np.frombuffer(payload.detach().contiguous().numpy().tobytes(), np.uint8)
    return np.empty(0, np.uint8)


def _message_prefix(query: bytes, block: int) -> np.ndarray:
    """The bytes a reply's signed message starts with (the output digest's hex follows)."""
    return np.frombuffer(f"{REPLY_DOMAIN}|query={query.hex()}|block={block}|output=".encode(),
                         np.uint8).copy()


def reply_message(query: bytes, block: int, digest: bytes) -> bytes:
    """The canonical bytes a miner signs (as the batches write them)."""
    return reply_message_bytes(_message_prefix(query, block),
                               np.frombuffer(digest, np.uint8)).tobytes()


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

    def well_formed(self) -> bool:
        """Whether its fields have their sizes (only then is its signature checked)."""
        return (len(self.query) == QUERY_ID_BYTES and len(self.digest) == DIGEST_BYTES
                and len(self.signature) == SIGNATURE_BYTES)


def _key_rows(keys: Sequence[bytes], size: int) -> np.ndarray:
    """Keys of ``size`` bytes as rows of a uint8 array (what ``subnet.sodium`` takes)."""
    return np.frombuffer(b"".join(keys), np.uint8).reshape(len(keys), size).copy()


def _claims(replies: Sequence[SignedReply]) -> np.ndarray:
    """(n, 96) uint8: each well-formed reply's digest || signature (a batch's claims)."""
    return _key_rows([reply.digest + reply.signature for reply in replies], CLAIM_BYTES)


def sign_reply(secret_key: bytes, hotkey: str, query: bytes, block: int,
               payload: Any) -> SignedReply:
    """A miner's signature on its answer ``payload`` to ``query`` at ``block`` with libsodium's
    64-byte secret key (``hotkey_secret_key``)."""
    return sign_batch(1, [(0, hotkey, 0)], query, block, [payload],
                      _key_rows([secret_key], SECRET_KEY_BYTES), here=True)[0]  # type: ignore[return-value]


def verify_reply(public_key: bytes, reply: SignedReply, *, query: bytes | None = None,
                 block: int | None = None, payload: Any = None,
                 digest: bytes | None = None) -> bool:
    """Whether ``reply`` is signed by ``public_key``; with ``query``, ``block`` and
    ``payload`` (or its ``digest``), also whether it is the reply to that query and carries
    that very output."""
    if not (reply.well_formed() and len(public_key) == PUBLIC_KEY_BYTES
            and (query is None or reply.query == query) and (block is None or reply.block == block)
            and (digest is None or len(digest) == DIGEST_BYTES)):
        return False
    if digest is None and payload is not None:
        sources, headers, keep = _sources([payload])
        digests = np.empty((1, DIGEST_BYTES), np.uint8)
    else:  # the digest given, or the reply's own: its signature alone is checked
        sources, headers, keep = np.array([[0, GIVEN, 0, 0]], np.int64), np.empty(0, np.uint8), []
        digests = _key_rows([digest if digest is not None else reply.digest], DIGEST_BYTES)
    return bool(submit(open_replies, _message_prefix(reply.query, reply.block), headers,
                       sources, digests, _claims([reply]), np.zeros(1, np.int64),
                       _key_rows([public_key], PUBLIC_KEY_BYTES), np.zeros(1, np.bool_),
                       np.zeros(1, np.int64), here=True, keep=keep).result()[0])


class SignedBatch(Sequence[SignedReply | None]):
    """A server's signed replies to one query, per target (None where nothing was signed or
    the reply never arrived), while the signing worker makes them: reading one waits for them.
    Pickled (sent over a wire), it is a plain tuple of its replies."""

    __slots__ = ("_hotkeys", "_replies", "block", "job", "prefix", "query", "rows", "sources")

    def __init__(self, rows: np.ndarray, hotkeys: Sequence[str], query: bytes, block: int,
                 prefix: np.ndarray, job: Job[np.ndarray],
                 sources: tuple[Sequence[Any], np.ndarray, np.ndarray]) -> None:
        self.rows = rows  # (count,) int64: each index's row in the job's claims (-1: none)
        self._hotkeys = hotkeys  # per row of the job's claims
        self.query, self.block, self.prefix = query, block, prefix  # the message's prefix
        self.job = job  # makes the (rows, 96) claims: output digest || signature
        self.sources = sources  # the payloads signed, their source rows and header bytes
        self._replies: tuple[SignedReply | None, ...] | None = None

    def _made(self) -> tuple[SignedReply | None, ...]:
        if self._replies is None:
            replies: list[SignedReply | None] = [None] * len(self.rows)
            claims = self.job.result()
            for index, row in enumerate(self.rows.tolist()):
                if row >= 0:
                    replies[index] = SignedReply(
                        hotkey=self._hotkeys[row], query=self.query, block=self.block,
                        digest=claims[row, :DIGEST_BYTES].tobytes(),
                        signature=claims[row, DIGEST_BYTES:].tobytes())
            self._replies = tuple(replies)
        return self._replies

    def __len__(self) -> int:
        return len(self.rows)

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
        return SignedBatch(np.where(keep, self.rows, -1), self._hotkeys, self.query,
                           self.block, self.prefix, self.job, self.sources)


def sign_batch(count: int, signers: Sequence[tuple[int, str, int]], query: bytes,
               block: int, payloads: Sequence[Any], secret_keys: np.ndarray, *,
               here: bool = False) -> SignedBatch:
    """Sign on the signing worker (``here``: at once) each ``(index, hotkey, key row)``
    signer's answer ``payloads[index]`` to ``query`` at ``block`` with its secret key
    ``secret_keys[key row]`` (libsodium's, (keys, 64) uint8); the output digests are taken
    there too (the payloads are answers: nobody writes them afterwards)."""
    indices, hotkeys, key_rows = zip(*signers, strict=True) if signers else ((), (), ())
    signed = [payloads[index] for index in indices]
    sources, headers, keep = _sources(signed)
    prefix = _message_prefix(query, block)
    job = submit(sign_replies, prefix, headers, sources, secret_keys,
                 np.array(key_rows, dtype=np.int64),
                 np.empty((len(indices), CLAIM_BYTES), np.uint8), here=here, keep=keep)
    rows = np.full(count, -1, dtype=np.int64)
    rows[list(indices)] = np.arange(len(indices))
    return SignedBatch(rows, hotkeys, query, block, prefix, job, (signed, sources, headers))


def compile_signing() -> None:
    """Sign and check one reply the way a run does (its batch on the signing thread): this
    compiles everything that path runs, or loads it from numba's disk cache. The first time
    after an install that takes ~13 s, then well under a second; a server calls it before it
    announces itself, so that its first answer is as quick as the next."""
    hotkeys = ["compile-signing"]
    payloads = [np.zeros(1, np.float32)]
    signed = sign_batch(1, [(0, hotkeys[0], 0)], bytes(QUERY_ID_BYTES), 0, payloads,
                        secret_key_table(0, hotkeys))
    verdicts = verify_batch([0], public_key_table(0, hotkeys), payloads, signed,
                            query=bytes(QUERY_ID_BYTES), block=0)
    if not verdicts.result().all():
        raise RuntimeError("the signing path does not verify its own signature")


def secret_key_table(seed: int, hotkeys: Sequence[str]) -> np.ndarray:
    """(len(hotkeys), 64) uint8: each hotkey's libsodium secret key, for ``sign_batch``."""
    return _key_rows([hotkey_secret_key(seed, hotkey) for hotkey in hotkeys], SECRET_KEY_BYTES)


def public_key_table(seed: int, hotkeys: Sequence[str | None]) -> np.ndarray:
    """(len(hotkeys), 32) uint8: each hotkey's public key (zeros where there is no hotkey: no
    signature verifies under it), for ``verify_batch``."""
    return _key_rows([hotkey_public_key(seed, hotkey) if hotkey is not None
                      else bytes(PUBLIC_KEY_BYTES) for hotkey in hotkeys], PUBLIC_KEY_BYTES)


def verify_batch(indices: Sequence[int] | np.ndarray, public_keys: np.ndarray,
                 payloads: Sequence[Any], signatures: Sequence[SignedReply | None], *, query: bytes,
                 block: int) -> Job[np.ndarray]:
    """On the signing worker: for each ``i``, whether ``signatures[indices[i]]`` is a valid
    signature under ``public_keys[i]`` ((n, 32) uint8: the key of the hotkey that should have
    answered) over ``query``, ``block`` and the digest of ``payloads[i]`` (what came). A
    claim naming another query or block, or none, is False at once; digests and signatures
    are checked there. Which hotkey signed is the key's to say: a signature by any other
    hotkey does not verify under the expected key."""
    wanted = np.asarray(indices, dtype=np.int64)
    prefix = None
    if isinstance(signatures, SignedBatch):  # signed in this process: its job's claims
        if (signatures.query, signatures.block) == (query, block):
            row_of, prefix = signatures.rows, signatures.prefix  # the same message prefix
        else:
            row_of = np.empty(0, np.int64)
        claims, after = signatures.job.output, signatures.job
    else:  # replies that came whole (over a wire)
        whole = [(index, signed) for index, signed in enumerate(signatures)
                 if signed is not None and signed.well_formed() and signed.query == query
                 and signed.block == block]
        row_of = np.full(len(signatures), -1, dtype=np.int64)
        row_of[[index for index, _ in whole]] = np.arange(len(whole))
        claims, after = _claims([signed for _, signed in whole]), None
    rows, slots = _claimed_rows(wanted, row_of)
    picked = [payloads[slot] for slot in slots.tolist()]
    sources, headers, keep = _sources_of(picked, rows, signatures)
    return submit(open_replies, prefix if prefix is not None else _message_prefix(query, block),
                  headers, sources, np.empty((len(picked), DIGEST_BYTES), np.uint8), claims,
                  rows, public_keys.take(slots, axis=0), np.zeros(len(wanted), dtype=np.bool_),
                  slots, after=after, keep=keep)


@njit(cache=True)
def _claimed_rows(wanted, row_of):
    """The claim row of each wanted index that has one (``row_of``: -1 for none) and the
    slots of ``wanted`` they are for (an index outside ``row_of`` has none)."""
    rows, slots = np.empty(len(wanted), np.int64), np.empty(len(wanted), np.int64)
    found = 0
    for slot in range(len(wanted)):
        index = wanted[slot]
        if 0 <= index < len(row_of) and row_of[index] >= 0:
            rows[found], slots[found] = row_of[index], slot
            found += 1
    return rows[:found], slots[:found]


def _sources_of(payloads: list[Any], rows: np.ndarray,
                signatures: Sequence[SignedReply | None]) -> tuple[np.ndarray, np.ndarray, Any]:
    """``_sources(payloads)``; where each payload is the very object signed in row ``rows[i]``
    of an in-process batch, that batch's source rows (the same bytes, read where they are)."""
    if isinstance(signatures, SignedBatch):
        signed, sources, headers = signatures.sources
        if all(map(operator.is_, payloads, map(signed.__getitem__, rows.tolist()))):
            return sources.take(rows, axis=0), headers, signed
    return _sources(payloads)
