"""Outcome metrics of one run: pure functions over its per-epoch per-uid table.

A run's table has one row per (epoch, uid) with the uid's role and behaviour, its stake, the
epoch's incentive and dividend shares and the TAO it was paid (``incentive_tao``,
``dividends_tao``), plus each miner's true ``model_loss`` when the agents report one. Every
metric maps a ``RunData`` and the sweep's ``BehaviourGroups`` to one float, NaN when it does
not apply to the run (no copier in the scenario, no model losses, no halt); summaries skip NaN.

Metrics (``METRICS``):
    copier_dividend_ratio   dividends per unit stake of copier validators / honest validators
    attacker_dividend_ratio the same for every adversarial validator behaviour
    attacker_emission_share share of all TAO paid that went to adversarial uids
    emission_gini           Gini coefficient of the TAO each uid earned over the run
    loss_incentive_spearman Spearman(miner model loss, mean incentive); healthy is close to -1
    halt_block              first block with a governance halt
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["METRICS", "BehaviourGroups", "Metric", "RunData", "gini", "run_metrics", "spearman"]

_ROW_FIELDS = ("epoch", "uid", "role", "behaviour", "stake", "incentive", "dividends",
               "incentive_tao", "dividends_tao", "model_loss")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BehaviourGroups:
    """Which behaviour names count as honest, copier and adversarial (the sweep file's
    ``[behaviours]`` table). ``fixed`` is the honest scripted validator."""

    honest: tuple[str, ...] = ("honest", "fixed")
    copier: tuple[str, ...] = ("weight_copier",)
    attacker: tuple[str, ...] = ("weight_copier", "cabal", "self_dealer", "copycat", "sybil")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RunData:
    """One run's table as aligned (rows,) arrays, and its run-level facts."""

    epoch: np.ndarray  # (rows,) int, epoch index (1 = first epoch)
    uid: np.ndarray  # (rows,) int
    role: np.ndarray  # (rows,) str: validator | miner | ""
    behaviour: np.ndarray  # (rows,) str
    stake: np.ndarray  # (rows,) TAO after the epoch
    incentive: np.ndarray  # (rows,) share
    dividends: np.ndarray  # (rows,) share
    incentive_tao: np.ndarray  # (rows,) TAO paid to the uid as a miner
    dividends_tao: np.ndarray  # (rows,) TAO paid to the uid as a validator
    model_loss: np.ndarray  # (rows,) true loss of the miner's model at the end, NaN if unknown
    halt_block: float = float("nan")

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any], info: Mapping[str, Any]) -> RunData:
        """From a run table's columns (lists or arrays) and its run info."""
        arrays = {name: np.asarray(columns[name]) for name in _ROW_FIELDS}
        arrays["model_loss"] = np.array(
            [np.nan if value is None else value for value in columns["model_loss"]], dtype=float)
        return cls(**arrays, halt_block=_number(info.get("halt_block")))

    def after_warmup(self, warmup_epochs: int) -> RunData:
        """The rows of epochs after the first ``warmup_epochs``."""
        keep = self.epoch > warmup_epochs
        rows = {name: getattr(self, name)[keep] for name in _ROW_FIELDS}
        return dataclasses.replace(self, **rows)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """A named outcome metric and the label its plots use."""

    name: str
    label: str
    compute: Callable[[RunData, BehaviourGroups], float]
    # The values the metric can take (inclusive); intervals and plots stay inside them.
    bounds: tuple[float, float] = (-math.inf, math.inf)
    parity: float | None = None  # the value of "no advantage", drawn as a line in plots
    per_epoch: bool = True  # meaningful on one epoch alone (a trajectory over epochs)


def run_metrics(run: RunData, names: tuple[str, ...], groups: BehaviourGroups,
                warmup_epochs: int = 0) -> dict[str, float]:
    """The named metrics of one run, after dropping the warm-up epochs."""
    data = run.after_warmup(warmup_epochs)
    return {name: float(METRICS[name].compute(data, groups)) for name in names}


# --- the metrics -------------------------------------------------------------------------------


def _copier_dividend_ratio(run: RunData, groups: BehaviourGroups) -> float:
    return _yield_ratio(run, groups.copier, groups.honest)


def _attacker_dividend_ratio(run: RunData, groups: BehaviourGroups) -> float:
    return _yield_ratio(run, groups.attacker, groups.honest)


def _attacker_emission_share(run: RunData, groups: BehaviourGroups) -> float:
    attackers = np.isin(run.behaviour, groups.attacker)
    paid = run.incentive_tao + run.dividends_tao
    total = paid.sum()
    if not attackers.any() or total <= 0:
        return float("nan")
    return float(paid[attackers].sum() / total)


def _emission_gini(run: RunData, groups: BehaviourGroups) -> float:
    if not len(run.uid):
        return float("nan")
    earned = np.bincount(run.uid, weights=run.incentive_tao + run.dividends_tao)
    present = np.bincount(run.uid) > 0
    return gini(earned[present])


def _loss_incentive_spearman(run: RunData, groups: BehaviourGroups) -> float:
    miners = (run.role == "miner") & np.isfinite(run.model_loss)
    if not miners.any():
        return float("nan")
    uids = run.uid[miners]
    rows = np.bincount(uids)
    seen = rows > 0
    mean_incentive = np.bincount(uids, weights=run.incentive[miners])[seen] / rows[seen]
    loss = np.bincount(uids, weights=run.model_loss[miners])[seen] / rows[seen]
    return spearman(loss, mean_incentive)


def _halt_block(run: RunData, groups: BehaviourGroups) -> float:
    return run.halt_block


METRICS: dict[str, Metric] = {
    metric.name: metric for metric in (
        Metric(name="copier_dividend_ratio", compute=_copier_dividend_ratio,
               label="copier / honest dividends per stake", parity=1.0,
               bounds=(0.0, math.inf)),
        Metric(name="attacker_dividend_ratio", compute=_attacker_dividend_ratio,
               label="adversarial / honest dividends per stake", parity=1.0,
               bounds=(0.0, math.inf)),
        Metric(name="attacker_emission_share", compute=_attacker_emission_share,
               label="adversaries' share of emission", bounds=(0.0, 1.0)),
        Metric(name="emission_gini", compute=_emission_gini, label="Gini of emission per uid",
               bounds=(0.0, 1.0)),
        Metric(name="loss_incentive_spearman", compute=_loss_incentive_spearman,
               label="Spearman(model loss, incentive)", bounds=(-1.0, 1.0)),
        Metric(name="halt_block", compute=_halt_block, label="first halted block",
               bounds=(0.0, math.inf), per_epoch=False),
    )
}


# --- pure helpers -------------------------------------------------------------------------------


def _yield_ratio(run: RunData, group: tuple[str, ...], reference: tuple[str, ...]) -> float:
    """(dividends per unit stake of ``group``) / (that of ``reference``), validators only."""
    validators = run.role == "validator"
    mine = validators & np.isin(run.behaviour, group)
    theirs = validators & np.isin(run.behaviour, reference)
    if not mine.any() or not theirs.any():
        return float("nan")
    own_yield = _per_stake(run.dividends_tao[mine], run.stake[mine])
    reference_yield = _per_stake(run.dividends_tao[theirs], run.stake[theirs])
    if not reference_yield > 0:
        return float("nan")
    return own_yield / reference_yield


def _per_stake(paid: np.ndarray, stake: np.ndarray) -> float:
    total_stake = stake.sum()
    return float(paid.sum() / total_stake) if total_stake > 0 else float("nan")


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative amounts: 0 when equal, (n-1)/n when one holds all."""
    x = np.sort(np.asarray(values, dtype=float))
    n, total = len(x), x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    rank = np.arange(1, n + 1)
    return float(((2 * rank - n - 1) * x).sum() / (n * total))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties); NaN if either side is constant or
    there are fewer than three pairs."""
    if len(a) < 3:
        return float("nan")
    rank_a, rank_b = _average_ranks(np.asarray(a)), _average_ranks(np.asarray(b))
    if rank_a.std() == 0 or rank_b.std() == 0:
        return float("nan")
    return float(np.corrcoef(rank_a, rank_b)[0, 1])


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    unique, inverse = np.unique(values, return_inverse=True)
    totals = np.bincount(inverse, weights=ranks, minlength=len(unique))
    counts = np.bincount(inverse, minlength=len(unique))
    return totals[inverse] / counts[inverse]


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)
