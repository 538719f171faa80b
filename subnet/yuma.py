"""One epoch of Yuma Consensus, as subtensor's sparse production path computes it.

A pure function on numpy float64 arrays, vectorised over the whole matrix, with a batched form
that evaluates K epochs (K parameter settings, or K weight/stake histories) in one call. The
steps and their order follow ``pallets/subtensor/src/epoch/run_epoch.rs : epoch_mechanism``
(reference: ``docs/yuma.md`` sections 2.1-2.11).

Weights and bonds are *row-sparse*: only the ``v`` uids that hold weight rows (validators) carry
a row, listed in ``validator_uids``. Every other uid's row is empty, as on chain.

Symbols (locals only):
    S   (K, n)    stake, normalised (thresholded)
    A   (K, n)    active stake: S masked by activity and previous permits, normalised
    W   (K, v, n) weights after masks, row-normalised
    C   (K, n)    consensus (stake-weighted median per uid)
    Wc  (K, v, n) weights clipped at consensus
    Wb  (K, v, n) weights used for bonds: W + beta (Wc - W)
    I   (K, n)    incentive (normalised ranks)
    B   (K, v, n) bonds after the update
    D   (K, n)    dividends
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from subnetsim.subnet import yuma_kernel
from subnetsim.subnet.config import Hyperparameters
from subnetsim.subnet.consensus import (
    column_max_upscale,
    normalize_columns,
    normalize_last,
    top_k_nonzero,
    weighted_median_columns,
)

__all__ = [
    "BACKENDS", "EpochInputs", "EpochOutputs", "YumaParams", "epoch", "epoch_batch", "NO_COMMIT",
]

NO_COMMIT = -1  # commit_block value of a validator with no unexpired weight commit
BACKENDS = ("compiled", "numpy")
_DEFAULTS = Hyperparameters()  # subtensor's defaults, defined once in subnet/config.py
# The kernel's packed parameter columns, read from a YumaParams in one call each.
_FLOAT_PARAMS = operator.attrgetter(*yuma_kernel.FLOAT_PARAMS)
_INT_PARAMS = operator.attrgetter(*yuma_kernel.INT_PARAMS)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class YumaParams:
    """The hyperparameters one epoch reads (natural units, subtensor names, same defaults)."""

    kappa: float = _DEFAULTS.kappa
    bonds_penalty: float = _DEFAULTS.bonds_penalty
    bonds_moving_avg: float = _DEFAULTS.bonds_moving_avg
    yuma3_enabled: bool = _DEFAULTS.yuma3_enabled
    liquid_alpha_enabled: bool = _DEFAULTS.liquid_alpha_enabled
    alpha_low: float = _DEFAULTS.alpha_low
    alpha_high: float = _DEFAULTS.alpha_high
    alpha_sigmoid_steepness: float = _DEFAULTS.alpha_sigmoid_steepness
    max_allowed_validators: int = _DEFAULTS.max_allowed_validators
    activity_cutoff: int = _DEFAULTS.activity_cutoff
    commit_reveal_weights_enabled: bool = _DEFAULTS.commit_reveal_weights_enabled
    stake_threshold: float = _DEFAULTS.stake_threshold

    @classmethod
    def from_hyperparameters(cls, hyper: Hyperparameters) -> YumaParams:
        """The epoch's slice of the subnet hyperparameters."""
        names = [field.name for field in dataclasses.fields(cls)]
        return cls(**{name: getattr(hyper, name) for name in names})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EpochInputs:
    """What the chain gathers for one epoch. Arrays are copied read-only on construction.

    Attributes:
        stake: (n,) TAO per uid.
        weights: (v, n) weight rows of ``validator_uids`` (u16 proportions or any scale).
        bonds: (v, n) stored bonds of those rows (classic: any column scale; Yuma3: in [0, 1]).
        validator_uids: (v,) uid of each row, ascending and unique.
        validator_permit: (n,) permits from the previous epoch.
        last_update: (n,) block at which each uid last set weights.
        block_at_registration: (n,) block at which each uid was (re)registered.
        current_block: the epoch's block.
        recent_registration_block: uids registered at or after this block are new since the last
            epoch; their bond columns restart from zero (subtensor ``last_tempo``).
        weight_set: (v, n) entries present in the sparse rows (default ``weights > 0``). Yuma3 with
            liquid alpha erases the bond of an omitted entry but decays that of an explicit 0.
        commit_block: (v,) earliest unexpired weight-commit block per row, or NO_COMMIT.
        owner_uid: the subnet owner's uid (always permitted; its self-weight counts), or None.
        reset_bond_uids: uids whose incoming bonds are reset before this epoch.
    """

    stake: np.ndarray
    weights: np.ndarray
    bonds: np.ndarray
    validator_uids: np.ndarray
    validator_permit: np.ndarray
    last_update: np.ndarray
    block_at_registration: np.ndarray
    current_block: int
    recent_registration_block: int
    weight_set: np.ndarray | None = None
    commit_block: np.ndarray | None = None
    owner_uid: int | None = None
    reset_bond_uids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.stake)
        rows = len(self.validator_uids)
        weight_set = np.asarray(self.weights) > 0 if self.weight_set is None else self.weight_set
        commit = np.full(rows, NO_COMMIT) if self.commit_block is None else self.commit_block
        arrays = {
            "stake": (self.stake, np.float64, (n,)),
            "weights": (self.weights, np.float64, (rows, n)),
            "bonds": (self.bonds, np.float64, (rows, n)),
            "validator_uids": (self.validator_uids, np.int64, (rows,)),
            "validator_permit": (self.validator_permit, bool, (n,)),
            "last_update": (self.last_update, np.int64, (n,)),
            "block_at_registration": (self.block_at_registration, np.int64, (n,)),
            "weight_set": (weight_set, bool, (rows, n)),
            "commit_block": (commit, np.int64, (rows,)),
        }
        for name, (value, dtype, shape) in arrays.items():
            array = np.array(value, dtype=dtype, copy=True)
            if array.shape != shape:
                raise ValueError(f"EpochInputs.{name}: shape {array.shape}, expected {shape}")
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        uids = self.validator_uids
        if rows and (np.any(np.diff(uids) <= 0) or uids[0] < 0 or uids[-1] >= n):
            raise ValueError("EpochInputs.validator_uids must be ascending unique uids below n")

    @property
    def n(self) -> int:
        """Number of uids."""
        return len(self.stake)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class EpochOutputs:
    """Result of an epoch. Vectors are ``(n,)`` (``(K, n)`` from ``epoch_batch``).

    ``bonds`` is ``(v, n)`` in the chain's storage convention: classic bonds column-max-upscaled
    to 1, Yuma3 bonds absolute; rows of uids without a new permit are empty (zero).
    ``emission`` is the combined normalised emission share (sums to 1); ``server_emission`` and
    ``validator_emission`` are the miner and validator parts of it (I/s and D/s).
    """

    incentive: np.ndarray
    dividends: np.ndarray
    consensus: np.ndarray
    validator_trust: np.ndarray
    bonds: np.ndarray
    emission: np.ndarray
    server_emission: np.ndarray
    validator_emission: np.ndarray
    validator_permit: np.ndarray
    active: np.ndarray
    active_stake: np.ndarray

    def select(self, index: int) -> EpochOutputs:
        """The ``index``-th epoch of a batched result."""
        fields = dataclasses.fields(self)
        return EpochOutputs(**{f.name: getattr(self, f.name)[index] for f in fields})


def active_mask(last_update: np.ndarray, activity_cutoff: Any,
                current_block: Any) -> np.ndarray:
    """2.1: a uid is active when it set weights within ``activity_cutoff`` blocks."""
    return last_update + activity_cutoff >= current_block


def epoch(inputs: EpochInputs, params: YumaParams, backend: str = "compiled") -> EpochOutputs:
    """Run one epoch of Yuma Consensus (``backend`` as in ``epoch_batch``)."""
    if backend == "compiled":  # the chain's path: no batch checks or views to build
        fparams, iparams = _packed_params(params)
        return yuma_kernel.run_epoch(inputs, fparams, iparams, EpochOutputs)
    return epoch_batch(inputs, [params], backend=backend).select(0)


def epoch_batch(
    inputs: EpochInputs | Sequence[EpochInputs],
    params: YumaParams | Sequence[YumaParams],
    backend: str = "compiled",
) -> EpochOutputs:
    """Evaluate K epochs in one call.

    Either argument may be a single value, broadcast against the other's length K. All inputs
    must share ``n`` and ``validator_uids``. Returns outputs with a leading axis K.

    ``backend``: ``"compiled"`` (default) runs the numba kernel of ``subnet/yuma_kernel.py``;
    ``"numpy"`` runs the vectorised reference below. Both give the same bits (see that module).
    """
    if backend not in BACKENDS:
        raise ValueError(f"epoch_batch: backend must be one of {BACKENDS}, not {backend!r}")
    inputs_list = [inputs] if isinstance(inputs, EpochInputs) else list(inputs)
    params_list = [params] if isinstance(params, YumaParams) else list(params)
    batch = max(len(inputs_list), len(params_list))
    if {len(inputs_list), len(params_list)} - {1, batch} or not inputs_list or not params_list:
        raise ValueError("epoch_batch: inputs and params must have length 1 or a common K")
    rows = inputs_list[0].validator_uids
    if any(not np.array_equal(x.validator_uids, rows) for x in inputs_list[1:]):
        raise ValueError("epoch_batch: all inputs must share validator_uids")
    if backend == "compiled":
        return _run_compiled(inputs_list, params_list)
    # Arrays keep a batch axis of 1 where every epoch shares them, so work that does not depend
    # on what varies (masks, normalisation, the median's sort) is done once, not K times.
    outputs = _run(_stack_inputs(inputs_list), _stack_params(params_list), rows)
    return EpochOutputs(
        **{
            f.name: np.broadcast_to(value, (batch, *value.shape[1:]))
            for f in dataclasses.fields(EpochOutputs)
            for value in [getattr(outputs, f.name)]
        }
    )


def _stack_inputs(inputs_list: list[EpochInputs]) -> dict[str, np.ndarray]:
    names = [
        "stake", "weights", "bonds", "validator_permit", "last_update", "block_at_registration",
        "weight_set", "commit_block",
    ]
    stack = {}
    for name in names:
        arrays = [getattr(x, name) for x in inputs_list]
        stack[name] = np.stack(arrays) if len(arrays) > 1 else arrays[0][None]
    scalars = {
        "current_block": [x.current_block for x in inputs_list],
        "recent_registration_block": [x.recent_registration_block for x in inputs_list],
        "owner_uid": [-1 if x.owner_uid is None else x.owner_uid for x in inputs_list],
    }
    for name, values in scalars.items():
        stack[name] = np.array(values, dtype=np.int64)
    n = inputs_list[0].n
    reset = np.zeros((len(inputs_list), n), dtype=bool)
    for index, x in enumerate(inputs_list):
        reset[index, list(x.reset_bond_uids)] = True
    stack["reset_bond"] = reset
    return stack


@functools.lru_cache(maxsize=64)  # YumaParams is frozen: one packing per setting
def _packed_params(params: YumaParams) -> tuple[np.ndarray, np.ndarray]:
    """One setting as the kernel's (1, len(FLOAT_PARAMS)) and (1, len(INT_PARAMS)) arrays,
    read-only (the kernel's one signature takes them so, and the cache hands them out again)."""
    fparams = np.array([_FLOAT_PARAMS(params)], dtype=np.float64)
    iparams = np.array([_INT_PARAMS(params)], dtype=np.int64)
    fparams.flags.writeable = iparams.flags.writeable = False
    return fparams, iparams


def _run_compiled(inputs_list: list[EpochInputs], params_list: list[YumaParams]) -> EpochOutputs:
    """The same epochs through the compiled kernel (params packed for it, read-only as its
    one signature takes them)."""
    fparams = _packed_column(params_list, _FLOAT_PARAMS, yuma_kernel.FLOAT_PARAMS, np.float64)
    iparams = _packed_column(params_list, _INT_PARAMS, yuma_kernel.INT_PARAMS, np.int64)
    return EpochOutputs(**yuma_kernel.run_epochs(inputs_list, fparams, iparams))


def _packed_column(params_list: list[YumaParams], getter: Any, names: tuple[str, ...],
                   dtype: type) -> np.ndarray:
    """(K, len(names)) read-only, from one flat iterator (half the time of ``np.array`` of K
    tuples: ~0.16 ms for K = 256, serial time in front of every batch)."""
    values = itertools.chain.from_iterable(map(getter, params_list))
    flat: np.ndarray = np.fromiter(values, dtype, len(params_list) * len(names))
    packed: np.ndarray = flat.reshape(len(params_list), len(names))
    packed.flags.writeable = False
    return packed


def _stack_params(params_list: list[YumaParams]) -> dict[str, np.ndarray]:
    """Each parameter as a (K,) array, or (1,) when all K settings agree on it."""
    stacked = {}
    for field in dataclasses.fields(YumaParams):
        values = np.array([getattr(p, field.name) for p in params_list])
        stacked[field.name] = values[:1] if (values == values[0]).all() else values
    return stacked


def _column(vector: np.ndarray) -> np.ndarray:
    """(K,) -> (K, 1, 1), to broadcast a per-epoch scalar over a matrix."""
    return vector[:, None, None]


def _scatter_rows(values: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """(K, v) row values -> (K, n) uid vector, zero for uids without a row."""
    out = np.zeros((values.shape[0], n))
    out[:, rows] = values
    return out


def _run(x: dict[str, np.ndarray], p: dict[str, np.ndarray], rows: np.ndarray) -> EpochOutputs:
    n = x["stake"].shape[-1]
    owner = x["owner_uid"]
    is_owner = np.arange(n)[None, :] == owner[:, None]  # (K, n)

    # 2.1-2.4: activity, stake, permits, active stake.
    active = active_mask(x["last_update"], p["activity_cutoff"][:, None],
                         x["current_block"][:, None])
    raw = np.where((x["stake"] < p["stake_threshold"][:, None]) & ~is_owner, 0.0, x["stake"])
    S = normalize_last(raw)
    new_permit = top_k_nonzero(S, p["max_allowed_validators"].astype(np.int64)) | is_owner
    A = normalize_last(S * active * x["validator_permit"])
    A_rows = A[:, rows]

    # 2.5: weight masks, then row normalisation.
    W, present = _masked_weights(x, p, rows)
    # 2.6-2.8: consensus, clipping, validator trust, incentive.
    C = weighted_median_columns(W, A_rows, p["kappa"])
    Wc = np.minimum(W, C[:, None, :])
    present_clipped = present & ~((C[:, None, :] == 0) & (W > 0))
    trust_rows = Wc.sum(axis=-1)
    I = normalize_last(np.einsum("kv,kvn->kn", A_rows, Wc))

    # 2.9: weights for bonds, W~ = W + beta (Wc - W); sparse presence as subtensor keeps it.
    beta = p["bonds_penalty"]
    Wb = W + _column(beta) * (Wc - W)
    present_b = np.where(
        _column(beta == 0), present, np.where(_column(beta == 1), present_clipped, Wb > 0)
    )

    # 2.10: bonds and dividends, classic or Yuma3 per batch element.
    old = np.where(_bond_column_mask(x)[:, None, :], 0.0, x["bonds"])
    alpha = 1.0 - p["bonds_moving_avg"]
    yuma3 = p["yuma3_enabled"]
    if yuma3.all():
        stored, dividend_rows = _yuma3_bonds(old, Wb, present_b, C, A_rows, I, alpha, p)
    else:
        stored, dividend_rows = _classic_bonds(old, Wb, A_rows, I, alpha)
        if yuma3.any():
            stored3, dividends3 = _yuma3_bonds(old, Wb, present_b, C, A_rows, I, alpha, p)
            stored = np.where(_column(yuma3), stored3, stored)
            dividend_rows = np.where(yuma3[:, None], dividends3, dividend_rows)
    stored = np.where(new_permit[:, rows][..., None], stored, 0.0)
    D = _scatter_rows(dividend_rows, rows, n)

    # 2.11: emission shares and the zero-emission fallback.
    server, validator, combined = _emission_shares(I, D, A, S)
    return EpochOutputs(
        incentive=I,
        dividends=D,
        consensus=C,
        validator_trust=_scatter_rows(trust_rows, rows, n),
        bonds=stored,
        emission=combined,
        server_emission=server,
        validator_emission=validator,
        validator_permit=new_permit,
        active=active,
        active_stake=A,
    )


def _masked_weights(
    x: dict[str, np.ndarray], p: dict[str, np.ndarray], rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Section 2.5: drop forbidden rows, self-weights (but the owner's), outdated and sniped
    entries; row-normalise. Returns the weights and the sparse presence mask."""
    n = x["stake"].shape[-1]
    permitted = x["validator_permit"][:, rows]  # (K, v)
    self_weight = rows[:, None] == np.arange(n)[None, :]  # (v, n)
    owner_row = rows[None, :] == x["owner_uid"][:, None]  # (K, v)
    diagonal = self_weight[None] & ~owner_row[..., None]
    keep = x["weight_set"] & permitted[..., None] & ~diagonal
    registered = x["block_at_registration"][:, None, :]  # (K, 1, n)
    row_update = x["last_update"][:, rows][..., None]  # (K, v, 1)
    if registered.size and row_update.size and registered.max() >= row_update.min():
        keep = keep & (row_update > registered)  # outdated: set before the uid's registration
    commit = x["commit_block"][..., None]  # (K, v, 1)
    if p["commit_reveal_weights_enabled"].any() and (commit != NO_COMMIT).any():
        sniped = (commit != NO_COMMIT) & (commit < registered)
        keep = keep & ~(sniped & _column(p["commit_reveal_weights_enabled"]))
    W = np.where(keep, x["weights"], 0.0)
    return normalize_last(W), keep


def _bond_column_mask(x: dict[str, np.ndarray]) -> np.ndarray:
    """(K, n): uids whose incoming bonds restart at zero (new since last epoch, or reset)."""
    recent = x["block_at_registration"] >= x["recent_registration_block"][:, None]
    return recent | x["reset_bond"]


def _classic_bonds(
    old: np.ndarray, Wb: np.ndarray, A_rows: np.ndarray, I: np.ndarray, alpha: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Section 2.10a: B = alpha dB + (1 - alpha) B_old on column-normalised bonds."""
    delta = normalize_columns(A_rows[..., None] * Wb)
    B = normalize_columns(_column(alpha) * delta + _column(1 - alpha) * normalize_columns(old))
    dividends = normalize_last(np.einsum("kvn,kn->kv", B, I))
    return column_max_upscale(B), dividends


def _yuma3_bonds(
    old: np.ndarray,
    Wb: np.ndarray,
    present: np.ndarray,
    C: np.ndarray,
    A_rows: np.ndarray,
    I: np.ndarray,
    alpha: np.ndarray,
    p: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Section 2.10b: absolute per-pair bonds; stake enters only at the dividends."""
    B = _column(alpha) * Wb + _column(1 - alpha) * old
    liquid = p["liquid_alpha_enabled"] & (C > 0).any(axis=-1)
    if liquid.any():
        pair_alpha = _liquid_alpha(old, Wb, C, p)
        # mat_ema_alpha_sparse writes only entries present in the new weight row (quirk 2.14.1).
        liquid_B = np.minimum(1.0, (1 - pair_alpha) * old + np.maximum(0.0, pair_alpha * Wb))
        B = np.where(_column(liquid), np.where(present, liquid_B, 0.0), B)
    bond_share = np.einsum("kvn,kn->kv", normalize_columns(B), I)
    return B, normalize_last(A_rows * bond_share)


def _liquid_alpha(
    old: np.ndarray, Wb: np.ndarray, C: np.ndarray, p: dict[str, np.ndarray]
) -> np.ndarray:
    """Per-pair EMA rate from a sigmoid of the buy/sell distance (Liquid Alpha 2)."""
    buying = Wb >= old
    distance = np.where(
        buying, np.clip(Wb - C[:, None, :], 0.0, 1.0), np.clip(old - Wb, 0.0, 1.0)
    )
    low, high = _column(p["alpha_low"]), _column(p["alpha_high"])
    slope = _column(p["alpha_sigmoid_steepness"]) / 100.0
    # subtensor clamps the exponent to [-20, 20] (math.rs : exp_safe).
    exponent = np.clip(-slope * (distance - 0.5), -20.0, 20.0)
    pair_alpha = low + (high - low) / (1.0 + np.exp(exponent))
    return np.clip(pair_alpha, low, high)


def _emission_shares(
    I: np.ndarray, D: np.ndarray, A: np.ndarray, S: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Server, validator and combined emission shares with the zero-emission fallback."""
    total = (I + D).sum(axis=-1, keepdims=True)
    safe = np.where(total > 0, total, 1.0)
    server = np.where(total > 0, I / safe, 0.0)
    validator = np.where(total > 0, D / safe, 0.0)
    combined = normalize_last(I + D)
    # No usable weights: emission follows active stake, or raw stake if nobody is active.
    fallback = np.where(A.sum(axis=-1, keepdims=True) > 0, A, S)
    validator = np.where(total > 0, validator, fallback)
    combined = np.where(total > 0, combined, fallback)
    return server, validator, combined
