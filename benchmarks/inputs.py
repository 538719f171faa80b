"""Random epoch inputs of a realistic shape, shared by the Yuma benchmarks and the kernel tests.

A subnet of ``validators`` staked validators (uids ``0..validators-1``, Pareto stakes as on a
real subnet: a few large, many small) among ``uids`` neurons, where every validator weights a
random half of the uids. The same seed always gives the same inputs.
"""

from __future__ import annotations

import numpy as np

from subnetsim.subnet.yuma import EpochInputs

__all__ = ["random_epoch_inputs"]


def random_epoch_inputs(validators: int, uids: int, seed: int = 0, *,
                        u16_bonds: bool = False) -> EpochInputs:
    """The inputs; ``u16_bonds``: bonds on the chain's u16 grid (what the fixed-point epoch
    reads from storage) instead of arbitrary floats in [0, 1)."""
    rng = np.random.default_rng(seed)
    chosen = rng.random((validators, uids)) < 0.5
    weights = rng.integers(0, 65536, size=(validators, uids)) * chosen
    stake = np.zeros(uids)
    stake[:validators] = rng.pareto(1.5, validators) * 1000 + 1
    bonds = (rng.integers(0, 65536, size=(validators, uids)) / 65535 if u16_bonds
             else rng.random((validators, uids)))
    return EpochInputs(
        stake=stake,
        weights=weights / 65535,
        bonds=bonds,
        validator_uids=np.arange(validators),
        validator_permit=stake > 0,
        last_update=np.full(uids, 1000),
        block_at_registration=np.zeros(uids, dtype=np.int64),
        current_block=1000,
        recent_registration_block=640,
    )
