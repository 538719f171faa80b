"""The monitor: detectors that raise alarms from chain data.

Three detectors, each a pure function of what the chain publishes, with thresholds from the
drill file:

- **emission concentration jump**: the Herfindahl-Hirschman index (HHI, the sum of squared
  shares) of the last epoch's miner incentive, compared with the epoch before. A cabal that
  routes incentive to a few of its own miners makes it jump.
- **weight bloc**: validators whose weight vectors are near-identical (Pearson correlation at
  least ``correlation_threshold``) form a bloc; a bloc of two or more whose stake-weighted
  weights correlate less than ``divergence_threshold`` with the other validators' and that
  holds at least ``bloc_stake_fraction`` of validator stake is a stake-weighted collusion
  signal. Honest validators with their own noisy views may happen to correlate closely, but as
  a group they agree with the rest; coordinated weights on the cabal's own miners do not.
- **registration burst**: at least ``registration_burst`` registrations within the last
  ``registration_window_blocks`` blocks (a sybil flood).

``Monitor.watch`` is a SimPy process that runs the detectors every ``interval_blocks`` blocks
and hands each new alarm to a sink (the council's alarm queue). Each detector alarms once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from subnetsim.subnet.chain import BLOCK_SECONDS, Chain
from subnetsim.subnet.governance_config import MonitorConfig

__all__ = ["Alarm", "Monitor", "MonitorConfig", "find_weight_bloc", "herfindahl",
           "recent_registrations"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Alarm:
    """A detector fired after ``block`` was produced."""

    block: int
    time: float  # simulated seconds
    detector: str
    value: float
    threshold: float
    detail: str = ""


# ------------------------------------------------------------------------------ detectors


def herfindahl(shares: np.ndarray) -> float:
    """HHI of a non-negative vector: Σ (x_i / Σx)², 0 for an all-zero vector."""
    total = float(np.sum(shares))
    return float(np.sum((np.asarray(shares) / total) ** 2)) if total > 0 else 0.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WeightBloc:
    """The largest-stake divergent bloc: its uids and its share of validator stake."""

    uids: tuple[int, ...]
    stake_share: float


def _correlations(weights: np.ndarray) -> np.ndarray:
    """(v, v) Pearson correlation of the rows; a constant row correlates 0 with the others."""
    centred = weights - weights.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    unit = centred / safe[:, None]
    corr = unit @ unit.T
    np.fill_diagonal(corr, 1.0)
    return corr


def find_weight_bloc(weights: np.ndarray, stake: np.ndarray, uids: np.ndarray,
                     threshold: float, divergence: float) -> WeightBloc | None:
    """The divergent bloc with the most stake, if any.

    Args:
        weights: (v, m) weight rows of the validators that set weights (any scale).
        stake: (v,) their stake, TAO.
        uids: (v,) their uids.
        threshold: correlation at or above which two validators are in one bloc.
        divergence: a bloc whose stake-weighted weights correlate at least this much with
            the other validators' agrees with them and is not reported.
    """
    if len(weights) < 2 or stake.sum() <= 0:
        return None
    corr = _correlations(np.asarray(weights, dtype=float))
    rows = np.asarray(weights, dtype=float) / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    best: WeightBloc | None = None
    for member in range(len(weights)):
        inside = corr[member] >= threshold
        if inside.sum() < 2 or inside.all():
            continue
        own = stake[inside] @ rows[inside]  # (m,) the bloc's stake-weighted weights
        others = stake[~inside] @ rows[~inside]
        if _correlations(np.vstack([own, others]))[0, 1] >= divergence:
            continue  # it agrees with everyone else: no divergence
        share = float(stake[inside].sum() / stake.sum())
        if best is None or share > best.stake_share:
            best = WeightBloc(uids=tuple(int(uid) for uid in uids[inside]), stake_share=share)
    return best


def recent_registrations(block_at_registration: np.ndarray, registered: np.ndarray, block: int,
                         window: int) -> int:
    """Registrations after genesis in the last ``window`` blocks up to ``block``."""
    recent = (block_at_registration > max(block - window, 0)) & (block_at_registration <= block)
    return int(np.count_nonzero(recent & registered))


# -------------------------------------------------------------------------------- monitor


class Monitor:
    """Watches one chain and reports alarms to ``sink``."""

    def __init__(self, chain: Chain, config: MonitorConfig, sink: Callable[[Alarm], Any]) -> None:
        self.chain = chain
        self.config = config
        self.sink = sink
        self.alarms: list[Alarm] = []
        self._previous_hhi: tuple[int, float] | None = None  # (epoch block, HHI)

    def watch(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        """SimPy process: check three quarters into every ``interval_blocks``-th block gap,
        after the block and the agents' mid-block submissions."""
        block = self.chain.block
        while True:
            block += self.config.interval_blocks
            yield env.timeout(max((block + 0.75) * BLOCK_SECONDS - env.now, 0.0))
            for alarm in self.check(env.now):
                self.alarms.append(alarm)
                self.sink(alarm)

    def check(self, now: float) -> list[Alarm]:
        """Run every enabled detector once; new alarms only (each detector fires once)."""
        fired = {alarm.detector for alarm in self.alarms}
        found = [self._scheduled(now), self._concentration(now), self._bloc(now),
                 self._burst(now)]
        return [alarm for alarm in found if alarm is not None and alarm.detector not in fired]

    def _alarm(self, now: float, detector: str, value: float, threshold: float,
               detail: str = "") -> Alarm:
        return Alarm(block=self.chain.block, time=now, detector=detector, value=value,
                     threshold=threshold, detail=detail)

    def _scheduled(self, now: float) -> Alarm | None:
        if self.chain.block in self.config.scheduled_alarms:
            return self._alarm(now, "scheduled_drill", float(self.chain.block), 0.0,
                               "planned exercise")
        return None

    def _concentration(self, now: float) -> Alarm | None:
        jump, last = self.config.concentration_jump, self.chain.last_epoch
        if jump <= 0 or last is None:
            return None
        if self._previous_hhi is not None and self._previous_hhi[0] == last.block:
            return None
        value = herfindahl(last.incentive)
        previous, self._previous_hhi = self._previous_hhi, (last.block, value)
        if previous is not None and value - previous[1] >= jump:
            return self._alarm(now, "emission_concentration", value - previous[1], jump,
                               f"incentive HHI {previous[1]:.3f} -> {value:.3f}")
        return None

    def _bloc(self, now: float) -> Alarm | None:
        fraction = self.config.bloc_stake_fraction
        if fraction <= 0:
            return None
        ledger = self.chain.ledger
        rows = np.flatnonzero(ledger.validator_permit & ledger.registered
                              & ledger.weight_set.any(axis=1))
        if len(rows) < 2:
            return None
        columns = np.flatnonzero(ledger.weight_set[rows].any(axis=0))
        bloc = find_weight_bloc(ledger.weights[np.ix_(rows, columns)].astype(float),
                                ledger.stake[rows], rows, self.config.correlation_threshold,
                                self.config.divergence_threshold)
        if bloc is None or bloc.stake_share < fraction:
            return None
        return self._alarm(now, "weight_bloc", bloc.stake_share, fraction,
                           f"validators {list(bloc.uids)} set near-identical weights")

    def _burst(self, now: float) -> Alarm | None:
        burst = self.config.registration_burst
        if burst <= 0:
            return None
        ledger = self.chain.ledger
        count = recent_registrations(ledger.block_at_registration, ledger.registered,
                                     self.chain.block, self.config.registration_window_blocks)
        if count < burst:
            return None
        return self._alarm(now, "registration_burst", float(count), float(burst),
                           f"{count} registrations in "
                           f"{self.config.registration_window_blocks} blocks")
