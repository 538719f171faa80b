"""The batched fast path: many consensus settings over one recorded weight/stake history.

When a sweep varies only how an epoch turns weights into rewards (kappa, bonds_penalty,
bonds_moving_avg, Yuma3, liquid alpha: ``FAST_PATH_PARAMETERS``), the agents' weights do not
depend on the setting, so one simulation per seed can stand in for all of them. ``ReplayTask``
simulates the base scenario once, then replays its epochs for K settings at once with
``yuma.epoch_batch``: each setting carries its own consensus state forward (bonds, validator
permits, and stake, which compounds the setting's own payouts), while weights, registrations,
activity and commit masks come from the recording.

What it cannot show (docs/sweeps.md): any feedback of the setting into behaviour. Agents that
read consensus, incentive or stake (a copier that copies consensus, a cabal that restakes),
pruning decided by the setting's emission, and halts triggered by what the setting pays all
follow the base run instead. The base setting itself replays to the simulated outputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from subnetsim.subnet.config import U16_MAX
from subnetsim.subnet.emission import settle_epoch
from subnetsim.subnet.scenario import Scenario
from subnetsim.subnet.yuma import EpochInputs, EpochOutputs, YumaParams, epoch_batch
from subnetsim.sweep.task import (
    EpochColumns,
    RunOutput,
    build_columns,
    limit_threads,
    record_run,
)

__all__ = ["ReplayTask", "replay_epochs"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReplayTask:
    """Simulate one replicate of the base scenario, then replay it for every point."""

    replicate: int
    seed: int
    blocks: int
    scenario: Scenario
    points: tuple[tuple[int, YumaParams], ...]  # (point index, its epoch parameters)

    @property
    def keys(self) -> tuple[tuple[int, int], ...]:
        """The (point, replicate) pairs this task produces."""
        return tuple((point, self.replicate) for point, _ in self.points)

    def __call__(self) -> list[RunOutput]:
        limit_threads()
        recording = record_run(self.scenario, self.seed, self.blocks, keep_inputs=True)
        replayed = replay_epochs(recording.snapshots, [params for _, params in self.points])
        info = {**recording.info, "method": "replay"}
        return [
            RunOutput(point=point, replicate=self.replicate, seed=self.seed, info=info,
                      columns=build_columns(snapshots, recording.neurons, recording.model_loss))
            for (point, _), snapshots in zip(self.points, replayed, strict=True)
        ]


@dataclasses.dataclass(slots=True)
class _State:
    """Consensus state of K settings between epochs."""

    bonds: np.ndarray  # (K, n, n) u16 as stored by the chain
    stake_delta: np.ndarray  # (K, n) TAO: replayed stake minus recorded stake
    permit: np.ndarray  # (K, n) permits the previous replayed epoch granted
    recorded_permit: np.ndarray  # (n,) permits the previous recorded epoch granted


def replay_epochs(snapshots: Sequence[EpochColumns],
                  params: Sequence[YumaParams]) -> list[list[EpochColumns]]:
    """Replay recorded epochs (snapshots holding their ``record``) under each of ``params``.

    Returns one list of snapshots per setting, shaped like the recorded ones.
    """
    count = len(params)
    replayed: list[list[EpochColumns]] = [[] for _ in range(count)]
    state: _State | None = None
    for snapshot in snapshots:
        if snapshot.record is None:
            raise ValueError("replay_epochs needs snapshots recorded with keep_inputs=True")
        recorded = snapshot.record.inputs
        if state is None:
            state = _initial_state(recorded, count)
        inputs = _inputs_per_setting(recorded, state)
        outputs = epoch_batch(inputs, list(params))
        for k in range(count):
            payout = settle_epoch(snapshot.record.pending, outputs.server_emission[k],
                                  outputs.validator_emission[k], owner_uid=recorded.owner_uid)
            stake = inputs[k].stake + payout.stake_credit(recorded.owner_uid)
            state.stake_delta[k] = stake - snapshot.record.stake
            state.bonds[k] = 0
            state.bonds[k][recorded.validator_uids] = np.floor(outputs.bonds[k] * U16_MAX)
            state.permit[k] = outputs.validator_permit[k]
            replayed[k].append(_snapshot(snapshot, outputs.select(k), stake, payout.incentive_tao,
                                         payout.dividends_tao))
        state.recorded_permit = snapshot.record.validator_permit.copy()
    return replayed


def _initial_state(recorded: EpochInputs, count: int) -> _State:
    n = recorded.n
    bonds = np.zeros((n, n), dtype=np.int64)
    bonds[recorded.validator_uids] = np.rint(recorded.bonds * U16_MAX)
    return _State(bonds=np.repeat(bonds[None], count, axis=0),
                  stake_delta=np.zeros((count, n)),
                  permit=np.repeat(recorded.validator_permit[None], count, axis=0),
                  recorded_permit=recorded.validator_permit.copy())


def _inputs_per_setting(recorded: EpochInputs, state: _State) -> list[EpochInputs]:
    """The recorded epoch's inputs with each setting's own bonds, stake and permits.

    A uid registered since the last epoch starts afresh, as the ledger's deregistration leaves
    it: no stake carried over, no bonds, no permit. A permit the recorded run lost between
    epochs (its holder was replaced) is lost in every setting.
    """
    fresh = recorded.block_at_registration >= recorded.recent_registration_block  # (n,)
    state.stake_delta[:, fresh] = 0.0
    state.bonds[:, fresh, :] = 0
    state.bonds[:, :, fresh] = 0
    lost = state.recorded_permit & ~recorded.validator_permit
    state.permit &= ~(lost | fresh)[None]
    rows = recorded.validator_uids
    common = {field.name: getattr(recorded, field.name) for field in dataclasses.fields(recorded)}
    return [
        EpochInputs(**{**common, "stake": recorded.stake + state.stake_delta[k],
                       "bonds": state.bonds[k][rows] / U16_MAX,
                       "validator_permit": state.permit[k]})
        for k in range(len(state.bonds))
    ]


def _snapshot(recorded: EpochColumns, outputs: EpochOutputs, stake: np.ndarray,
              miners: np.ndarray, validators: np.ndarray) -> EpochColumns:
    uids = recorded.uids
    values = {
        "stake": stake, "incentive": outputs.incentive, "dividends": outputs.dividends,
        "consensus": outputs.consensus, "validator_trust": outputs.validator_trust,
        "emission_share": outputs.emission, "incentive_tao": miners, "dividends_tao": validators,
        "validator_permit": outputs.validator_permit,
    }
    return EpochColumns(index=recorded.index, block=recorded.block, uids=uids,
                         hotkeys=recorded.hotkeys,
                         outputs={name: np.asarray(value)[uids] for name, value in values.items()})
