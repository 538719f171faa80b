"""One epoch of Yuma Consensus in subtensor's own fixed-point arithmetic ("exact" mode).

The same steps as ``subnet/yuma.py`` (``run_epoch.rs : epoch_mechanism``, the sparse path), but
every quantity is an I32F32 (stake through I64F64, emission through I96F32) computed with
``subnet/fixed_point.py``, so the results are the integers the chain stores: u16 proportions,
u16 bonds and rao amounts, bit for bit. Vectorised over the matrix like the float path; float64
(``subnet/yuma.py``) stays the fast default and this mode is selected by
``arithmetic = "exact"``.

Inputs are the chain's storage: ``EpochInputs.weights`` and ``bonds`` are read as u16/65535
(rounded back to the stored integers), stake as TAO (converted to rao). Sparse presence is kept
as a mask next to each dense (v, n) matrix, since an explicit zero and a missing entry differ
in ``col_clip_sparse``, ``interpolate_sparse`` and ``mat_ema_alpha_sparse``.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from subnetsim.subnet import fixed_point as fx
from subnetsim.subnet.consensus import top_k_nonzero
from subnetsim.subnet.yuma import NO_COMMIT, EpochInputs, EpochOutputs, YumaParams

__all__ = [
    "ExactOutputs", "RAO_PER_TAO", "epoch_exact", "rao_of_share", "to_rao", "to_u16",
    "weighted_median_columns",
]

RAO_PER_TAO = 1_000_000_000
PER_MILLION = 1_000_000


def to_u16(proportions: np.ndarray) -> np.ndarray:
    """The stored u16 integers behind u16/65535 proportions (``EpochInputs`` weights, bonds)."""
    values = np.rint(np.asarray(proportions, dtype=np.float64) * fx.U16_MAX).astype(np.int64)
    if values.size and (values.min() < 0 or values.max() > fx.U16_MAX):
        raise ValueError("exact mode reads weights and bonds as u16/65535 proportions")
    return values


def to_rao(tao: np.ndarray) -> np.ndarray:
    """Stake in TAO to integer rao, the chain's unit (nearest)."""
    rao = np.rint(np.asarray(tao, dtype=np.float64) * RAO_PER_TAO)
    if rao.size and not rao.max() < 2.0**63:
        raise ValueError("exact mode: a stake beyond 9.2e9 TAO does not fit the chain's u64 rao")
    return rao.astype(np.int64)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ExactOutputs:
    """An exact epoch: I32F32 bits (``*_bits``), what the chain stores, and float views.

    Attributes:
        incentive_u16, dividends_u16, consensus_u16, validator_trust_u16, stake_weight_u16:
            (n,) ``fixed_proportion_to_u16`` of each vector, as stored.
        bonds_u16: (v, n) stored bonds of the rows (empty rows for uids without a new permit).
        server_bits, validator_bits, combined_bits: (n,) normalised emission shares (I32F32).
        outputs: the same epoch as float ``EpochOutputs`` (each I32F32 value as a float64),
            so the chain and the tables use one type; its ``bonds`` are ``bonds_u16 / 65535``.
    """

    incentive_u16: np.ndarray
    dividends_u16: np.ndarray
    consensus_u16: np.ndarray
    validator_trust_u16: np.ndarray
    stake_weight_u16: np.ndarray
    bonds_u16: np.ndarray
    server_bits: np.ndarray
    validator_bits: np.ndarray
    combined_bits: np.ndarray
    outputs: EpochOutputs

    def emission_rao(self, rao_emission: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(server, validator, combined) emission in rao for ``rao_emission`` (I96F32 product,
        floored to u64: ``run_epoch.rs`` "Compute rao based emission scores")."""
        return tuple(  # type: ignore[return-value]
            rao_of_share(bits, rao_emission)
            for bits in (self.server_bits, self.validator_bits, self.combined_bits)
        )


def rao_of_share(share_bits: np.ndarray, rao_emission: int) -> np.ndarray:
    """floor(share * rao) for I32F32 shares: I96F32 keeps all bits of the product."""
    product = (np.asarray(share_bits, dtype=object) * int(rao_emission)) >> fx.FRAC_BITS
    return np.asarray(product, dtype=object).astype(np.int64)


@dataclasses.dataclass(frozen=True, slots=True)
class _ChainParams:
    """YumaParams in the chain's storage units, then as I32F32 bits where the epoch uses them."""

    kappa: int
    bonds_penalty: int
    alpha: int  # 1 - bonds_moving_avg / 1e6 (I64F64 quotient narrowed to I32F32)
    alpha_low: int
    alpha_high: int
    steepness: int
    threshold_rao: int

    @classmethod
    @functools.lru_cache(maxsize=64)  # YumaParams is frozen: one conversion per setting
    def of(cls, params: YumaParams) -> _ChainParams:
        moving_avg = round(params.bonds_moving_avg * PER_MILLION)
        return cls(
            kappa=int(fx.u16_proportion(round(params.kappa * fx.U16_MAX))),
            bonds_penalty=int(fx.u16_proportion(round(params.bonds_penalty * fx.U16_MAX))),
            alpha=fx.ONE - (moving_avg << fx.FRAC_BITS) // PER_MILLION,
            alpha_low=int(fx.u16_proportion(round(params.alpha_low * fx.U16_MAX))),
            alpha_high=int(fx.u16_proportion(round(params.alpha_high * fx.U16_MAX))),
            steepness=round(params.alpha_sigmoid_steepness),
            threshold_rao=round(params.stake_threshold * RAO_PER_TAO),
        )


def epoch_exact(inputs: EpochInputs, params: YumaParams) -> ExactOutputs:
    """Run one epoch in fixed point; see the module doc."""
    p = _ChainParams.of(params)
    n, rows = inputs.n, inputs.validator_uids
    owner = np.arange(n) == (-1 if inputs.owner_uid is None else inputs.owner_uid)
    active = inputs.last_update + params.activity_cutoff >= inputs.current_block
    raw = to_rao(inputs.stake)
    raw = np.where((raw < p.threshold_rao) & ~owner, 0, raw)
    S = fx.narrow_ratio(raw, int(raw.sum()))
    permit = inputs.validator_permit | owner
    new_permit = top_k_nonzero(S[None], np.array([params.max_allowed_validators]))[0] | owner
    A = fx.normalize_last(np.where(active & permit, S, 0))

    W, present = _masked_weights(inputs, params, permit)
    C = _consensus(W, A, rows, p.kappa)
    # col_clip_sparse: min(W, C); an entry clipped to a zero consensus leaves the sparse
    # matrix. Wc is already 0 wherever present_c is False (absent entries are 0 in W).
    Wc = np.minimum(W, C[None, :])
    present_c = present.copy()
    zero_c = C == 0
    if zero_c.any():
        present_c[:, zero_c] &= W[:, zero_c] <= 0
    trust = Wc.sum(axis=-1)
    I = fx.normalize_last(fx.mul(A[rows][:, None], Wc).sum(axis=0))
    Wb, present_b = _weights_for_bonds(W, present, Wc, present_c, p.bonds_penalty)

    recent = inputs.block_at_registration >= inputs.recent_registration_block
    keep_column = ~recent
    keep_column[list(inputs.reset_bond_uids)] = False
    stored_u16 = to_u16(inputs.bonds)
    stored_u16 *= keep_column
    if params.yuma3_enabled:
        liquid = params.liquid_alpha_enabled and bool((C != 0).any())
        B, dividend_rows = _yuma3_bonds(stored_u16, Wb, present_b, C, A[rows], I, p, liquid)
        bonds_bits = B
    else:
        bonds_bits, dividend_rows = _classic_bonds(stored_u16, Wb, A[rows], I, p.alpha)
    D = np.zeros(n, dtype=np.int64)
    D[rows] = fx.normalize_last(dividend_rows)
    bonds_u16 = fx.fixed_proportion_to_u16(bonds_bits)
    bonds_u16 *= new_permit[rows][:, None]
    trust_n = np.zeros(n, dtype=np.int64)
    trust_n[rows] = trust
    server, validator, combined = _emission_shares(I, D, A, S)
    return _package(S, C, I, D, trust_n, bonds_u16, server, validator, combined, new_permit,
                    active, A)


def _masked_weights(inputs: EpochInputs, params: YumaParams,
                    permit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2.5: u16 weights as I32F32 integers, masked (permit, diagonal but the owner's, outdated,
    commit-reveal sniping) and row-normalised (``inplace_row_normalize_sparse``)."""
    rows = inputs.validator_uids
    present = inputs.weight_set & permit[rows][:, None]
    self_weight = np.flatnonzero(rows != (-1 if inputs.owner_uid is None else inputs.owner_uid))
    present[self_weight, rows[self_weight]] = False  # the diagonal, but the owner's
    registered = inputs.block_at_registration
    newest = int(registered.max(initial=0))
    updated = inputs.last_update[rows]
    if updated.size and int(updated.min()) <= newest:  # some row predates a registration
        present &= ~(updated[:, None] <= registered[None, :])
    commit = np.asarray(inputs.commit_block)  # always set by EpochInputs
    pending = commit != NO_COMMIT
    if params.commit_reveal_weights_enabled and pending.any() and commit[pending].min() < newest:
        present &= ~(pending[:, None] & (commit[:, None] < registered[None, :]))
    W = fx.from_int(to_u16(inputs.weights))
    W *= present
    # Non-negative rows: a zero row stays zero (safe_div), as inplace_row_normalize_sparse
    # leaves it.
    return fx.div(W, W.sum(axis=-1, keepdims=True)), present


def _consensus(W: np.ndarray, A: np.ndarray, rows: np.ndarray, kappa: int) -> np.ndarray:
    """2.6 ``weighted_median_col_sparse``: the rows with positive active stake (renormalised)
    vote, in uid order; a missing entry or a uid without a row votes 0."""
    n = A.shape[0]
    voters = np.flatnonzero(A > 0)
    if not len(voters):
        return np.zeros(n, dtype=np.int64)
    stake = fx.normalize_last(A[voters])
    scores = np.zeros((len(voters), n), dtype=np.int64)
    has_row = np.isin(voters, rows)
    scores[has_row] = W[np.searchsorted(rows, voters[has_row])]
    return weighted_median_columns(scores, stake, int(stake.sum()) - kappa)


def weighted_median_columns(scores: np.ndarray, stake: np.ndarray, minority: int) -> np.ndarray:
    """``math.rs : weighted_median`` of every column of ``scores`` (v, n), stakes (v,), all I32F32.

    The chain's quickselect (mid pivot, partitions below/equal/above) compares exact integer
    stake sums, so its answer is the score v with stake(< v) <= minority < stake(<= v); the
    smallest score when minority < 0, the largest when no score reaches past minority. Sorting
    each column and taking the first position whose running stake passes minority gives it.
    """
    voters, n = scores.shape
    index_bits = max(voters - 1, 1).bit_length()
    if scores.size and scores.min() >= 0 and int(scores.max()) < 1 << (62 - index_bits):
        # Each column's (score, voter) pairs packed into one int64 and sorted by value: the
        # same order as a stable argsort by score, at a fraction of its cost (a plain sort of
        # contiguous rows instead of an argsort down strided columns).
        packed = (scores.T << index_bits) | np.arange(voters)
        packed.sort(axis=1)
        order = packed & ((1 << index_bits) - 1)
        sorted_scores = packed >> index_bits
        cumulative = np.cumsum(stake[order], axis=1)
        crossing = cumulative > minority
        first = np.where(crossing.any(axis=1), crossing.argmax(axis=1), voters - 1)
        return sorted_scores[np.arange(n), first]
    order = np.argsort(scores, axis=0, kind="stable")
    sorted_scores = np.take_along_axis(scores, order, axis=0)
    cumulative = np.cumsum(stake[order], axis=0)
    crossing = cumulative > minority
    first = np.where(crossing.any(axis=0), crossing.argmax(axis=0), voters - 1)
    return sorted_scores[first, np.arange(n)]


def _weights_for_bonds(W: np.ndarray, present: np.ndarray, Wc: np.ndarray,
                       present_c: np.ndarray, beta: int) -> tuple[np.ndarray, np.ndarray]:
    """2.9 ``interpolate_sparse``: W at beta 0, Wc at beta 1, else W + beta (Wc - W) kept
    where positive."""
    if beta == 0:
        return W, present
    if beta == fx.ONE:
        return Wc, present_c
    mixed = W + fx.mul(beta, Wc - W)
    return np.where(mixed > 0, mixed, 0), mixed > 0


def _col_normalize(matrix: np.ndarray) -> np.ndarray:
    """``inplace_col_normalize_sparse`` of a non-negative matrix: each column over its sum;
    a column summing to 0 is all zeros and stays so (safe_div)."""
    return fx.div(matrix, matrix.sum(axis=0, keepdims=True))


def _classic_bonds(stored_u16: np.ndarray, Wb: np.ndarray, A_rows: np.ndarray, I: np.ndarray,
                   alpha: int) -> tuple[np.ndarray, np.ndarray]:
    """2.10a: column-normalised u16 bonds and stake-weighted deltas, EMA
    (``mat_ema_sparse``), dividends; storage is column-max-upscaled
    (``inplace_col_max_upscale_sparse``: a division by the column maximum)."""
    old = _col_normalize(fx.from_int(stored_u16))
    delta = _col_normalize(fx.mul(Wb, A_rows[:, None]))
    ema = fx.mul(alpha, delta)
    ema += fx.mul(fx.ONE - alpha, old)  # both terms >= 0: no entry is dropped as non-positive
    ema = _col_normalize(ema)
    dividends = fx.mul(I[None, :], ema).sum(axis=-1)
    peak = ema.max(axis=0, keepdims=True, initial=0)
    return fx.div(ema, peak), dividends  # a zero peak: an all-zero column, kept (safe_div)


def _yuma3_bonds(stored_u16: np.ndarray, Wb: np.ndarray, present_b: np.ndarray, C: np.ndarray,
                 A_rows: np.ndarray, I: np.ndarray, p: _ChainParams,
                 liquid: bool) -> tuple[np.ndarray, np.ndarray]:
    """2.10b: absolute bonds (u16 proportions), EMA per pair (``compute_bonds_sparse``),
    dividends from column-normalised bonds times active stake (``vec_mul``)."""
    old = fx.u16_proportion(stored_u16)
    if liquid:
        # Only entries of the sparse weight matrix keep a bond, so alpha (an exp per pair) is
        # computed for those alone.
        old_p, Wb_p = old[present_b], Wb[present_b]
        alpha = _liquid_alpha(old_p, Wb_p, np.broadcast_to(C, Wb.shape)[present_b], p)
        decayed = fx.mul(fx.ONE - alpha, old_p)
        B = np.zeros_like(old)
        B[present_b] = np.minimum(decayed + np.maximum(fx.mul(alpha, Wb_p), 0), fx.ONE)
    else:
        B = fx.mul(p.alpha, Wb) + fx.mul(fx.ONE - p.alpha, old)
        B = np.where(B > 0, B, 0)
    share = fx.mul(_col_normalize(B), I[None, :]).sum(axis=-1)
    return B, fx.mul(share, A_rows)


def _liquid_alpha(old: np.ndarray, Wb: np.ndarray, C: np.ndarray,
                  p: _ChainParams) -> np.ndarray:
    """``run_epoch.rs : alpha_sigmoid`` per pair (arrays of the same shape), in I32F32 with
    substrate_fixed's exp."""
    buy = np.clip(Wb - C, 0, fx.ONE)
    sell = np.clip(old - Wb, 0, fx.ONE)
    distance = np.where(Wb >= old, buy, sell)
    slope = fx.div(fx.from_int(p.steepness), fx.from_int(-100), saturate=True)
    exponent = fx.mul(slope, distance - fx.HALF)
    sigmoid = fx.div(np.full_like(exponent, fx.ONE), fx.ONE + fx.exp(exponent), saturate=True)
    alpha = p.alpha_low + fx.mul(sigmoid, p.alpha_high - p.alpha_low)
    return np.clip(alpha, p.alpha_low, p.alpha_high)


def _emission_shares(I: np.ndarray, D: np.ndarray, A: np.ndarray,
                     S: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2.11: normalised server/validator/combined emission and the zero-emission fallback."""
    combined = I + D
    total = int(combined.sum())
    if total == 0:
        fallback = S if int(A.sum()) == 0 else A
        return I, fallback, fallback
    return fx.div(I, total), fx.div(D, total), fx.normalize_last(combined)


def _package(S: np.ndarray, C: np.ndarray, I: np.ndarray, D: np.ndarray, trust: np.ndarray,
             bonds_u16: np.ndarray, server: np.ndarray, validator: np.ndarray,
             combined: np.ndarray, new_permit: np.ndarray, active: np.ndarray,
             A: np.ndarray) -> ExactOutputs:
    outputs = EpochOutputs(
        incentive=fx.to_float(I), dividends=fx.to_float(D), consensus=fx.to_float(C),
        validator_trust=fx.to_float(trust), bonds=bonds_u16 / fx.U16_MAX,
        emission=fx.to_float(combined), server_emission=fx.to_float(server),
        validator_emission=fx.to_float(validator), validator_permit=new_permit,
        active=active, active_stake=fx.to_float(A),
    )
    u16 = fx.fixed_proportion_to_u16
    return ExactOutputs(
        incentive_u16=u16(I), dividends_u16=u16(D), consensus_u16=u16(C),
        validator_trust_u16=u16(trust), stake_weight_u16=u16(S), bonds_u16=bonds_u16,
        server_bits=server, validator_bits=validator, combined_bits=combined, outputs=outputs,
    )
