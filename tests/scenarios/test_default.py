"""default.toml after 20 epochs: incentive ranks miners by true model loss, trainers climb,
cheaters earn nothing and never break the run."""

from __future__ import annotations

import numpy as np
import pytest

from tests.scenarios.outcomes import default_outcomes


@pytest.fixture(scope="module")
def outcomes():
    return default_outcomes(blocks=2000)  # tempo 99 in default.toml: 20 epochs


def test_twenty_epochs_ran(outcomes):
    assert outcomes["epochs"] == 20


def test_incentive_ranks_miners_by_true_model_loss(outcomes):
    assert outcomes["spearman"] <= -0.8


def test_trainers_incentive_rises_over_time(outcomes):
    series = np.array(outcomes["trainer_incentive_by_epoch"])
    # Epochs 2-4: timelocked commit-reveal counts weights from the next epoch on (the chain
    # reveals at that epoch's first block), so the rise starts at epoch 2.
    early, late = series[1:4].mean(), series[-4:].mean()
    assert late > 2 * early
    assert np.corrcoef(np.arange(len(series)), series)[0, 1] > 0.5  # a trend, not one jump


def test_lazy_and_malformed_miners_earn_about_nothing(outcomes):
    mean = outcomes["mean_incentive"]
    assert mean["lazy"] < 0.01 * mean["honest"]
    assert mean["malformed"] == 0.0
    assert outcomes["invalid_replies"] > 100  # the bad replies were really received and scored


def test_on_the_digits_classification_task_incentive_ranks_miners_too():
    from tests.scenarios.outcomes import loss_incentive_spearman, observe, scenario

    config = scenario("default", task__kind="digits", task__learning_rate=0.05)
    observed = observe(config, 1000)
    assert observed.world.task.name == "digits"
    assert loss_incentive_spearman(observed) <= -0.8
