"""The model bank: stacked inference equals per-model inference; batched SGD trains each model
on its own gradients; state round-trips."""

from __future__ import annotations

import numpy as np
import torch

from subnetsim.miners.models import Architecture, ModelBank
from subnetsim.subnet.rng import numpy_stream

ARCH = Architecture(input_dim=5, hidden=7, depth=2, output_dim=3)


def _bank(count: int = 4) -> ModelBank:
    bank = ModelBank(ARCH, count)
    for row in range(count):
        bank.initialise(row, numpy_stream(0, "test.init", row))
    return bank


def _one_model(bank: ModelBank, row: int, inputs: torch.Tensor) -> torch.Tensor:
    """The obvious reference: one MLP at a time with plain matrix products."""
    hidden = inputs
    for index, (weight, bias) in enumerate(zip(bank.weights, bank.biases, strict=True)):
        hidden = hidden @ weight[row] + bias[row][0]
        if index < len(bank.weights) - 1:
            hidden = torch.clamp(hidden, min=0.0)
    return hidden


def test_stacked_forward_matches_one_model_at_a_time():
    bank = _bank()
    inputs = torch.randn(6, 5, generator=torch.Generator().manual_seed(1))
    rows = torch.tensor([3, 0, 2])
    stacked = bank.forward(rows, inputs)
    assert stacked.shape == (3, 6, 3)
    for position, row in enumerate(rows.tolist()):
        torch.testing.assert_close(stacked[position], _one_model(bank, row, inputs))


def test_answers_survive_later_forwards_through_the_reused_buffers():
    """A query's hidden layers reuse the bank's buffers; the answers it handed out must not:
    validators score them after other queries were answered."""
    bank = _bank()
    generator = torch.Generator().manual_seed(5)
    first_inputs, second_inputs = torch.randn(6, 5, generator=generator), torch.randn(6, 5)
    first = bank.forward(torch.tensor([0, 2]), first_inputs)
    kept = first.clone()
    second = bank.forward(torch.tensor([1, 3, 2]), second_inputs)
    assert torch.equal(first, kept)
    torch.testing.assert_close(second[2], _one_model(bank, 2, second_inputs))
    assert torch.equal(first[1], bank.forward(torch.tensor([2]), first_inputs)[0])


def test_initialisation_is_keyed_and_bounded():
    one, two = _bank(), _bank()
    assert all(torch.equal(a, b) for a, b in zip(one.weights, two.weights, strict=True))
    assert not torch.equal(one.weights[0][0], one.weights[0][1])
    assert float(one.weights[0].abs().max()) <= 1 / np.sqrt(5)


def _mse(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return ((predictions - targets) ** 2).mean(dim=(-2, -1))


def test_training_lowers_loss_and_leaves_untrained_rows_alone():
    bank = _bank()
    generator = torch.Generator().manual_seed(2)
    inputs = torch.randn(64, 5, generator=generator)
    targets = torch.randn(64, 3, generator=generator) * 0.1 + inputs[:, :3]
    before = _mse(bank.forward(torch.arange(4), inputs), targets)
    frozen = [w[1].clone() for w in bank.weights]
    bank.train(torch.tensor([0, 1, 2]), torch.tensor([50, 0, 10]),
               lambda step, active: (inputs, targets), _mse, learning_rate=0.05, momentum=0.9)
    after = _mse(bank.forward(torch.arange(4), inputs), targets)
    assert after[0] < before[0] * 0.5 and after[2] < before[2]
    assert after[0] < after[2]  # more steps, lower loss
    assert all(torch.equal(w[1], f) for w, f in zip(bank.weights, frozen, strict=True))
    assert torch.equal(after[3], before[3])  # not asked to train


def test_models_trained_together_equal_models_trained_alone():
    together, alone = _bank(), _bank()
    generator = torch.Generator().manual_seed(3)
    inputs = torch.randn(2, 16, 5, generator=generator)
    targets = torch.randn(2, 16, 3, generator=generator)
    together.train(torch.tensor([0, 2]), torch.tensor([5, 5]),
                   lambda step, active: (inputs[active], targets[active]), _mse, 0.05, 0.9)
    alone.train(torch.tensor([2]), torch.tensor([5]),
                lambda step, active: (inputs[1:], targets[1:]), _mse, 0.05, 0.9)
    torch.testing.assert_close(together.weights[0][2], alone.weights[0][2])


def test_state_round_trips_parameters_and_velocities():
    bank = _bank()
    inputs = torch.randn(8, 5, generator=torch.Generator().manual_seed(4))
    bank.train(torch.tensor([1]), torch.tensor([3]), lambda s, a: (inputs, inputs[:, :3]),
               _mse, 0.1, 0.9)
    copy = _bank()
    copy.restore(bank.state())
    for mine, theirs in zip(bank.weights + bank.velocity, copy.weights + copy.velocity,
                            strict=True):
        assert torch.equal(mine, theirs)
    assert copy.velocity[0][1].abs().sum() > 0  # momentum is part of the optimiser state
