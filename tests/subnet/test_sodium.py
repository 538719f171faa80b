"""The compiled libsodium batches (``subnet.sodium``) against independent references: output
digests equal to ``hashlib``'s BLAKE2b, signatures equal to PyNaCl's byte for byte, and
verdicts that reject what ``VerifyKey.verify`` rejects."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey

from subnetsim.subnet.sodium import (
    GIVEN,
    digest_rows,
    open_replies,
    reply_message_bytes,
    sign_replies,
)

KEYS = [SigningKey(bytes([seed]) * 32) for seed in range(3)]
PREFIX = b"subnetsim-reply/v1|query=" + b"ab" * 16 + b"|block=7|output="
HEADERS = [b"Tensor|torch.float32|(2, 3)", b"ndarray|int8|(5,)", b""]
DATA = [np.arange(6, dtype=np.float32), np.arange(5, dtype=np.int8) - 2, np.zeros(0, np.uint8),
        np.linspace(0, 1, 7), np.ones(3, np.float32)]
ROWS = [(0, 0), (1, 1), (0, 2), (2, 3), (1, 4)]  # (header, data) of each source row


def _sources() -> tuple[np.ndarray, np.ndarray, list[bytes]]:
    """Headers, source rows and each row's digested bytes (header then data)."""
    headers = np.frombuffer(b"".join(HEADERS), np.uint8).copy()
    starts = np.cumsum([0] + [len(h) for h in HEADERS])
    sources = np.array([(starts[h], len(HEADERS[h]), DATA[d].ctypes.data, DATA[d].nbytes)
                        for h, d in ROWS], np.int64)
    return headers, sources, [HEADERS[h] + DATA[d].tobytes() for h, d in ROWS]


def _reference_digest(material: bytes) -> bytes:
    return hashlib.blake2b(material, digest_size=32, person=b"subnetsim-out").digest()


def test_digests_are_blake2b_and_signatures_are_pynacls():
    headers, sources, materials = _sources()
    digests = digest_rows(headers, sources, np.empty((5, 32), np.uint8))
    assert [row.tobytes() for row in digests] == [_reference_digest(m) for m in materials]
    secret = np.frombuffer(b"".join(bytes(k) + bytes(k.verify_key) for k in KEYS),
                           np.uint8).reshape(3, 64).copy()  # seed || public
    key_rows = np.array([0, 1, 2, 0, 1])
    claims = sign_replies(np.frombuffer(PREFIX, np.uint8).copy(), headers, sources, secret,
                          key_rows, np.empty((5, 96), np.uint8))
    for row, material in enumerate(materials):
        digest = _reference_digest(material)
        assert claims[row, :32].tobytes() == digest
        message = PREFIX + digest.hex().encode()
        assert claims[row, 32:].tobytes() == KEYS[key_rows[row]].sign(message).signature
        assert reply_message_bytes(np.frombuffer(PREFIX, np.uint8).copy(),
                                   claims[row, :32].copy()).tobytes() == message


def test_each_verdict_is_verify_keys_on_the_digest_of_what_came():
    headers, sources, materials = _sources()
    secret = np.frombuffer(b"".join(bytes(k) + bytes(k.verify_key) for k in KEYS),
                           np.uint8).reshape(3, 64).copy()
    prefix = np.frombuffer(PREFIX, np.uint8).copy()
    claims = sign_replies(prefix, headers, sources, secret, np.array([0, 1, 2, 0, 1]),
                          np.empty((5, 96), np.uint8))
    claims[3, 40] ^= 1  # a tampered signature
    signer = (0, 1, 0, 0, 1)  # row 2 checked under another key
    claim_rows = np.array([0, 1, 2, 3, 0])  # row 4 claims row 0's output: another output
    public = np.frombuffer(b"".join(bytes(KEYS[k].verify_key) for k in signer),
                           np.uint8).reshape(5, 32).copy()
    verdicts = open_replies(prefix, headers, sources, np.empty((5, 32), np.uint8), claims,
                            claim_rows, public, np.zeros(7, np.bool_),
                            np.array([6, 5, 4, 3, 2]))  # each verdict lands in its slot
    for row in range(5):
        claim = claims[claim_rows[row]].tobytes()
        try:
            KEYS[signer[row]].verify_key.verify(PREFIX + claim[:32].hex().encode(), claim[32:])
            expected = claim[:32] == _reference_digest(materials[row])
        except BadSignatureError:
            expected = False
        assert verdicts[6 - row] == expected
    assert verdicts.tolist() == [False, False, False, False, False, True, True]
    given = np.array([[0, GIVEN, 0, 0]], np.int64)  # a digest given, not computed
    verdict = open_replies(prefix, headers, given, claims[1:2, :32].copy(), claims,
                           np.array([1]), public[1:2].copy(), np.zeros(1, np.bool_),
                           np.zeros(1, np.int64))
    assert verdict.tolist() == [True]


def test_sources_outside_the_headers_are_refused():
    headers, sources, _ = _sources()
    sources[1, 0] = len(headers)
    with pytest.raises(ValueError, match="outside the headers"):
        digest_rows(headers, sources, np.empty((5, 32), np.uint8))
    sources[1, 0], sources[1, 1] = 0, GIVEN  # a given digest: only where one is given
    with pytest.raises(ValueError, match="outside the headers"):
        digest_rows(headers, sources, np.empty((5, 32), np.uint8))
