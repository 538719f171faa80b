"""Checkpoint trees: containers of plain values are copied whole, and the tree is still the
documented one entry by entry (a non-finite float tagged wherever it sits)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from subnetsim.subnet.store.state_codec import MAGIC, decode_state, encode_state

INF, NAN = float("inf"), float("nan")


def header_tree(value):
    blob = encode_state(value)
    size = int.from_bytes(blob[len(MAGIC):len(MAGIC) + 8], "little")
    return json.loads(blob[len(MAGIC) + 8:len(MAGIC) + 8 + size])["tree"]


@pytest.mark.parametrize(("value", "tree"), [
    ([0.5, -0.0, 3, "a", None, True], [0.5, -0.0, 3, "a", None, True]),
    ((0.25, 1.5), {"t": [0.25, 1.5]}),
    ([1.0, INF], [1.0, {"f": "inf"}]),
    ((NAN, 2.0), {"t": [{"f": "nan"}, 2.0]}),
    ((0.5,) * 7, {"t": [0.5] * 7}),  # a sealed weight row's length: copied whole
    ((0.5,) * 6 + (INF,), {"t": [0.5] * 6 + [{"f": "inf"}]}),
    ([1e308, 1e308], [1e308, 1e308]),  # finite entries whose sum overflows
    ({"b": 1.5, "a": 2}, {"d": [["b", 1.5], ["a", 2]]}),
    ({"a": -INF}, {"d": [["a", {"f": "-inf"}]]}),
    ({("cold", 3): 1.25}, {"d": [[{"t": ["cold", 3]}, 1.25]]}),
    ({("cold", 3): 1.25, ("cold", 0.5): 2.0},  # a float in a key: entry by entry, same form
     {"d": [[{"t": ["cold", 3]}, 1.25], [{"t": ["cold", 0.5]}, 2.0]]}),
    ({("cold", 3): NAN}, {"d": [[{"t": ["cold", 3]}, {"f": "nan"}]]}),
    ([np.float64(0.5)], [0.5]),
])
def test_a_container_has_its_documented_tree_and_reads_back(value, tree):
    assert header_tree(value) == tree
    blob = encode_state(value)
    assert encode_state(decode_state(blob)) == blob
