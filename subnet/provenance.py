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
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from subnetsim.subnet.rng import stream_seed

__all__ = ["REPLY_DOMAIN", "SignedReply", "hotkey_public_key", "hotkey_signing_key",
           "output_digest", "query_id", "reply_message", "sign_reply", "verify_reply"]

REPLY_DOMAIN = "subnetsim-reply/v1"
QUERY_ID_BYTES = 16
DIGEST_BYTES = 32
SIGNATURE_BYTES = 64
MAX_DIGESTED_BYTES = 1 << 20  # a larger "tensor" (the wire's frame limit) is digested by
#                                its header only: a hostile view claiming 100 MB is never read


@functools.lru_cache(maxsize=4096)
def hotkey_signing_key(seed: int, hotkey: str) -> SigningKey:
    """The secret Ed25519 key of ``hotkey`` in the run of ``seed`` (its own keyed stream)."""
    material = stream_seed(seed, f"hotkey.ed25519.{hotkey}").to_bytes(16, "little")
    return SigningKey(hashlib.blake2b(material, digest_size=32, person=b"subnetsim-hk").digest())


@functools.lru_cache(maxsize=4096)
def hotkey_public_key(seed: int, hotkey: str) -> bytes:
    """The public key registered for ``hotkey`` (32 bytes)."""
    return bytes(hotkey_signing_key(seed, hotkey).verify_key)


@functools.lru_cache(maxsize=4096)
def _verify_key(public_key: bytes) -> VerifyKey:
    return VerifyKey(public_key)


def query_id(caller_hotkey: str, block: int, inputs_digest: bytes) -> bytes:
    """A query's id: its caller, its block and its inputs (a caller queries once per block)."""
    hasher = hashlib.blake2b(digest_size=QUERY_ID_BYTES, person=b"subnetsim-qid")
    hasher.update(caller_hotkey.encode())
    hasher.update(block.to_bytes(8, "little"))
    hasher.update(inputs_digest)
    return hasher.digest()


def output_digest(payload: Any) -> bytes:
    """BLAKE2b-256 of what a miner answered: a tensor's dtype, shape and bytes; anything else
    (or a tensor claiming more than ``MAX_DIGESTED_BYTES``) by its type and shape only, so a
    hostile reply is never read in full."""
    hasher = hashlib.blake2b(digest_size=DIGEST_BYTES, person=b"subnetsim-out")
    shape = getattr(payload, "shape", None)
    hasher.update(f"{type(payload).__name__}|{getattr(payload, 'dtype', '')}|"
                  f"{tuple(shape) if shape is not None else ''}".encode())
    size = getattr(payload, "element_size", None)
    numel = getattr(payload, "numel", None)
    if callable(size) and callable(numel) and numel() * size() <= MAX_DIGESTED_BYTES:
        hasher.update(payload.detach().contiguous().numpy().tobytes())
    return hasher.digest()


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


def sign_reply(key: SigningKey, hotkey: str, query: bytes, block: int,
               payload: Any) -> SignedReply:
    """A miner's signature on its answer ``payload`` to ``query`` at ``block``."""
    digest = output_digest(payload)
    signature = key.sign(reply_message(query, block, digest)).signature
    return SignedReply(hotkey=hotkey, query=query, block=block, digest=digest,
                       signature=signature)


def verify_reply(public_key: bytes, reply: SignedReply, *, query: bytes | None = None,
                 block: int | None = None, payload: Any = None) -> bool:
    """Whether ``reply`` is signed by ``public_key``; with ``query``, ``block`` and
    ``payload``, also whether it is the reply to that query and carries that very output."""
    if (len(reply.query) != QUERY_ID_BYTES or len(reply.digest) != DIGEST_BYTES
            or len(reply.signature) != SIGNATURE_BYTES or len(public_key) != 32):
        return False
    if query is not None and reply.query != query:
        return False
    if block is not None and reply.block != block:
        return False
    if payload is not None and output_digest(payload) != reply.digest:
        return False
    try:
        _verify_key(public_key).verify(reply_message(reply.query, reply.block, reply.digest),
                                     reply.signature)
    except BadSignatureError:
        return False
    return True
