"""``canonical_bytes``: what the block hash covers of a record, the same before and after the
run store's JSON, and different whenever the JSON differs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from subnetsim.subnet.canonical import canonical_bytes
from subnetsim.subnet.extrinsics import SetWeights
from subnetsim.subnet.records import (
    ExtrinsicRecord,
    canonical_json,
    epoch_from_data,
    epoch_to_data,
    extrinsics_hash,
)

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
                                   {1, 2}, b"raw", np.int64(3), [np.bool_(True)],
                                   np.array(2.5)])
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


# Arrays as epoch records hold them (and a few dtypes they do not), up to matrices, empty ones
# included; finite floats only (JSON has no NaN).
array_dtypes = st.sampled_from(["bool", "int8", "int32", "int64", "uint16", "uint64", "float16",
                                "float32", "float64"])
arrays = array_dtypes.flatmap(lambda dtype: hnp.arrays(
    dtype, hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=5),
    elements={"allow_nan": False, "allow_infinity": False} if dtype.startswith("float") else None))


@settings(max_examples=200, deadline=None)
@given(arrays)
def test_an_array_encodes_as_the_list_the_store_writes(array):
    assert canonical_bytes(array) == canonical_bytes(array.tolist())
    assert canonical_bytes({"v": [array]}) == canonical_bytes(from_store({"v": [array.tolist()]}))


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix, a subclass
def test_arrays_beyond_the_packed_forms_still_encode_as_their_lists():
    huge = np.array([2**63, 1], dtype=np.uint64)  # beyond int64: entry by entry, as the list
    transposed = np.arange(6.0).reshape(2, 3).T  # not contiguous
    for array in (huge, transposed, transposed[:, 1], np.array([True, False])[::-1],
                  np.array(["a", "b"]), np.matrix([[1.5, 2.0]])):
        assert canonical_bytes(array) == canonical_bytes(np.asarray(array).tolist())
    with pytest.raises(ValueError):
        canonical_bytes(np.array([0.5, np.nan]))


def test_an_epoch_hashes_as_its_stored_json(make_chain, submit_at, env, recorder):
    """The block hash encodes the epoch's arrays directly; the run store keeps the JSON."""
    chain = make_chain(tempo=4)
    submit_at(chain, 2, SetWeights(hotkey="val-0", uids=(2, 3), weights=(1.0, 0.25)))
    submit_at(chain, 2, SetWeights(hotkey="val-1", uids=(3, 4), weights=(0.5, 1.0)))
    env.run(until=12 * 12)
    epoch = recorder.epochs[-1]
    assert epoch.inputs.weights.any() and epoch.inputs.bonds.any()
    stored = from_store(epoch_to_data(epoch))
    assert canonical_bytes(epoch_to_data(epoch, arrays=True)) == canonical_bytes(stored)
    read_back = epoch_from_data(epoch.block, stored)
    assert canonical_bytes(epoch_to_data(read_back, arrays=True)) == canonical_bytes(stored)
