"""A minimal stand-in for subtensor's storage, to replay the conformance vectors.

Between epochs the chain keeps only u16 values: weights max-upscaled at ``set_weights`` (rounded
to nearest), bonds floored after every epoch (classic: column-max-upscaled first), permits as
booleans. Replaying the tests through this storage, rather than keeping float64 state between
epochs, is what makes multi-epoch vectors comparable to the chain's numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from subnetsim.subnet.yuma import EpochInputs, EpochOutputs, YumaParams, epoch
from subnetsim.subnet.yuma_exact import ExactOutputs, epoch_exact

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
U16 = 65535


def load_vectors() -> dict[str, dict]:
    """The Yuma conformance vectors by id."""
    data = json.loads((GOLDEN / "yuma_subtensor.json").read_text())
    return {vector["id"]: vector for vector in data["vectors"]}


def max_upscale_u16(values: list[int]) -> list[int]:
    """subtensor ``vec_u16_max_upscale_to_u16``: scale so the largest becomes 65535, rounding."""
    peak = max(values)
    if peak == 0:
        return list(values)
    return [int((value * U16 + peak // 2) // peak) for value in values]


def params_from_vector(inputs: dict) -> YumaParams:
    """Epoch parameters from a vector's chain-unit inputs."""
    return YumaParams(
        kappa=inputs.get("kappa_u16", 32767) / U16,
        bonds_penalty=inputs.get("bonds_penalty_u16", U16) / U16,
        bonds_moving_avg=inputs.get("bonds_moving_average", 900_000) / 1e6,
        yuma3_enabled=inputs.get("yuma3", False),
        liquid_alpha_enabled=inputs.get("liquid_alpha", False),
        alpha_low=inputs.get("alpha_low_u16", 45875) / U16,
        alpha_high=inputs.get("alpha_high_u16", 58982) / U16,
        alpha_sigmoid_steepness=inputs.get("alpha_sigmoid_steepness", 1000),
        max_allowed_validators=inputs.get("max_allowed_validators", 128),
        activity_cutoff=inputs.get("activity_cutoff", 5000),
    )


@dataclass
class ReplayChain:
    """Chain storage for one subnet whose every uid may hold a weight row."""

    stake: list[float]
    params: YumaParams
    tempo: int = 360
    weights: np.ndarray = field(init=False)  # (n, n) u16
    weight_set: np.ndarray = field(init=False)  # (n, n) bool
    bonds: np.ndarray = field(init=False)  # (n, n) u16
    permit: np.ndarray = field(init=False)
    last_update: np.ndarray = field(init=False)
    registered: np.ndarray = field(init=False)
    pending_reset: list[int] = field(default_factory=list)
    backend: str = "compiled"  # yuma.BACKENDS: the vectors run through both

    def __post_init__(self) -> None:
        n = len(self.stake)
        self.weights = np.zeros((n, n), dtype=np.int64)
        self.weight_set = np.zeros((n, n), dtype=bool)
        self.bonds = np.zeros((n, n), dtype=np.int64)
        self.permit = np.zeros(n, dtype=bool)
        self.last_update = np.zeros(n, dtype=np.int64)
        self.registered = np.zeros(n, dtype=np.int64)

    def set_weights(self, uid: int, entries: list[tuple[int, int]], block: int) -> None:
        """Store a sparse row as ``set_weights`` does (max-upscaled), explicit zeros included."""
        uids = [target for target, _ in entries]
        values = max_upscale_u16([value for _, value in entries])
        self.weights[uid] = 0
        self.weight_set[uid] = False
        self.weights[uid, uids] = values
        self.weight_set[uid, uids] = True
        self.last_update[uid] = block

    def run_epoch(self, block: int) -> EpochOutputs:
        """Run the epoch at ``block`` and write its results back as the chain stores them."""
        inputs = self.epoch_inputs(block)
        self.pending_reset = []
        outputs = epoch(inputs, self.params, backend=self.backend)
        # Classic bonds come back column-max-upscaled, Yuma3 bonds absolute: both floor to u16.
        self.bonds = to_u16(outputs.bonds)
        self.permit = outputs.validator_permit.copy()
        return outputs

    def run_exact_epoch(self, block: int) -> ExactOutputs:
        """The epoch at ``block`` in fixed point (``arithmetic = "exact"``), stored as is."""
        inputs = self.epoch_inputs(block)
        self.pending_reset = []
        exact = epoch_exact(inputs, self.params)
        self.bonds = exact.bonds_u16.copy()
        self.permit = exact.outputs.validator_permit.copy()
        return exact

    def epoch_inputs(self, block: int) -> EpochInputs:
        """What the chain gathers from this storage for the epoch at ``block``."""
        return EpochInputs(
            stake=self.stake,
            weights=self.weights / U16,
            weight_set=self.weight_set,
            bonds=self.bonds / U16,
            validator_uids=np.arange(len(self.stake)),
            validator_permit=self.permit,
            last_update=self.last_update,
            block_at_registration=self.registered,
            current_block=block,
            recent_registration_block=max(block - self.tempo, 0),
            reset_bond_uids=tuple(self.pending_reset),
        )


def to_u16(values: np.ndarray) -> np.ndarray:
    """Chain storage of a proportion: floor(x * 65535)."""
    return np.floor(np.asarray(values) * U16).astype(np.int64)
