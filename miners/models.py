"""Miner models: many small MLPs of one architecture, stored stacked for batched maths.

A ``ModelBank`` holds the parameters of ``count`` MLPs (``depth`` hidden ReLU layers of width
``hidden``) as tensors with a leading model axis: layer ``l``'s weights are ``(count, in, out)``.
All of a model's parameters sit in one row of a packed ``(count, P)`` tensor (the per-layer
tensors are views into it, each segment 64-byte aligned as a tensor of its own would be), so
answering a query for k miners gathers their k rows with one ``index_select`` and runs one
``torch.baddbmm`` per layer on views of that gather: a validator's round costs a handful of
tensor calls whatever k is (on a small model each call's fixed cost is most of its time).
Training is batched the same way: the summed loss of k models has independent gradients per
model, and SGD with momentum updates each model with its own velocity (the optimiser state,
kept in the bank).

Shapes: ``k`` models in a call, ``B`` examples, ``in``/``out`` layer widths.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

__all__ = ["Architecture", "ModelBank", "stacked_forward"]

DataFn = Callable[[int, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""``(step, positions of the models still training) -> (inputs, targets)``."""
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (k,B,out), targets -> (k,)
ALIGN = 16  # float32 elements per 64 bytes: where each parameter segment of a packed row starts
SCRATCH_ELEMENTS = 1 << 19  # largest buffer a forward keeps, float32 elements (2 MiB)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Architecture:
    """The shape of every miner MLP in a run."""

    input_dim: int
    hidden: int
    depth: int
    output_dim: int

    def layer_shapes(self) -> list[tuple[int, int]]:
        """(in, out) of each linear layer."""
        widths = [self.input_dim] + [self.hidden] * self.depth + [self.output_dim]
        return list(zip(widths[:-1], widths[1:], strict=True))


def stacked_forward(weights: list[torch.Tensor], biases: list[torch.Tensor],
                    inputs: torch.Tensor,
                    scratch: list[torch.Tensor | None] | None = None) -> torch.Tensor:
    """Run k stacked MLPs: weights ``(k, in, out)``, biases ``(k, 1, out)``; inputs ``(B, in)``
    (the same batch for all) or ``(k, B, in)``. Returns ``(k, B, out)``. ``scratch`` (inference
    only: autograd keeps the hidden layers otherwise): a ``(k, B, width)`` tensor (or None) per
    hidden layer that its output overwrites, ReLU in place; the result is always fresh."""
    hidden = inputs if inputs.dim() == 3 else inputs.expand(weights[0].shape[0], -1, -1)
    last = len(weights) - 1
    for index, (weight, bias) in enumerate(zip(weights, biases, strict=True)):
        if index == last:
            hidden = torch.baddbmm(bias, hidden, weight)
        elif scratch is not None:
            hidden = torch.baddbmm(bias, hidden, weight, out=scratch[index]).relu_()
        else:
            hidden = torch.relu(torch.baddbmm(bias, hidden, weight))
    return hidden


class ModelBank:
    """Parameters and SGD velocities of ``count`` MLPs, stacked (see the module docstring)."""

    def __init__(self, architecture: Architecture, count: int) -> None:
        self.architecture = architecture
        self.count = count
        shapes = architecture.layer_shapes()
        # (offset in a packed row, view shape) of each weight, then of each bias
        self._segments: list[tuple[int, tuple[int, int]]] = []
        width = 0
        for shape in shapes + [(1, fan_out) for _, fan_out in shapes]:
            self._segments.append((width, shape))
            width += -(-shape[0] * shape[1] // ALIGN) * ALIGN
        self.width = width
        self.packed = torch.zeros(count, width)
        self.weights, self.biases = self._views(self.packed)
        self.velocity = [torch.zeros_like(p) for p in self.weights + self.biases]
        self._buffers: dict[object, torch.Tensor] = {}  # forward's scratch (see _scratch)

    def _views(self, packed: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Per-layer weights ``(k, in, out)`` and biases ``(k, 1, out)`` viewing ``packed``
        ``(k, P)`` (no copy)."""
        rows = packed.shape[0]
        start = packed.storage_offset()
        views = [torch.as_strided(packed, (rows, *shape), (self.width, shape[1], 1), start + at)
                 for at, shape in self._segments]
        depth = len(views) // 2
        return views[:depth], views[depth:]

    def initialise(self, row: int, rng: np.random.Generator) -> None:
        """Fresh parameters for model ``row`` drawn from ``rng`` (PyTorch's Linear default:
        uniform in +-1/sqrt(fan_in)); its velocity is reset."""
        for weight, bias in zip(self.weights, self.biases, strict=True):
            fan_in, fan_out = weight.shape[1:]
            bound = 1.0 / math.sqrt(fan_in)
            for tensor, shape in ((weight, (fan_in, fan_out)), (bias, (1, fan_out))):
                tensor[row] = torch.from_numpy(rng.uniform(-bound, bound, shape).astype(np.float32))
        for velocity in self.velocity:
            velocity[row] = 0.0

    def copy_model(self, source: int, target: int) -> None:
        """Make model ``target`` an exact copy of model ``source``."""
        for tensor in self.weights + self.biases + self.velocity:
            tensor[target] = tensor[source]

    @torch.inference_mode()
    def forward(self, rows: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """Answers of models ``rows`` (k,) to ``inputs`` (B, in): ``(k, B, out)``. The gathered
        parameters and the hidden layers of a small forward (a query's) go into buffers kept
        from one call to the next: still in cache, no allocation."""
        k, batch = len(rows), inputs.shape[0]
        gathered = torch.index_select(self.packed, 0, rows,
                                      out=self._scratch("gather", (k, self.width)))
        scratch = [self._scratch(index, (k, batch, weight.shape[2]))
                   for index, weight in enumerate(self.weights[:-1])]
        return stacked_forward(*self._views(gathered), inputs, scratch)

    def _scratch(self, name: object, shape: tuple[int, ...]) -> torch.Tensor | None:
        """The first ``shape[0]`` rows of buffer ``name`` (None: too large to keep)."""
        if self.count * math.prod(shape[1:]) > SCRATCH_ELEMENTS or shape[0] > self.count:
            return None
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape[1:] != shape[1:]:
            buffer = self._buffers[name] = torch.empty(self.count, *shape[1:])
        return buffer[:shape[0]]

    def train(self, rows: torch.Tensor, steps: torch.Tensor, data: DataFn, loss: LossFn,
              learning_rate: float, momentum: float) -> None:
        """SGD with momentum on models ``rows`` (k,), model i for ``steps[i]`` steps.

        ``data(step, active)`` gives the step's inputs, ``(B, in)`` shared by all or
        ``(active, B, in)`` one batch per model still training, and matching targets. Models are
        ordered by their step count, longest first, so the ones still training at any step are
        a prefix and finished models cost nothing.
        """
        if len(rows) == 0 or int(steps.max()) <= 0:
            return
        order = torch.argsort(steps, descending=True, stable=True)
        rows, steps = rows[order], steps[order]
        params = [p[rows] for p in self.weights + self.biases]
        velocity = [v[rows] for v in self.velocity]
        depth = len(self.weights)
        for step in range(int(steps[0])):
            active = int((steps > step).sum())
            inputs, targets = data(step, order[:active])
            live = [p[:active].detach().requires_grad_(True) for p in params]
            total = loss(stacked_forward(live[:depth], live[depth:], inputs), targets).sum()
            grads = torch.autograd.grad(total, live)
            with torch.no_grad():
                for param, speed, grad in zip(params, velocity, grads, strict=True):
                    speed[:active].mul_(momentum).add_(grad)
                    param[:active].sub_(learning_rate * speed[:active])
        with torch.no_grad():
            for target, value in zip(self.weights + self.biases, params, strict=True):
                target[rows] = value
            for target, value in zip(self.velocity, velocity, strict=True):
                target[rows] = value

    def state(self) -> dict[str, Any]:
        """Copies of every tensor (for checkpoints; each a contiguous tensor of its own)."""
        return {"weights": [w.clone() for w in self.weights],
                "biases": [b.clone() for b in self.biases],
                "velocity": [v.clone() for v in self.velocity]}

    def restore(self, state: dict[str, Any]) -> None:
        """Inverse of ``state``."""
        with torch.no_grad():
            for view, value in zip(self.weights + self.biases,
                                   state["weights"] + state["biases"], strict=True):
                view.copy_(value)
        self.velocity = [v.clone() for v in state["velocity"]]
