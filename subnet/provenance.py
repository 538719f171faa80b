"""Signed replies: a miner's word is provable. Hotkey keys, reply bytes, signing, verifying.

Every neuron holds an Ed25519 key pair on its hotkey (on the real chain the hotkey *is* the
public key). Here a hotkey is a name, so its key pair is drawn from the run's keyed streams
(``hotkey_signing_key``): a run stays a pure function of (scenario, seed), and Ed25519
signatures are deterministic (RFC 8032), so signing changes no trajectory. The public key is
what the chain and every validator know of a hotkey (``hotkey_public_key``); in a simulation
anyone could recompute the secret from the seed, which only the miner's own code does.

A miner signs each answer over canonical bytes naming the query, the block and a digest of the
model output::

    subnetsim-reply/v1|query=<32 hex>|block=<n>|output=<64 hex>

Validators verify before scoring (an unsigned or mis-signed reply scores 0); after a serving
halt, the same bytes are the evidence that a miner kept serving (``subnet.evidence``). One
function verifies for all of them: ``verify_reply``.

Signing and verifying cost about 90 us of libsodium per reply, as much as the rest of the
simulation spends on it; the simulation therefore hands them to the signing worker
(``subnet.signing_worker``, a process on the machine's other core), a round at a time:
``sign_batch`` returns a ``SignedBatch`` that fills in while the simulation goes on,
``verify_batch`` checks a round's replies with ``verify_reply`` there, and whoever reads a
result waits for it. Every reply is still signed and every scorable reply verified, and the
outcome does not depend on when the worker gets to them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import sys
from collections.abc import Sequence
from typing import Any, overload

from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey

from subnetsim.subnet.signing_worker import Job, kept, submit

__all__ = ["REPLY_DOMAIN", "SignedBatch", "SignedReply", "hotkey_public_key",
           "hotkey_secret_key", "hotkey_signing_key", "output_digest", "query_id",
           "reply_message", "sign_batch", "sign_reply", "verify_batch", "verify_reply"]

REPLY_DOMAIN = "subnetsim-reply/v1"
QUERY_ID_BYTES = 16
DIGEST_BYTES = 32
SIGNATURE_BYTES = 64
MAX_DIGESTED_BYTES = 1 << 20  # a larger "tensor" (the wire's frame limit) is digested by
#                                its header only: a hostile view claiming 100 MB is never read


def _hotkey_seed(seed: int, hotkey: str) -> bytes:
    """The 32-byte Ed25519 seed of ``hotkey`` in the run of ``seed`` (its own keyed stream)."""
    from subnetsim.subnet.rng import stream_seed  # here: the signing worker needs no numpy

    material = stream_seed(seed, f"hotkey.ed25519.{hotkey}").to_bytes(16, "little")
    return hashlib.blake2b(material, digest_size=32, person=b"subnetsim-hk").digest()


@functools.lru_cache(maxsize=4096)
def hotkey_signing_key(seed: int, hotkey: str) -> SigningKey:
    """The secret Ed25519 key of ``hotkey`` in the run of ``seed``, as a PyNaCl key."""
    return SigningKey(_hotkey_seed(seed, hotkey))


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
_headed: dict[tuple[Any, ...], tuple[Any, bool]] = {}  # a tensor's (dtype, shape) -> hasher
#                                                          fed its header, whether it is read


def output_digest(payload: Any) -> bytes:
    """BLAKE2b-256 of what a miner answered: a tensor's dtype, shape and bytes; anything else
    (or a tensor claiming more than ``MAX_DIGESTED_BYTES``) by its type and shape only, so a
    hostile reply is never read in full."""
    torch = sys.modules.get("torch")  # not imported: not a tensor (the signing worker has none)
    if torch is not None and type(payload) is torch.Tensor and not payload.requires_grad:
        form = (payload.dtype, payload.shape)
        known = _headed.get(form)
        if known is None:
            known = (_header_hasher(payload),
                     payload.nelement() * payload.element_size() <= MAX_DIGESTED_BYTES)
            if len(_headed) < 1024:  # a hostile peer's shapes must not grow it without end
                _headed[form] = known
        headed, read = known
        if not read:
            return headed.copy().digest()
        if payload.is_contiguous():
            hasher = headed.copy()
            hasher.update(payload.numpy())  # the same bytes as .tobytes(), not copied
            return hasher.digest()
    hasher = _header_hasher(payload)
    size = getattr(payload, "element_size", None)
    numel = getattr(payload, "numel", None)
    if callable(size) and callable(numel) and numel() * size() <= MAX_DIGESTED_BYTES:
        hasher.update(payload.detach().contiguous().numpy().tobytes())
    return hasher.digest()


def _header_hasher(payload: Any) -> Any:
    """The digest's hasher fed the payload's type, dtype and shape."""
    hasher = _DIGEST_START.copy()
    shape = getattr(payload, "shape", None)
    hasher.update(f"{type(payload).__name__}|{getattr(payload, 'dtype', '')}|"
                  f"{tuple(shape) if shape is not None else ''}".encode())
    return hasher


def reply_message(query: bytes, block: int, digest: bytes) -> bytes:
    """The canonical bytes a miner signs."""
    return f"{REPLY_DOMAIN}|query={query.hex()}|block={block}|output={digest.hex()}".encode()


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


def _sign(secret_key: bytes, message: bytes) -> bytes:
    """libsodium's Ed25519 signature (the first 64 bytes of its signed message)."""
    return crypto_sign(message, secret_key)[:SIGNATURE_BYTES]


def sign_reply(key: SigningKey | bytes, hotkey: str, query: bytes, block: int,
               payload: Any) -> SignedReply:
    """A miner's signature on its answer ``payload`` to ``query`` at ``block``; ``key`` is a
    PyNaCl key or libsodium's 64-byte secret key (``hotkey_secret_key``)."""
    secret = key if isinstance(key, bytes) else crypto_sign_seed_keypair(key.encode())[1]
    digest = output_digest(payload)
    return SignedReply(hotkey=hotkey, query=query, block=block, digest=digest,
                       signature=_sign(secret, reply_message(query, block, digest)))


def verify_reply(public_key: bytes, reply: SignedReply, *, query: bytes | None = None,
                 block: int | None = None, payload: Any = None,
                 digest: bytes | None = None) -> bool:
    """Whether ``reply`` is signed by ``public_key``; with ``query``, ``block`` and
    ``payload`` (or its ``digest``, computed by the caller), also whether it is the reply to
    that query and carries that very output."""
    if (len(reply.query) != QUERY_ID_BYTES or len(reply.digest) != DIGEST_BYTES
            or len(reply.signature) != SIGNATURE_BYTES or len(public_key) != 32):
        return False
    if query is not None and reply.query != query:
        return False
    if block is not None and reply.block != block:
        return False
    if payload is not None and digest is None:
        digest = output_digest(payload)
    if digest is not None and digest != reply.digest:
        return False
    try:
        crypto_sign_open(reply.signature + reply_message(reply.query, reply.block, reply.digest),
                         public_key)
    except BadSignatureError:
        return False
    return True


class SignedBatch(Sequence[SignedReply | None]):
    """A server's signed replies to one query, per target (None where nothing was signed or
    the reply never arrived), while the signing worker makes them: reading one waits for them.
    Sent to the worker (a job's argument), it travels as a reference to the signing job."""

    __slots__ = ("_count", "_claims", "_job", "_keep", "_replies")

    def __init__(self, count: int, claims: tuple[tuple[int, str, bytes, int, bytes], ...],
                 job: Job[list[bytes]], keep: frozenset[int] | None = None) -> None:
        self._count = count
        self._claims = claims  # (index, hotkey, query, block, digest) per signature made
        self._job = job
        self._keep = keep  # the indices shown (None: all)
        self._replies: tuple[SignedReply | None, ...] | None = None

    def _made(self) -> tuple[SignedReply | None, ...]:
        if self._replies is None:
            replies: list[SignedReply | None] = [None] * self._count
            keep = self._keep
            for (index, hotkey, query, block, digest), signature in zip(
                    self._claims, self._job.result(), strict=True):
                if keep is None or index in keep:
                    replies[index] = SignedReply(hotkey=hotkey, query=query, block=block,
                                                 digest=digest, signature=signature)
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
        if self._job.id < 0:  # signed here: its replies go as they are
            return tuple, (self._made(),)
        return _kept_batch, (self._count, self._job.id, self._keep)  # its claims are there

    def only(self, keep: Sequence[bool]) -> SignedBatch:
        """The same batch with None where ``keep`` is false (replies that never arrived)."""
        return SignedBatch(self._count, self._claims, self._job,
                           frozenset(index for index, kept in enumerate(keep) if kept))


def _kept_batch(count: int, job_id: int, keep: frozenset[int] | None) -> SignedBatch:
    """In the signing worker: the batch an earlier job there signed (``_sign_all``)."""
    (claims, _), signatures = kept(job_id)
    return SignedBatch(count, claims, Job(job_id, value=signatures), keep)


def sign_batch(count: int, signers: Sequence[tuple[int, str, bytes]], query: bytes,
               block: int, payloads: Sequence[Any]) -> SignedBatch:
    """Sign in the signing worker (or here, while it is behind) each ``(index, hotkey, secret
    key)`` signer's answer ``payloads[index]`` to ``query`` at ``block``; the output digests are
    taken now."""
    claims = tuple((index, hotkey, query, block, output_digest(payloads[index]))
                   for index, hotkey, _ in signers)
    secrets = [secret for _, _, secret in signers]
    return SignedBatch(count, claims, submit(_sign_all, claims, secrets, spill=True))


def _sign_all(claims: Sequence[tuple[int, str, bytes, int, bytes]],
              secrets: Sequence[bytes]) -> list[bytes]:
    return [_sign(secret, reply_message(query, block, digest))
            for (_, _, query, block, digest), secret in zip(claims, secrets, strict=True)]


def verify_batch(checks: Sequence[tuple[int, str, bytes, bytes]],
                 signatures: Sequence[SignedReply | None], *, query: bytes,
                 block: int) -> Job[list[bool]]:
    """In the signing worker: for each ``(index, hotkey, public key, output digest)``, whether
    ``signatures[index]`` is that hotkey's valid signature over ``query``, ``block`` and that
    output (``verify_reply``). Submitted after the batch it reads, so that batch is made."""
    return submit(_verify_all, checks, signatures, query, block)


def _verify_all(checks: Sequence[tuple[int, str, bytes, bytes]],
                signatures: Sequence[SignedReply | None], query: bytes,
                block: int) -> list[bool]:
    verdicts = []
    for index, hotkey, public_key, digest in checks:
        signed = signatures[index] if index < len(signatures) else None
        verdicts.append(signed is not None and signed.hotkey == hotkey and verify_reply(
            public_key, signed, query=query, block=block, digest=digest))
    return verdicts
