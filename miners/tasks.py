"""Tasks miners serve: sample inputs from a keyed stream, know the ground truth, score a loss.

Two tasks:

* ``RegressionTask`` (default, fast): inputs ~ N(0, I) in ``input_dim`` dimensions; the target is
  a fixed random one-hidden-layer tanh "teacher" drawn from the run seed, centred and scaled to
  unit variance, plus a little noise. Loss: mean squared error.
* ``DigitsTask``: the UCI 8x8 handwritten digits (1,797 images in ``miners/data/digits.npz``,
  shipped inside the wheel with its provenance: nothing is downloaded), split once per seed into a
  training pool (miners train on
  it), a query pool (validators ask about it) and a held-out set (``model_loss``). Loss: cross
  entropy of the 10 logits.

Every loss is computed for a stack of models at once: ``losses(predictions, targets)`` takes
``(k, batch, outputs)`` predictions and returns ``(k,)``. ``baseline_loss`` is what a
know-nothing answer scores on the held-out set (predicting the mean / a uniform distribution);
``batch_baseline(targets)`` is the same for one query's batch, which validators turn a loss into
a reward against.
"""

from __future__ import annotations

import functools
import importlib.resources
import math
from typing import Protocol

import numpy as np
import torch

from subnetsim.subnet.rng import numpy_stream
from subnetsim.subnet.scenario import TaskConfig

__all__ = ["DigitsTask", "RegressionTask", "Task", "make_task"]

DIGITS_FILE = "digits.npz"  # provenance in miners/data/PROVENANCE.md

Batch = tuple[torch.Tensor, torch.Tensor]  # inputs (batch, input_dim), targets


class Task(Protocol):
    """What miners, validators and the world need to know about a task."""

    name: str
    input_dim: int
    output_dim: int
    baseline_loss: float
    loss_flags_non_finite: bool  # a prediction with a NaN or inf entry has a non-finite loss

    def sample(self, rng: np.random.Generator, count: int, pool: str = "train") -> Batch:
        """``count`` examples drawn with ``rng`` from ``pool`` (``train`` or ``query``)."""
        ...

    def held_out(self) -> Batch:
        """The fixed held-out set (the true ``model_loss`` is measured on it)."""
        ...

    def losses(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """(k,) loss of each of k stacked predictions ``(k, batch, output_dim)``."""
        ...

    def batch_baseline(self, targets: torch.Tensor) -> float:
        """The loss of the best know-nothing answer on this very batch."""
        ...


class RegressionTask:
    """Fit a fixed random tanh teacher (see the module docstring)."""

    name = "regression"
    output_dim = 1
    loss_flags_non_finite = True  # squared error: a NaN or infinite entry makes it NaN or inf

    def __init__(self, config: TaskConfig, seed: int) -> None:
        self.input_dim = config.input_dim
        self.noise = config.target_noise
        rng = numpy_stream(seed, "task.teacher")
        width = config.teacher_width
        self._hidden = rng.normal(0.0, 1.0 / math.sqrt(self.input_dim), (self.input_dim, width))
        self._bias = rng.normal(0.0, 0.5, width)
        self._out = rng.normal(0.0, 1.0, width)
        probe = self._teacher(numpy_stream(seed, "task.scale").normal(size=(4096, self.input_dim)))
        self._shift, self._scale = float(np.mean(probe)), 1.0 / float(np.std(probe))
        self._held_out = self._batch(numpy_stream(seed, "task.held_out"), config.held_out)
        targets = self._held_out[1]
        self.baseline_loss = float(((targets - targets.mean()) ** 2).mean())

    def _teacher(self, inputs: np.ndarray) -> np.ndarray:
        return np.tanh(inputs @ self._hidden + self._bias) @ self._out

    def _batch(self, rng: np.random.Generator, count: int) -> Batch:
        inputs = rng.normal(size=(count, self.input_dim))
        signal = (self._teacher(inputs) - self._shift) * self._scale
        targets = signal + rng.normal(0.0, self.noise, count)
        return (torch.from_numpy(inputs.astype(np.float32)),
                torch.from_numpy(targets.astype(np.float32)[:, None]))

    def sample(self, rng: np.random.Generator, count: int, pool: str = "train") -> Batch:
        """Fresh examples: both pools come from the same distribution."""
        return self._batch(rng, count)

    def held_out(self) -> Batch:
        """The fixed held-out set."""
        return self._held_out

    def losses(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean squared error per stacked model."""
        return ((predictions - targets) ** 2).mean(dim=(-2, -1))

    def batch_baseline(self, targets: torch.Tensor) -> float:
        """The batch's variance: the loss of predicting its own mean (no constant does better,
        so a constant answer never scores above it, however lucky the batch)."""
        return float(((targets - targets.mean(dim=0)) ** 2).mean())


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """The digits data (read once per process; it is immutable)."""
    source = importlib.resources.files("subnetsim.miners") / "data" / DIGITS_FILE
    with source.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
        images, labels = data["images"], data["labels"]
    inputs = (images / 16.0).astype(np.float32)
    inputs.flags.writeable = False
    targets = labels.astype(np.int64)
    targets.flags.writeable = False
    return inputs, targets


class DigitsTask:
    """Classify 8x8 digits (see the module docstring)."""

    name = "digits"
    input_dim = 64
    output_dim = 10
    loss_flags_non_finite = False  # cross entropy: a -inf logit of a wrong class costs nothing
    POOLS = (("train", 1200), ("query", 297))  # the rest (300) is held out

    def __init__(self, config: TaskConfig, seed: int) -> None:
        inputs, targets = _digits()
        order = numpy_stream(seed, "task.split").permutation(len(targets))
        self._pools: dict[str, np.ndarray] = {}
        start = 0
        for name, size in self.POOLS:
            self._pools[name] = order[start:start + size]
            start += size
        self._inputs = torch.from_numpy(inputs.copy())
        self._targets = torch.from_numpy(targets.copy())
        held = torch.from_numpy(order[start:])
        self._held_out = (self._inputs[held], self._targets[held])
        self.baseline_loss = math.log(self.output_dim)

    def sample(self, rng: np.random.Generator, count: int, pool: str = "train") -> Batch:
        """``count`` examples of ``pool``, drawn with replacement."""
        chosen = self._pools[pool][rng.integers(0, len(self._pools[pool]), count)]
        index = torch.from_numpy(chosen)
        return self._inputs[index], self._targets[index]

    def held_out(self) -> Batch:
        """The 300 held-out images."""
        return self._held_out

    def losses(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross entropy per stacked model (predictions are logits)."""
        log_norm = torch.logsumexp(predictions, dim=-1)  # (k, batch)
        picked = predictions.gather(-1, targets.expand(predictions.shape[0], -1)[..., None])
        return (log_norm - picked[..., 0]).mean(dim=-1)

    def batch_baseline(self, targets: torch.Tensor) -> float:
        """Uniform logits: log(10) whatever the batch."""
        return self.baseline_loss


def make_task(config: TaskConfig, seed: int) -> Task:
    """The task a scenario asks for."""
    if config.kind == "digits":
        return DigitsTask(config, seed)
    return RegressionTask(config, seed)
