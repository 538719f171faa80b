"""The attack scenarios: each defence measurably works (figures in docs/scenarios.md)."""

from __future__ import annotations

import pytest

from tests.scenarios.outcomes import (
    cabal_incentive,
    churn_outcomes,
    copier_ratio,
    sybil_outcomes,
    theft_outcomes,
)


@pytest.mark.slow
def test_commit_reveal_lowers_the_weight_copiers_dividends_per_stake():
    on, off = copier_ratio(True, blocks=1200), copier_ratio(False, blocks=1200)
    assert on["ratio"] < off["ratio"] - 0.1
    assert off["ratio"] > 0.8  # without commit-reveal, copying nearly pays like the real work
    assert on["copier_vtrust"] < off["copier_vtrust"]


def test_copycats_are_refused_without_stake_and_rate_limited_with_it():
    rows = theft_outcomes(blocks=1500)
    victim = next(row for row in rows.values() if row["behaviour"] == "honest")
    copycats = [row for row in rows.values() if row["behaviour"] == "copycat"]
    unstaked = [row for row in copycats if row["stake"] < 10]
    staked = [row for row in copycats if row["stake"] >= 10]
    assert len(unstaked) == len(staked) == 2
    for row in unstaked:
        assert row["relay_refused"] == row["queries"] > 0 and row["answered"] == 0
        assert row["incentive"] == 0.0
    for row in staked:
        assert row["relay_rate_limited"] > row["answered"] > 0
        assert row["incentive"] < 0.25 * victim["incentive"]
    assert victim["relayed"] == sum(row["answered"] for row in staked)


@pytest.mark.parametrize(("share", "captured"), [(0.3, False), (0.45, False), (0.6, True)])
def test_cabal_captures_incentive_only_above_kappa(share, captured):
    outcome = cabal_incentive(share, blocks=1000)
    if captured:
        assert outcome["cabal_incentive"] > 0.9 and outcome["honest_vtrust"] < 0.1
    else:
        assert outcome["cabal_incentive"] < 0.02 and outcome["cabal_vtrust"] < 0.1


def test_dedupe_stops_a_sybil_farm_from_multiplying_one_model():
    on, off = sybil_outcomes(True, blocks=2000), sybil_outcomes(False, blocks=2000)
    assert on["sybils"] == off["sybils"] == 20  # the flood got in either way
    assert off["farm_incentive"] > 10 * off["best_honest"]  # without dedupe it pays ~20x
    assert on["farm_incentive"] < off["farm_incentive"] / 3
    assert on["duplicates_zeroed"] > 0 and off["duplicates_zeroed"] == 0


def test_churn_prunes_the_lazy_first_and_pressure_raises_the_burn():
    outcome = churn_outcomes(blocks=2400)
    order = outcome["pruned_in_order"]
    assert order[:20] == ["lazy"] * 20 and len(order) == outcome["registered"] == 30
    burns = outcome["burns_paid"]
    assert burns[-1] > 4 * burns[0] and burns == sorted(burns)
    assert outcome["rejected"] > 0  # more wanted in than the interval allows
