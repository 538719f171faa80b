"""The pure summaries the panels plot: Gini, per-group totals, the weights view, rows."""

from __future__ import annotations

import numpy as np
import pytest

from subnetsim.tui.snapshot import gini, group_totals, weights_view
from subnetsim.tui.widgets.metagraph import metagraph_rows, visible_rows
from tests.tui.canned import canned_snapshot


def test_gini_of_equal_and_concentrated_values() -> None:
    assert gini([5, 5, 5, 5]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)  # (n - 1) / n for one holder of n
    assert gini([]) == 0.0 and gini([0, 0]) == 0.0


def test_group_totals_skip_empty_slots_and_sort_groups() -> None:
    totals = group_totals([0.5, 0.25, 0.25, 9.0], ["m:b", "m:a", "m:b", ""])
    assert totals == (("m:a", 0.25), ("m:b", 0.75))


def test_weights_view_rows_are_weight_setters_normalised() -> None:
    weights = np.array([[0, 3, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 1, 0]])
    registered = np.array([True, True, True, False])
    view = weights_view(weights, weights > 0, weights * 100, registered,
                        np.array([0.0, 0.6, 0.4, 0.0]))
    assert view.validator_uids.tolist() == [0]  # uid 3 set weights but is not registered
    assert view.miner_uids.tolist() == [1, 2]
    assert view.weights.tolist() == [[0.75, 0.25]]
    assert view.consensus.tolist() == [0.6, 0.4]
    assert not view.weights.flags.writeable


def test_filter_words_must_all_match() -> None:
    rows = metagraph_rows(canned_snapshot())
    assert {row[0] for row in visible_rows(rows, "val cabal", 0, False)} == {3}
    assert len(visible_rows(rows, "miner", 0, False)) == 8
    assert visible_rows(rows, "", 2, True)[0][0] == 3  # most stake first
