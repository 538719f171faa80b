"""The compiled libsodium batches (``subnet.sodium``) against PyNaCl's own Python API: the same
signatures byte for byte, and verdicts that reject what ``VerifyKey.verify`` rejects."""

from __future__ import annotations

import numpy as np
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey

from subnetsim.subnet.sodium import open_rows, sign_rows

KEYS = [SigningKey(bytes([seed]) * 32) for seed in range(3)]
MESSAGES = [f"subnetsim-reply/v1|query={n:032x}|block={n}|output={'ab' * 32}".encode()
            for n in range(5)]


def _rows(items: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(items), np.uint8).reshape(len(items), -1)


def test_signatures_are_pynacls_and_each_verdict_is_verify_keys():
    messages = _rows(MESSAGES)  # equal lengths: blocks 0-4 have one digit
    secret = _rows([bytes(key) + bytes(key.verify_key) for key in KEYS])  # seed || public
    key_rows = np.array([0, 1, 2, 0, 1])
    signatures = sign_rows(messages, secret, key_rows, np.empty((5, 64), np.uint8))
    for row, message in enumerate(MESSAGES):
        assert signatures[row].tobytes() == KEYS[key_rows[row]].sign(message).signature
    tampered = signatures.copy()
    tampered[3, 10] ^= 1
    public = _rows([bytes(KEYS[row].verify_key) for row in (0, 1, 0, 0, 2)])  # 2, 4: wrong key
    verdicts = open_rows(messages, tampered, np.arange(5), public, np.zeros(7, np.bool_),
                         np.array([6, 5, 4, 3, 2]))  # each verdict lands in its slot
    for row in range(5):
        try:
            KEYS[(0, 1, 0, 0, 2)[row]].verify_key.verify(MESSAGES[row], tampered[row].tobytes())
            expected = True
        except BadSignatureError:
            expected = False
        assert verdicts[6 - row] == expected
    assert verdicts.tolist() == [False, False, False, False, False, True, True]
