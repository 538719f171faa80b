"""Pure scoring maths: replies -> losses -> rewards -> EMA scores -> weights.

A reply is checked where it enters (type, size, shape, then finiteness) and anything that
fails scores like a timeout: reward 0, never an exception. The reward of a valid reply is its
improvement over the best know-nothing answer *on the same batch*,
``clip(1 - loss / baseline, 0, 1)``: predicting the batch mean (or a uniform distribution)
earns 0 and a perfect answer 1, and no constant answer can ever earn more than 0, however the
batch falls. Weights are the EMA scores raised to a power, cut to the top k, normalised, with
no uid above ``max_weights_limit`` and at least ``min_allowed_weights`` non-zero entries, as
the chain requires.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch

__all__ = [
    "ScoredTask",
    "cap_shares",
    "duplicate_replies",
    "ema",
    "reply_losses",
    "rewards_from_losses",
    "weights_from_scores",
]

SMALLEST_WEIGHT = 1e-6  # share given to padding uids that only satisfy min_allowed_weights
CAP_MARGIN = 1e-6  # stay this far (relative) under max_weights_limit: the chain compares floats


class ScoredTask(Protocol):
    """The part of a task a validator uses (the world hands it the miners' task object)."""

    output_dim: int

    def sample(self, rng: np.random.Generator, count: int, pool: str = "train") -> Any: ...

    def losses(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor: ...

    def batch_baseline(self, targets: torch.Tensor) -> float: ...


def _loss_flags_non_finite(task: ScoredTask) -> bool:
    """Whether ``task`` says its loss of a prediction with any NaN or infinite entry is itself
    non-finite (``loss_flags_non_finite``, e.g. squared error; not cross entropy, where a
    -inf logit of a wrong class is a finite loss): then no reply needs a finiteness check of
    its own, a non-finite loss says it all."""
    return bool(getattr(task, "loss_flags_non_finite", False))


def well_formed(payload: Any, shape: tuple[int, int], max_bytes: int) -> bool:
    """Whether ``payload`` is a floating tensor of exactly ``shape`` within ``max_bytes``.

    Only metadata is read (type, shape, dtype): an oversized or malicious reply is rejected
    before any of its data is touched.
    """
    return (isinstance(payload, torch.Tensor) and payload.shape == shape
            and payload.is_floating_point()
            and payload.numel() * payload.element_size() <= max_bytes)


def reply_losses(payloads: Sequence[Any], targets: torch.Tensor, task: ScoredTask,
                 max_bytes: int) -> np.ndarray:
    """(k,) loss of each reply; ``inf`` for a missing, malformed or non-finite one."""
    shape = (int(targets.shape[0]), task.output_dim)
    losses = np.full(len(payloads), np.inf)
    plain_fits = shape[0] * shape[1] * 4 <= max_bytes
    valid: list[int] = []
    converted = False
    for index, payload in enumerate(payloads):
        if payload is None:
            continue
        if plain_fits and type(payload) is torch.Tensor and payload.dtype is torch.float32 and (
                payload.shape == shape):  # the common case, checked cheaply
            valid.append(index)
        elif well_formed(payload, shape, max_bytes):
            valid.append(index)
            converted = True
    if not valid:
        return losses
    replies = [payloads[i] for i in valid]
    if converted:
        replies = [reply.to(torch.float32) for reply in replies]
    stacked = torch.stack(replies)  # (v, B, out)
    if _loss_flags_non_finite(task):  # a non-finite (or overflowing) reply's loss is non-finite
        values = task.losses(stacked, targets).numpy()  # rows are reduced independently
        losses[valid] = np.where(np.isfinite(values), values, np.inf)
    elif bool(torch.isfinite(stacked).all()):
        losses[valid] = task.losses(stacked, targets).numpy()
    else:  # score the finite replies (on a NaN-free stack), the others score inf
        finite = torch.isfinite(stacked).flatten(1).all(dim=1).numpy()
        values = task.losses(torch.nan_to_num(stacked), targets).numpy()
        losses[valid] = np.where(finite, values, np.inf)
    return losses


def rewards_from_losses(losses: np.ndarray, baseline: float) -> np.ndarray:
    """Reward in [0, 1] per loss: ``1 - loss / baseline``, clipped; ``inf`` -> 0."""
    if not baseline > 0:  # a batch with nothing to learn says nothing about anyone
        return np.zeros(len(losses))
    if math.isinf(baseline):  # inf / inf: no reward, and no warning about it
        return np.where(np.isfinite(losses), 1.0, 0.0)
    reward = 1.0 - losses / baseline  # inf -> -inf; no warning for a finite baseline
    return np.where(reward > 0.0, np.minimum(reward, 1.0), 0.0)  # NaN and -inf -> 0


def ema(old: np.ndarray, new: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average: ``(1 - alpha) * old + alpha * new``."""
    return (1.0 - alpha) * old + alpha * new


def duplicate_replies(payloads: Sequence[Any], seniority: np.ndarray) -> np.ndarray:
    """(k,) True for replies byte-identical to the reply of a more senior uid in the round.

    ``seniority`` orders the repliers (lower: registered earlier); the most senior of a set of
    identical replies keeps its reward, the copies get none (a sybil or a replaying thief
    cannot out-earn the original by answering the same thing).
    """
    duplicate = np.zeros(len(payloads), dtype=bool)
    seen: set[bytes] = set()
    for index in np.argsort(seniority, kind="stable").tolist():
        payload = payloads[index]
        if not isinstance(payload, torch.Tensor):
            continue
        fingerprint = hashlib.blake2b(payload.detach().contiguous().numpy().tobytes(),
                                      digest_size=16).digest()
        duplicate[index] = fingerprint in seen
        seen.add(fingerprint)
    return duplicate


def cap_shares(shares: np.ndarray, cap: float) -> np.ndarray:
    """Normalised ``shares`` with none above ``cap`` (excess spread pro rata over the others,
    water-filling). If ``cap`` cannot be met (too few entries), the shares come back uniform."""
    shares = shares / shares.sum()
    if cap >= 1.0:
        return shares
    limit = cap * (1.0 - CAP_MARGIN)
    if len(shares) * limit < 1.0:
        return np.full(len(shares), 1.0 / len(shares))
    for _ in range(len(shares)):
        over = shares > limit
        if not over.any():
            break
        excess = float((shares[over] - limit).sum())
        shares[over] = limit
        room = shares < limit
        base = shares[room].sum()
        shares[room] += excess * (shares[room] / base if base > 0 else 1.0 / room.sum())
    return shares


def weights_from_scores(scores: np.ndarray, eligible: np.ndarray, *, top_k: int,
                        exponent: float, max_weight: float,
                        min_weights: int) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Weights for ``set_weights``: uids ascending and their shares (empty: nothing to set).

    Args:
        scores: (n,) non-negative preference per uid.
        eligible: (n,) uids that may receive weight (registered, not the validator itself).
        top_k: keep the k best (0: all with a positive score).
        exponent: shares are ``score ** exponent`` before normalising.
        max_weight: largest share one uid may take (``max_weights_limit``).
        min_weights: fewest non-zero entries (``min_allowed_weights``), padded with tiny shares.
    """
    candidates = np.flatnonzero(eligible)
    values = np.clip(np.nan_to_num(scores[candidates]), 0.0, None) ** exponent
    order = np.lexsort((candidates, -values))  # best first, ties to the lower uid
    chosen = order[:top_k] if top_k else order
    chosen = chosen[values[chosen] > 0]
    if not len(chosen):
        return (), ()
    # Pad with the next-best uids (tiny shares) up to min_allowed_weights, and up to as many
    # uids as it takes for no share to exceed max_weights_limit.
    spread = 1
    if max_weight < 1.0:
        limit = max_weight * (1.0 - CAP_MARGIN)
        spread = math.ceil(1.0 / limit) if limit > 0 else len(candidates)
    needed = min(max(min_weights, spread), len(candidates))
    if len(chosen) < needed:
        chosen = order[:needed]
    shares = values[chosen] / values[chosen].sum()
    shares = np.maximum(shares, SMALLEST_WEIGHT * shares.max())
    shares = cap_shares(shares, max_weight)
    uids = candidates[chosen]
    ascending = np.argsort(uids)
    return (tuple(int(u) for u in uids[ascending]),
            tuple(float(w) for w in shares[ascending]))
