"""``canonical_bytes``: what the block hash covers of a record, the same before and after the
run store's JSON, and different whenever the JSON differs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subnetsim.subnet.canonical import canonical_bytes
from subnetsim.subnet.records import ExtrinsicRecord, canonical_json, extrinsics_hash

# Plain JSON data as records carry it: homogeneous number lists (packed), mixed lists, nested
# mappings, and the values JSON keeps apart (1 and 1.0, 0.0 and -0.0, True and 1).
scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6))
json_data = st.recursive(
    scalars | st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=8)
    | st.lists(st.integers(-2**65, 2**65), max_size=8),
    lambda inner: (st.lists(inner, max_size=5) | st.tuples(inner, inner)
                   | st.dictionaries(st.text(max_size=5), inner, max_size=5)),
    max_leaves=30)


def from_store(value):
    """What the run store gives back: the value through its canonical JSON."""
    return json.loads(canonical_json(value))


@settings(max_examples=100, deadline=None)
@given(json_data)
def test_a_value_read_back_from_json_has_the_same_bytes(value):
    assert canonical_bytes(from_store(value)) == canonical_bytes(value)


@settings(max_examples=100, deadline=None)
@given(json_data, json_data)
def test_equal_bytes_exactly_when_the_stored_json_is_equal(first, second):
    same_json = canonical_json(first) == canonical_json(second)
    assert (canonical_bytes(first) == canonical_bytes(second)) == same_json


def test_values_json_keeps_apart_have_different_bytes():
    pairs = [(1, 1.0), (0.0, -0.0), (True, 1), ([1, 2], [1.0, 2.0]), ([True], [1]),
             ("1", 1), ({"a": [1]}, {"a": [[1]]}), ([], {}), (None, "None"),
             ([0.5, 1.0], [0.5, 1.0, 0.0]), ({"ab": "c"}, {"a": "bc"})]
    for first, second in pairs:
        assert canonical_bytes(first) != canonical_bytes(second), (first, second)


def test_numpy_floats_and_tuples_encode_as_the_json_they_become():
    assert canonical_bytes([np.float64(0.25), 0.5]) == canonical_bytes([0.25, 0.5])
    assert canonical_bytes((1, 2)) == canonical_bytes([1, 2])
    assert canonical_bytes({"b": 1, "a": 2}) == canonical_bytes({"a": 2, "b": 1})
    assert canonical_bytes({3: "x"}) == canonical_bytes(from_store({3: "x"}))


@pytest.mark.parametrize("value", [float("nan"), [1.0, float("inf")], {"a": -float("inf")},
                                   {1, 2}, b"raw", np.int64(3), [np.bool_(True)]])
def test_what_json_refuses_is_refused(value):
    with pytest.raises((TypeError, ValueError)):
        canonical_json(value)
    with pytest.raises((TypeError, ValueError)):
        canonical_bytes(value)


def test_a_stored_extrinsic_hashes_as_the_one_the_chain_made():
    weights = np.random.default_rng(3).random(192)
    record = ExtrinsicRecord(block=7, index=0, kind="set_weights", hotkey="validator-1",
                             payload={"uids": list(range(64, 256)),
                                      "weights": [np.float64(w) for w in weights]},
                             accepted=True)
    stored = ExtrinsicRecord(block=7, index=0, kind="set_weights", hotkey="validator-1",
                             payload=from_store(record.payload), accepted=True)
    assert extrinsics_hash([stored]) == extrinsics_hash([record])
    nudged = dict(stored.payload, weights=[*stored.payload["weights"][:-1],
                                           np.nextafter(weights[-1], 2.0)])
    edited = ExtrinsicRecord(block=7, index=0, kind="set_weights", hotkey="validator-1",
                             payload=nudged, accepted=True)
    assert extrinsics_hash([edited]) != extrinsics_hash([record])
