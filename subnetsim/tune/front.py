"""The Pareto front: trials no other trial beats on every objective (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["dominates", "pareto_front"]


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """True when ``a`` is at least as good as ``b`` on every objective and better on one."""
    better = False
    for x, y, direction in zip(a, b, directions, strict=True):
        if direction == "maximize":
            x, y = -x, -y
        if x > y:
            return False
        better = better or x < y
    return better


def pareto_front(values: Sequence[Sequence[float]], directions: Sequence[str]) -> list[int]:
    """Indices of the non-dominated rows of ``values`` (one row per trial), in input order.
    With one objective: every row holding the best value."""
    return [i for i, row in enumerate(values)
            if not any(dominates(other, row, directions)
                       for j, other in enumerate(values) if j != i)]
