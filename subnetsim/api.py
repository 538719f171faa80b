"""The public functions of ``import subnetsim`` besides ``Simulation``.

``load_scenario`` reads a scenario by path or shipped name; ``epoch`` runs one Yuma Consensus
epoch on your own weights and stake with subtensor's defaults for everything not given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from subnetsim.catalog import resolve
from subnetsim.subnet import scenario as scenario_files
from subnetsim.subnet.config import Hyperparameters, replace_dotted
from subnetsim.subnet.consensus import top_k_nonzero
from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.scenario import Scenario
from subnetsim.subnet.yuma import EpochInputs, EpochOutputs, YumaParams
from subnetsim.subnet.yuma import epoch as yuma_epoch

__all__ = ["epoch", "load_scenario"]


def load_scenario(reference: str | Path = "default") -> Scenario:
    """A scenario from a TOML file path, or a shipped scenario by name (``default``,
    ``large``, ``weight_copying``, ``drills/cabal``, ...). ConfigError on a bad file."""
    return scenario_files.load_scenario(resolve(reference))


def epoch(weights: Any, stake: Any, *, bonds: Any = None, validator_uids: Any = None,
          validator_permit: Any = None, **hyperparameters: Any) -> EpochOutputs:
    """One epoch of Yuma Consensus on your own weight matrix and stake.

    Args:
        weights: (v, n) rows set by validators ``0..v-1`` (or by ``validator_uids``), or the
            full (n, n) matrix; any non-negative scale (each row is normalised).
        stake: (n,) TAO per uid.
        bonds: (v, n) bonds carried from a previous epoch (default: none).
        validator_uids: the uid of each weight row (default: ``0..v-1``).
        validator_permit: (n,) permits from the previous epoch (default: the
            ``max_allowed_validators`` largest stakes, as the chain grants them).
        **hyperparameters: subtensor names in natural units (``kappa=0.5``,
            ``bonds_moving_avg=0.9``, ``yuma3_enabled=True``, ...); the rest are subtensor's
            defaults.

    Every uid counts as active and registered long ago; the result's vectors are (n,).
    """
    hyper = Hyperparameters()
    for name, value in hyperparameters.items():
        hyper = replace_dotted(hyper, name, value)
    stake = np.asarray(stake, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if stake.ndim != 1 or weights.ndim != 2 or weights.shape[1] != stake.shape[0]:
        raise ConfigError("weights", weights.shape,
                          f"expected (v, {stake.shape[0]}) rows for {stake.shape[0]} stakes")
    n, rows = stake.shape[0], weights.shape[0]
    uids = np.arange(rows) if validator_uids is None else np.asarray(validator_uids)
    if validator_permit is None:
        validator_permit = top_k_nonzero(stake[None, :],
                                         np.array([hyper.max_allowed_validators]))[0]
    current_block = hyper.activity_cutoff + 1
    inputs = EpochInputs(
        stake=stake, weights=weights,
        bonds=np.zeros((rows, n)) if bonds is None else bonds,
        validator_uids=uids, validator_permit=validator_permit,
        last_update=np.full(n, current_block), block_at_registration=np.zeros(n, np.int64),
        current_block=current_block, recent_registration_block=1,  # nobody is new
    )
    return yuma_epoch(inputs, YumaParams.from_hyperparameters(hyper))
