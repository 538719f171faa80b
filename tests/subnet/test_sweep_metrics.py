"""Outcome metrics and summaries: pure functions checked on hand-built runs and references."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from subnetsim.sweep.metrics import METRICS, BehaviourGroups, RunData, gini, run_metrics, spearman
from subnetsim.sweep.report import mean_interval, t_quantile
from subnetsim.sweep.task import _model_losses, build_columns

GROUPS = BehaviourGroups()


def make_run(rows: list[dict], **info: float) -> RunData:
    """A run from rows holding epoch, uid, role, behaviour and whatever amounts they set."""
    columns = {name: [row.get(name, 0.0) for row in rows] for name in (
        "stake", "incentive", "dividends", "incentive_tao", "dividends_tao")}
    columns.update({name: [row[name] for row in rows] for name in ("epoch", "uid", "role",
                                                                    "behaviour")})
    columns["model_loss"] = [row.get("model_loss") for row in rows]
    return RunData.from_columns(columns, info)


def validators(epoch: int, *specs: tuple[int, str, float, float]) -> list[dict]:
    return [{"epoch": epoch, "uid": uid, "role": "validator", "behaviour": behaviour,
             "stake": stake, "dividends_tao": paid} for uid, behaviour, stake, paid in specs]


def test_copier_ratio_compares_dividends_per_unit_stake():
    # Honest: 10 TAO on 1000 stake (1%); copier: 1 TAO on 200 stake (0.5%).
    rows = validators(1, (0, "honest", 600.0, 6.0), (1, "fixed", 400.0, 4.0),
                      (2, "weight_copier", 200.0, 1.0))
    assert run_metrics(make_run(rows), ("copier_dividend_ratio",), GROUPS) == {
        "copier_dividend_ratio": pytest.approx(0.5)}


def test_ratios_are_nan_without_the_group_and_warmup_drops_early_epochs():
    rows = validators(1, (0, "honest", 100.0, 1.0), (1, "weight_copier", 100.0, 9.0))
    rows += validators(2, (0, "honest", 100.0, 1.0), (1, "weight_copier", 100.0, 1.0))
    run = make_run(rows)
    assert run_metrics(run, ("copier_dividend_ratio",), GROUPS)["copier_dividend_ratio"] == \
        pytest.approx(5.0)
    after = run_metrics(run, ("copier_dividend_ratio",), GROUPS, warmup_epochs=1)
    assert after["copier_dividend_ratio"] == pytest.approx(1.0)
    honest_only = make_run(validators(1, (0, "honest", 100.0, 1.0)))
    assert math.isnan(run_metrics(honest_only, ("copier_dividend_ratio",),
                                  GROUPS)["copier_dividend_ratio"])


def test_attacker_share_and_groups_come_from_the_sweep_file():
    rows = validators(1, (0, "fixed", 100.0, 3.0), (1, "random", 100.0, 1.0))
    rows.append({"epoch": 1, "uid": 2, "role": "miner", "behaviour": "idle",
                 "incentive_tao": 4.0})
    run = make_run(rows)
    assert math.isnan(run_metrics(run, ("attacker_emission_share",),
                                  GROUPS)["attacker_emission_share"])
    groups = BehaviourGroups(attacker=("random",), copier=("random",))
    result = run_metrics(run, ("attacker_emission_share", "copier_dividend_ratio"), groups)
    assert result == {"attacker_emission_share": pytest.approx(1 / 8),
                      "copier_dividend_ratio": pytest.approx(1 / 3)}


def test_emission_gini_sums_each_uid_over_epochs():
    rows = [{"epoch": e, "uid": uid, "role": "miner", "behaviour": "idle", "incentive_tao": 1.0}
            for e, uid in itertools.product((1, 2), range(4))]
    assert run_metrics(make_run(rows), ("emission_gini",), GROUPS)["emission_gini"] == 0.0
    rows = [{"epoch": e, "uid": uid, "role": "miner", "behaviour": "idle",
             "incentive_tao": 5.0 if uid == 3 else 0.0}
            for e, uid in itertools.product((1, 2), range(4))]
    assert run_metrics(make_run(rows), ("emission_gini",), GROUPS)["emission_gini"] == \
        pytest.approx(3 / 4)


@given(st.lists(st.floats(0, 1e6, allow_subnormal=False), min_size=1, max_size=30))
def test_gini_matches_the_mean_absolute_difference_definition(values):
    x = np.array(values)
    if x.sum() <= 0:
        assert math.isnan(gini(x))
        return
    pairs = np.abs(x[:, None] - x[None, :]).sum()
    assert gini(x) == pytest.approx(pairs / (2 * len(x) * x.sum()), abs=1e-9)


def test_loss_incentive_spearman_uses_miners_that_report_a_loss():
    losses = {2: 0.1, 3: 0.2, 4: 0.3, 5: 0.4}
    rows = validators(1, (0, "honest", 100.0, 1.0))
    rows += [{"epoch": 1, "uid": uid, "role": "miner", "behaviour": "honest",
              "incentive": 1.0 / loss, "model_loss": loss} for uid, loss in losses.items()]
    rows.append({"epoch": 1, "uid": 6, "role": "miner", "behaviour": "lazy", "incentive": 9.0})
    result = run_metrics(make_run(rows), ("loss_incentive_spearman",), GROUPS)
    assert result["loss_incentive_spearman"] == pytest.approx(-1.0)
    no_losses = make_run([{**row, "model_loss": None} for row in rows])
    assert math.isnan(run_metrics(no_losses, ("loss_incentive_spearman",),
                                  GROUPS)["loss_incentive_spearman"])


def slow_spearman(a: list[float], b: list[float]) -> float:
    """Pearson correlation of average ranks, ranks counted one value at a time."""
    def ranks(values):
        return [sum(v < x for v in values) + (sum(v == x for v in values) + 1) / 2
                for x in values]
    ra, rb = np.array(ranks(a)), np.array(ranks(b))
    return float(((ra - ra.mean()) * (rb - rb.mean())).sum()
                 / math.sqrt(((ra - ra.mean()) ** 2).sum() * ((rb - rb.mean()) ** 2).sum()))


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=3, max_size=20))
def test_spearman_with_ties_matches_a_slow_reference(pairs):
    a, b = [float(p[0]) for p in pairs], [float(p[1]) for p in pairs]
    if len(set(a)) < 2 or len(set(b)) < 2:
        assert math.isnan(spearman(np.array(a), np.array(b)))
    else:
        assert spearman(np.array(a), np.array(b)) == pytest.approx(slow_spearman(a, b))


def test_halt_metrics_come_from_the_run_facts():
    run = make_run(validators(1, (0, "honest", 1.0, 1.0)), halt_block=120)
    assert run_metrics(run, ("halt_block",), GROUPS) == {"halt_block": 120.0}
    assert all(math.isnan(v) for v in run_metrics(
        make_run(validators(1, (0, "honest", 1.0, 1.0))), ("halt_block",), GROUPS).values())


def test_every_metric_has_a_label():
    assert all(metric.label and metric.name == name for name, metric in METRICS.items())


def test_model_losses_are_read_by_uid_and_skip_nan_and_empty_slots():
    hotkeys = ["v-0", "m-1", "m-2", None]
    losses = np.array([float("nan"), 0.5, 0.25, 0.1])
    assert _model_losses(losses, hotkeys) == {"m-1": 0.5, "m-2": 0.25}
    assert _model_losses(np.full(4, np.nan), hotkeys) == {}
    assert build_columns([], {}, {})["model_loss"].shape == (0,)


def test_t_quantile_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 5, 29, 30, 31, 45, 100, 1000):
        assert t_quantile(df) == pytest.approx(stats.t.ppf(0.975, df), rel=2e-4)


def test_mean_interval_skips_nan_and_needs_two_values():
    single = mean_interval([2.0, float("nan")])
    assert (single.mean, single.count) == (2.0, 1) and math.isnan(single.low)
    interval = mean_interval([1.0, 2.0, 3.0])
    # The interval lies within the observed values (tests/subnet/test_sweep_intervals.py).
    assert 1.0 <= interval.low <= interval.mean == 2.0 <= interval.high <= 3.0
    assert mean_interval([]).count == 0
