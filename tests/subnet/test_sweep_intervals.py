"""Intervals that respect the metric: in range whatever the data, honest coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subnetsim.sweep.intervals import (
    FEW_SEEDS,
    expanded_tail,
    fresh_mean_interval,
    mean_interval,
    t_quantile,
    t_two_sided_quantile,
)
from subnetsim.sweep.metrics import METRICS
from subnetsim.sweep.report import few_seeds_warning

BOUNDED = {name: metric.bounds for name, metric in METRICS.items()}


def _values_in(bounds: tuple[float, float]) -> st.SearchStrategy[list[float]]:
    low, high = bounds
    top = high if math.isfinite(high) else 1e6
    return st.lists(st.floats(min_value=low, max_value=top, allow_nan=False), min_size=1,
                    max_size=40)


@pytest.mark.parametrize("kind", ["confidence", "fresh-seed prediction"])
@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(BOUNDED)).flatmap(
    lambda name: st.tuples(st.just(name), _values_in(BOUNDED[name]))))
def test_no_interval_leaves_its_metrics_range(kind, case):
    name, values = case
    low, high = BOUNDED[name]
    interval = (mean_interval(values) if kind == "confidence"
                else fresh_mean_interval(values, BOUNDED[name]))
    assert interval.count == len(values)
    if len(values) == 1:
        assert math.isnan(interval.low) and math.isnan(interval.high)
        return
    assert low <= interval.low <= interval.mean <= interval.high <= high
    if kind == "confidence":  # the bootstrap stays between the extremes seen
        assert min(values) <= interval.low and interval.high <= max(values)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 1), st.just(float("nan"))), min_size=0, max_size=12))
def test_nan_values_are_left_out_and_shares_stay_shares(values):
    interval = mean_interval(values)
    finite = [v for v in values if not math.isnan(v)]
    assert interval.count == len(finite)
    if len(finite) >= 2:
        assert 0.0 <= interval.low <= interval.high <= 1.0


def test_the_cases_the_t_interval_got_wrong_now_stay_in_range():
    # Two seeds of a small share and of a Gini near 1: Student's t left [0, 1] on both.
    share = mean_interval([0.0, 0.03])
    gini = mean_interval([0.97, 1.0])
    assert share.low >= 0.0 and gini.high <= 1.0
    # With two values the interval is what they say, no more: from one to the other.
    assert (share.low, share.high) == (0.0, 0.03)


def test_with_few_values_the_tail_is_tiny_and_the_interval_spans_the_extremes():
    # Three values: alpha'/2 = Phi(-sqrt(3/2) * 4.303) is about 1e-7, far below 1/4000.
    assert expanded_tail(3) < 1e-6
    interval = mean_interval([1.0, 2.0, 3.0])
    assert (interval.low, interval.mean, interval.high) == (1.0, 2.0, 3.0)
    # Many values: the expansion fades and the tail approaches the nominal 2.5%.
    assert expanded_tail(200) == pytest.approx(0.025, abs=0.002)


def test_coverage_of_the_mean_is_close_to_95_percent():
    rng = np.random.default_rng(12)
    for count in (5, 10):
        hits = 0
        trials = 400
        for _ in range(trials):
            interval = mean_interval(rng.normal(0.5, 0.1, size=count))
            hits += interval.low <= 0.5 <= interval.high
        assert 0.88 <= hits / trials <= 0.995, (count, hits / trials)


def test_the_interval_is_a_pure_function_of_the_values():
    values = [0.2, 0.5, 0.9, 0.4, 0.3, 0.8]
    assert mean_interval(values) == mean_interval(list(values))


def test_fewer_than_five_seeds_warn():
    assert few_seeds_warning(FEW_SEEDS) is None
    assert "2 seed(s)" in few_seeds_warning(2)


@pytest.mark.parametrize("seeds", [4, 8])
def test_a_fresh_mean_of_as_many_seeds_lands_inside_95_percent_of_the_time(seeds):
    # What a tuning user does: take a setting's n-seed interval, re-run it on n new seeds.
    rng = np.random.default_rng(11)
    trials, inside, inside_confidence = 4000, 0, 0
    for _ in range(trials):
        old = rng.normal(0.4, 0.05, seeds)
        new_mean = rng.normal(0.4, 0.05, seeds).mean()
        fresh = fresh_mean_interval(old, (0.0, math.inf))
        confidence = mean_interval(old)
        inside += fresh.low <= new_mean <= fresh.high
        inside_confidence += confidence.low <= new_mean <= confidence.high
    assert 0.935 <= inside / trials <= 0.965
    # The confidence interval of the old mean is the wrong tool for this question.
    assert inside_confidence / trials < 0.88


def test_a_fresh_seed_interval_is_cut_at_the_metrics_bound_and_keeps_the_mean():
    interval = fresh_mean_interval([0.0, 0.0, 0.02, 0.3], (0.0, 1.0))
    assert interval.low == 0.0 and interval.mean == pytest.approx(0.08)
    assert interval.high > 0.3  # a fresh mean can exceed every value seen


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 12, 29, 30])
def test_the_t_distribution_reproduces_the_printed_table(df):
    # The series of Abramowitz & Stegun 26.7.3-4 against the NIST table of t(0.975, df).
    assert t_two_sided_quantile(0.95, df) == pytest.approx(t_quantile(df), abs=6e-4)


def test_t_quantiles_at_other_levels_match_printed_values():
    # t(0.995, 3) = 5.841 and t(0.9995, 7) = 5.408 (NIST/SEMATECH table 1.3.6.7.2).
    assert t_two_sided_quantile(0.99, 3) == pytest.approx(5.841, abs=1e-3)
    assert t_two_sided_quantile(0.999, 7) == pytest.approx(5.408, abs=1e-3)


def test_a_simultaneous_interval_is_wider_than_a_single_one():
    values = [0.31, 0.30, 0.33, 0.29, 0.32, 0.30, 0.31, 0.34]
    single = fresh_mean_interval(values, (0.0, math.inf), fresh=4)
    family = fresh_mean_interval(values, (0.0, math.inf), fresh=4, level=1 - 0.05 / 22)
    assert family.low < single.low < single.mean < single.high < family.high
