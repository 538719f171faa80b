"""What each miner behaviour does to its answers: pure functions on tensors and streams.

Behaviours (the names scenarios use):

* ``honest``: answers with its model, pre-trained to the scenario's quality.
* ``trainer``: like honest, and keeps training online (SGD on its own data) as blocks pass.
* ``lazy``: no model; constant (zeros: the know-nothing answer) or random answers.
* ``noisy``: its model's answer plus Gaussian noise.
* ``copycat``: no model; relays each query to a victim miner and replays the answer (model
  theft). It needs stake to pass the victim's query policy and is capped by its rate limit.
* ``sybil``: one operator's model registered on several uids (all answer identically).
* ``flaky``: its model, but misses deadlines at random and goes offline in windows.
* ``malformed``: NaN, wrongly shaped, oversized or non-tensor replies.
* ``idle``: serves nothing (the engine tests' placeholder miner).
* ``rogue``: answers with its model like ``honest``, and ignores a serving halt: it keeps
  serving whoever asks (every answer signed, so it can be proven afterwards).
"""

from __future__ import annotations

import numpy as np
import torch

from subnetsim.miners import BEHAVIOURS, HALT_IGNORING_BEHAVIOURS

__all__ = [
    "MINER_BEHAVIOURS",
    "HALT_IGNORING_BEHAVIOURS",
    "MODEL_BEHAVIOURS",
    "lazy_answer",
    "malformed_answer",
    "noisy_answer",
    "offline",
    "pretrain_steps",
]

MINER_BEHAVIOURS = BEHAVIOURS  # listed once, in the package
MODEL_BEHAVIOURS = ("honest", "trainer", "noisy", "sybil", "flaky", "rogue")  # a model answers
FAULTS = ("nan", "shape", "oversized", "junk")
OVERSIZE_FACTOR = 100_000  # an oversized reply claims this many times the expected rows


def pretrain_steps(quality: float, full_steps: int) -> int:
    """SGD steps a miner of ``quality`` in [0, 1] pre-trains: ``(1 + S)^q - 1`` for S full
    steps. Learning curves are steep early and flat late, so a log scale spreads the miners'
    losses evenly over the quality range instead of bunching every q > 0.3 at the plateau."""
    return int(round((1.0 + full_steps) ** quality - 1.0))


def lazy_answer(kind: str, shape: tuple[int, int], rng: np.random.Generator) -> torch.Tensor:
    """A model-free answer: zeros (``constant``) or standard normal draws (``random``)."""
    if kind == "random":
        return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
    return torch.zeros(shape)


def noisy_answer(answer: torch.Tensor, noise: float, rng: np.random.Generator) -> torch.Tensor:
    """``answer`` plus N(0, noise^2) per entry."""
    draw = rng.standard_normal(tuple(answer.shape)).astype(np.float32)
    return answer + noise * torch.from_numpy(draw)


def malformed_answer(fault: str, shape: tuple[int, int], rng: np.random.Generator) -> object:
    """A bad reply of kind ``fault`` (``mixed``: a random kind each time)."""
    if fault == "mixed":
        fault = FAULTS[int(rng.integers(0, len(FAULTS)))]
    rows, columns = shape
    if fault == "nan":
        return torch.full(shape, float("nan"))
    if fault == "shape":
        return torch.zeros(rows + 1, columns + 1)
    if fault == "oversized":
        # A view that claims a huge size without allocating it (validators must check size
        # before touching the data).
        return torch.zeros(1, columns).expand(rows * OVERSIZE_FACTOR, columns)
    return {"answer": "not a tensor"}


def offline(block: int, every: int, length: int, phase: int) -> bool:
    """Whether a flaky miner is inside one of its offline windows at ``block``."""
    return every > 0 and (block + phase) % every < length
