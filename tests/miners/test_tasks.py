"""Tasks: keyed sampling, held-out sets, baselines and batched losses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from subnetsim.miners.tasks import DigitsTask, RegressionTask, make_task
from subnetsim.subnet.rng import numpy_stream
from subnetsim.subnet.scenario import TaskConfig


def test_regression_samples_are_a_function_of_the_stream():
    task = RegressionTask(TaskConfig(), seed=1)
    first = task.sample(numpy_stream(1, "t", 3), 8)
    again = task.sample(numpy_stream(1, "t", 3), 8)
    other = task.sample(numpy_stream(1, "t", 4), 8)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])
    assert first[0].shape == (8, 8) and first[1].shape == (8, 1)


def test_regression_teacher_depends_on_the_seed_and_targets_have_unit_scale():
    config = TaskConfig(target_noise=0.0, held_out=4096)
    one, two = RegressionTask(config, seed=1), RegressionTask(config, seed=2)
    inputs = one.held_out()[0]
    assert not np.allclose(one._teacher(inputs.numpy()), two._teacher(inputs.numpy()))
    assert one.held_out()[1].std().item() == pytest.approx(1.0, abs=0.1)


def test_regression_baseline_is_the_loss_of_predicting_the_mean():
    task = RegressionTask(TaskConfig(), seed=5)
    inputs, targets = task.held_out()
    mean_answer = targets.mean().expand(1, *targets.shape)
    assert task.losses(mean_answer, targets).item() == pytest.approx(task.baseline_loss, rel=1e-5)


def test_losses_are_per_stacked_model():
    task = RegressionTask(TaskConfig(), seed=5)
    _, targets = task.held_out()
    predictions = torch.stack([targets, targets + 1.0, targets - 2.0])
    assert task.losses(predictions, targets).tolist() == pytest.approx([0.0, 1.0, 4.0])


def test_digits_pools_are_disjoint_and_the_held_out_set_is_the_rest():
    task = DigitsTask(TaskConfig(kind="digits"), seed=9)
    train, query = set(task._pools["train"].tolist()), set(task._pools["query"].tolist())
    assert not train & query
    assert len(train) + len(query) + len(task.held_out()[1]) == 1797
    inputs, labels = task.sample(numpy_stream(9, "q"), 32, pool="query")
    assert inputs.shape == (32, 64) and labels.dtype == torch.int64
    assert float(inputs.max()) <= 1.0


def test_digits_uniform_logits_score_the_baseline_and_confident_truth_scores_near_zero():
    task = make_task(TaskConfig(kind="digits"), seed=9)
    inputs, labels = task.held_out()
    uniform = torch.zeros(1, len(labels), 10)
    perfect = torch.nn.functional.one_hot(labels, 10).float()[None] * 50.0
    losses = task.losses(torch.cat([uniform, perfect]), labels)
    assert losses[0].item() == pytest.approx(math.log(10)) == pytest.approx(task.baseline_loss)
    assert losses[1].item() < 1e-6


def test_no_constant_answer_beats_the_batch_baseline():
    task = RegressionTask(TaskConfig(), seed=3)
    for draw in range(20):
        _, targets = task.sample(numpy_stream(3, "batch", draw), 16)
        constants = torch.linspace(-2, 2, 41)[:, None, None].expand(41, 16, 1)
        assert task.losses(constants, targets).min() >= task.batch_baseline(targets) - 1e-6


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_loss_flags_non_finite_says_what_each_loss_does_with_a_non_finite_entry(bad):
    """Validators skip their own finiteness check when a task sets ``loss_flags_non_finite``
    (validators.scoring.reply_losses): squared error keeps the promise, cross entropy cannot."""
    regression = RegressionTask(TaskConfig(), seed=1)
    predictions = torch.zeros(3, 4, 1)
    predictions[1, 2, 0] = bad
    losses = regression.losses(predictions, torch.zeros(4, 1))
    assert regression.loss_flags_non_finite
    assert torch.isfinite(losses).tolist() == [True, False, True]
    digits = DigitsTask(TaskConfig(kind="digits"), seed=1)
    logits = torch.zeros(1, 4, 10)
    logits[0, :, 1] = float("-inf")  # a wrong class ruled out: a finite loss
    assert not digits.loss_flags_non_finite
    assert torch.isfinite(digits.losses(logits, torch.zeros(4, dtype=torch.int64))).all()
