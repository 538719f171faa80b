"""The output digest a reply's signature names (``subnet.provenance.output_digest``): BLAKE2b-256,
personalised ``subnetsim-out``, of the payload's type, dtype and shape, then its bytes in C
order (a tensor of at most 1 MiB; anything else by its header only). Checked here against
``hashlib`` on every kind of payload the digest meets: the compiled batches read the bytes
where they are, or a copy where they cannot (not contiguous, complex, needing grad)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from subnetsim.subnet import provenance
from subnetsim.subnet.provenance import output_digest, output_digests


def _expected(payload: object, data: bytes = b"") -> bytes:
    shape = getattr(payload, "shape", None)
    header = (f"{type(payload).__name__}|{getattr(payload, 'dtype', '')}|"
              f"{tuple(shape) if shape is not None else ''}")
    return hashlib.blake2b(header.encode() + data, digest_size=32,
                           person=b"subnetsim-out").digest()


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    return tensor.detach().contiguous().numpy().tobytes()


def _payloads() -> list[tuple[object, bytes]]:
    """(payload, the bytes its digest reads after the header)."""
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    rows = base.unbind(0)
    transposed = base.t()  # not contiguous
    grad = torch.ones(3, requires_grad=True)
    complex_ = torch.tensor([1 + 2j, 3 - 1j])
    huge = torch.zeros((1 << 20) // 4 + 1)  # over 1 MiB: header only
    empty = torch.zeros(0, 3)
    ints = torch.arange(5, dtype=torch.int16)
    return [(rows[1], _tensor_bytes(rows[1])), (rows[3], _tensor_bytes(rows[3])),
            (transposed, _tensor_bytes(transposed)), (grad, _tensor_bytes(grad)),
            (complex_, _tensor_bytes(complex_)), (huge, b""), (empty, b""),
            (ints, _tensor_bytes(ints)), ([1, 2, 3], b""), (np.ones(3), b""), ("text", b"")]


@pytest.mark.parametrize("kept_forms", [provenance.MAX_FORMS, 0])
def test_every_kind_of_payload_digests_as_its_definition(monkeypatch, kept_forms):
    """The same digests whether a tensor form's header is kept or made per call."""
    monkeypatch.setattr(provenance, "MAX_FORMS", kept_forms)
    if not kept_forms:
        monkeypatch.setattr(provenance, "_forms", {})
    cases = _payloads()
    expected = [_expected(payload, data) for payload, data in cases]
    assert output_digests([payload for payload, _ in cases]) == expected
    assert [output_digest(payload) for payload, _ in cases] == expected
    assert len(set(expected)) == len(expected)  # rows 1 and 3: same form, other bytes
