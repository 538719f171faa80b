"""Frozen snapshots of a running world: what the dashboard shows, and nothing it can change.

The simulation worker builds a ``Snapshot`` between chunks (it owns the world, so reading it
there is safe) and posts it, pickled, to the app's process; widgets only ever read snapshots.
Every array is a read-only copy. The pure helpers here (Gini, per-group sums, the weights
view) are what the panels plot.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from subnetsim.subnet.config import U16_MAX, Hyperparameters
from subnetsim.subnet.metagraph import Metagraph
from subnetsim.subnet.records import EpochRecord

__all__ = [
    "ABSide",
    "ABView",
    "CouncilMemberView",
    "DrillStatus",
    "EpochPoint",
    "GovernanceSnapshot",
    "LogEntry",
    "NetworkView",
    "ProposalView",
    "Snapshot",
    "UidDetail",
    "WeightsView",
    "epoch_point",
    "gini",
    "group_labels",
    "group_totals",
    "weights_view",
]



def _frozen(array: Any, dtype: Any = float) -> np.ndarray:
    copy = np.array(array, dtype=dtype, copy=True)
    copy.flags.writeable = False
    return copy


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LogEntry:
    """One line of the Log panel; ``seq`` grows by one per entry within a session."""

    seq: int
    block: int
    kind: str
    text: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EpochPoint:
    """One epoch, summarised for the sparklines and charts."""

    index: int
    block: int
    emission: float  # TAO paid to miners and validators at this epoch
    stake_gini: float  # Gini coefficient of stake over registered uids after the payout
    kappa: float  # the kappa this epoch was computed with
    incentive_by_group: tuple[tuple[str, float], ...]  # (group, share of incentive)
    dividends_by_group: tuple[tuple[str, float], ...]  # (group, share of dividends)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class WeightsView:
    """Validator x miner weights (rows normalised to 1) and bonds, with consensus per miner."""

    validator_uids: np.ndarray  # (v,)
    miner_uids: np.ndarray  # (m,)
    weights: np.ndarray  # (v, m) row-normalised weight
    bonds: np.ndarray  # (v, m) bond in [0, 1]
    consensus: np.ndarray  # (m,)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CouncilMemberView:
    """A governance council member as the Governance panel lists it."""

    name: str
    online: bool
    signed: bool
    behaviour: str = "honest"  # honest, offline, malicious (cheating) or captured


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ProposalView:
    """An open governance proposal and its signing progress."""

    proposal_id: str
    action: str
    scope: str
    signatures: int
    threshold: int
    status: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DrillStatus:
    """The drill picker's state: ``idle``, ``running``, ``done`` or ``failed``."""

    state: str = "idle"
    name: str = ""
    report: tuple[tuple[str, str], ...] = ()
    error: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GovernanceSnapshot:
    """Halt state from the chain, and the council when the scenario has one."""

    halted_scopes: tuple[str, ...] = ()
    halt_until: int | None = None
    council: tuple[CouncilMemberView, ...] = ()
    proposals: tuple[ProposalView, ...] = ()
    has_council: bool = False
    drills: tuple[str, ...] = ()
    drill: DrillStatus = DrillStatus(state="idle")
    halt_block: int | None = None  # the block the halt in force took effect in
    halts: tuple[tuple[int, str], ...] = ()  # every (block, halt|extend|resume) so far
    rounds: tuple[str, ...] = ()  # one line per signing attempt, in order
    lifecycle: tuple[tuple[str, int | None, str], ...] = ()  # (stage, block, detail)
    verdict: str = ""  # the drill's checks, once its block budget is reached
    # Per uid slot: "serving", "halted" (its node verified a serving HALT and stopped) or
    # "rogue" (its node knows of the halt and serves anyway); "" for an empty slot. Empty
    # without a council (nothing can halt serving then).
    serving: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class UidDetail:
    """One uid in depth, for the inspector: series over epochs, weights, events."""

    uid: int
    hotkey: str
    role: str
    behaviour: str
    blocks: tuple[int, ...]  # epoch blocks, the x of every series
    series: tuple[tuple[str, tuple[float, ...]], ...]  # (name, one value per epoch)
    weights_given: tuple[tuple[int, float], ...]  # (uid, share of its row)
    weights_received: tuple[tuple[int, float], ...]  # (validator uid, share of column)
    events: tuple[LogEntry, ...]
    model_loss_now: float = float("nan")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ABSide:
    """One side of an A/B fork: its value of the setting, metagraph and epochs."""

    label: str
    value: Any
    digest: str
    metagraph: Metagraph
    behaviours: tuple[str, ...]
    history: tuple[EpochPoint, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ABView:
    """An A/B fork: the setting, the block it forked at, where both sides are now."""

    name: str
    fork_block: int
    block: int
    sides: tuple[ABSide, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class NetworkView:
    """A dTAO network session: every subnet now, its price history, and where the last block's
    TAO went (the economy's own per-block flows, ``BlockFlow``, not recomputed)."""

    selected: int  # the netuid the per-subnet panels (Metagraph, Weights, ...) show
    rows: tuple[Any, ...]  # ``network_world.SubnetRow`` per subnet, netuid order
    blocks_since_epoch: Mapping[int, int]
    flows: tuple[tuple[int, Any], ...]  # (netuid, ``economy.BlockFlow``) of the last block
    issuance_tao: float
    root_tao: float
    # Per netuid: (blocks, spot prices, EMA prices), the last ``PRICE_POINTS`` blocks.
    prices: Mapping[int, tuple[tuple[int, ...], tuple[float, ...], tuple[float, ...]]]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Snapshot:
    """Everything the dashboard shows at one moment of a session."""

    session: int  # grows by one at every restart
    scenario_name: str
    seed: int
    block: int
    epoch_index: int
    blocks_until_epoch: int
    budget: int  # the scenario's block budget (the driver pauses there once)
    state: str  # "running", "paused" or "finished"
    speed_label: str  # the target speed, e.g. "100 blocks/s" or "max"
    blocks_per_second: float  # measured over the last seconds
    digest: str  # head block hash
    minted: float  # TAO emitted since genesis
    metagraph: Metagraph
    roles: tuple[str, ...]  # per uid slot; "" for an empty slot
    behaviours: tuple[str, ...]
    weights: WeightsView
    history: tuple[EpochPoint, ...]
    events: tuple[LogEntry, ...]
    hyper: Hyperparameters
    commands: tuple[Mapping[str, Any], ...]  # the session's command log so far
    governance: GovernanceSnapshot
    notice: str = ""
    scenario_hyper: Hyperparameters | None = None  # the scenario file's values (for the diff)
    markers: tuple[tuple[int, str], ...] = ()  # (block, halt|extend|resume|edit), for charts
    inspected: UidDetail | None = None  # the uid the inspector shows, while it is open
    ab: ABView | None = None  # an A/B fork of the session, while one runs
    network: NetworkView | None = None  # a dTAO network session's subnets


def gini(values: Sequence[float] | np.ndarray) -> float:
    """Gini coefficient of non-negative values (0: all equal, near 1: one holds everything)."""
    x = np.sort(np.asarray(values, dtype=float))
    total = x.sum()
    if x.size == 0 or total <= 0:
        return 0.0
    ranks = np.arange(1, x.size + 1)
    return float(2.0 * (ranks * x).sum() / (x.size * total) - (x.size + 1) / x.size)


def group_labels(roles: Sequence[str], behaviours: Sequence[str]) -> tuple[str, ...]:
    """Behaviour group per uid, e.g. ``miner:idle``; "" for an empty slot."""
    return tuple(f"{role}:{behaviour}" if role else ""
                 for role, behaviour in zip(roles, behaviours, strict=True))


def group_totals(values: Sequence[float] | np.ndarray,
                 groups: Sequence[str]) -> tuple[tuple[str, float], ...]:
    """Sum of ``values`` per group (empty slots skipped), groups in sorted order."""
    totals: dict[str, float] = {}
    for value, group in zip(values, groups, strict=False):
        if group:
            totals[group] = totals.get(group, 0.0) + float(value)
    return tuple(sorted(totals.items()))


def epoch_point(record: EpochRecord, groups: Sequence[str], registered: np.ndarray) -> EpochPoint:
    """Summarise a recorded epoch."""
    return EpochPoint(
        index=record.index, block=record.block, emission=float(record.emission_tao.sum()),
        stake_gini=gini(record.stake[registered]), kappa=record.params.kappa,
        incentive_by_group=group_totals(record.incentive, groups),
        dividends_by_group=group_totals(record.dividends, groups),
    )


def weights_view(weights_u16: np.ndarray, weight_set: np.ndarray, bonds_u16: np.ndarray,
                 registered: np.ndarray, consensus: np.ndarray) -> WeightsView:
    """Rows: registered uids that have set weights; columns: the other registered uids.

    (Not "uids with a permit": on a small subnet every uid, miners too, holds a permit.)
    """
    is_row = registered & weight_set.any(axis=1)
    rows = np.flatnonzero(is_row)
    columns = np.flatnonzero(registered & ~is_row)
    block = weights_u16[np.ix_(rows, columns)].astype(float)
    sums = block.sum(axis=1, keepdims=True)
    normalised = np.divide(block, sums, out=np.zeros_like(block), where=sums > 0)
    return WeightsView(
        validator_uids=_frozen(rows, np.int64), miner_uids=_frozen(columns, np.int64),
        weights=_frozen(normalised), bonds=_frozen(bonds_u16[np.ix_(rows, columns)] / U16_MAX),
        consensus=_frozen(np.asarray(consensus)[columns]),
    )
