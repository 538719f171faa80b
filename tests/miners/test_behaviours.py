"""Behaviour helpers: quality -> steps, bad replies, offline windows."""

from __future__ import annotations

import torch

from subnetsim.miners.behaviours import (
    OVERSIZE_FACTOR,
    lazy_answer,
    malformed_answer,
    noisy_answer,
    offline,
    pretrain_steps,
)
from subnetsim.subnet.rng import numpy_stream


def test_pretrain_steps_span_zero_to_full_and_grow_with_quality():
    steps = [pretrain_steps(q / 10, 512) for q in range(11)]
    assert steps[0] == 0 and steps[-1] == 512
    assert all(a <= b for a, b in zip(steps, steps[1:], strict=False))


def test_each_fault_breaks_a_different_rule():
    rng = numpy_stream(0, "test")
    shape = (4, 2)
    nan = malformed_answer("nan", shape, rng)
    assert nan.shape == shape and torch.isnan(nan).all()
    assert malformed_answer("shape", shape, rng).shape == (5, 3)
    oversized = malformed_answer("oversized", shape, rng)
    assert oversized.shape[0] == 4 * OVERSIZE_FACTOR
    assert not isinstance(malformed_answer("junk", shape, rng), torch.Tensor)
    kinds = {type(malformed_answer("mixed", shape, rng)).__name__ for _ in range(40)}
    assert kinds == {"Tensor", "dict"}


def test_lazy_and_noisy_answers():
    rng = numpy_stream(0, "test")
    assert torch.equal(lazy_answer("constant", (3, 1), rng), torch.zeros(3, 1))
    assert lazy_answer("random", (200, 1), rng).std() > 0.5
    base = torch.zeros(500, 1)
    assert 0.4 < float(noisy_answer(base, 0.5, rng).std()) < 0.6


def test_offline_windows_repeat_with_the_period():
    down = [offline(block, every=10, length=3, phase=2) for block in range(20)]
    assert sum(down) == 6 and down[:10] == down[10:]
    assert not any(offline(block, every=0, length=3, phase=0) for block in range(20))
