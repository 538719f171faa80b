"""Keyed random streams: one independent generator per (seed, purpose, entity).

A run is a pure function of (scenario, seed). Every entity draws from its own stream, keyed by
the run seed, a purpose string and a uid, so adding a miner does not shift anyone else's draws
and the order in which processes happen to draw does not matter. The key is hashed with
BLAKE2b (not Python's ``hash``, which is salted per process by PYTHONHASHSEED).
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["stream_seed", "numpy_stream", "torch_stream"]


def stream_seed(seed: int, purpose: str, uid: int = 0) -> int:
    """A 128-bit integer derived from the key, stable across processes and platforms.

    Args:
        seed: the run seed.
        purpose: what the stream is for, e.g. ``"validator.sample"``.
        uid: the entity the stream belongs to (0 for world-level streams).
    """
    if seed < 0 or uid < 0:
        raise ValueError(f"seed and uid must be non-negative, got seed={seed} uid={uid}")
    key = f"{seed}\x1f{purpose}\x1f{uid}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=16).digest(), "little")


def numpy_stream(seed: int, purpose: str, uid: int = 0) -> np.random.Generator:
    """A numpy Generator (PCG64) for the key."""
    return np.random.Generator(np.random.PCG64(stream_seed(seed, purpose, uid)))


def torch_stream(seed: int, purpose: str, uid: int = 0):  # -> torch.Generator
    """A CPU torch.Generator for the key (torch is imported lazily: the core does not need it)."""
    import torch

    generator = torch.Generator(device="cpu")
    generator.manual_seed(stream_seed(seed, purpose, uid) % (2**63))
    return generator
