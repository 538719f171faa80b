"""Long-format tables of a run: one row per (epoch, registered uid), and the metagraph.

The Python API (``Simulation.epochs_frame``) and ``subnetsim export`` build their rows here, so a
column means the same thing wherever it appears. Units are in the names: ``*_tao`` columns are
TAO, ``incentive``/``dividends``/``consensus``/``validator_trust``/``emission_share`` are shares
of the epoch (in [0, 1]). Who holds a uid is followed through the run's ``registered`` events
(``Occupancy``), starting from the scenario's planned neurons.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from subnetsim.subnet.metagraph import Metagraph
from subnetsim.subnet.records import EpochRecord, EventRecord
from subnetsim.world import Neuron

__all__ = ["EPOCH_COLUMNS", "METAGRAPH_COLUMNS", "Occupancy", "epoch_rows", "metagraph_rows"]

# Columns of an epoch row, in order; the epoch's hyperparameters (kappa, ...) follow them.
EPOCH_COLUMNS = (
    "scenario", "seed", "epoch", "block", "uid", "hotkey", "coldkey", "role", "behaviour",
    "stake_tao", "incentive", "dividends", "emission_tao", "incentive_tao", "dividends_tao",
    "emission_share", "consensus", "validator_trust", "validator_permit", "active",
)
# btcli's metagraph columns (``btcli subnets metagraph``), plus who runs each uid.
METAGRAPH_COLUMNS = (
    "UID", "STAKE", "CONSENSUS", "INCENTIVE", "DIVIDENDS", "EMISSION", "VTRUST", "VAL",
    "UPDATED", "ACTIVE", "HOTKEY", "COLDKEY", "BEHAVIOUR",
)


class Occupancy:
    """Who holds each uid, followed through a run's ``registered`` events.

    Starts from the scenario's genesis neurons; a ``registered`` event puts the planned neuron
    with that hotkey on the event's uid (replacing a pruned one).
    """

    def __init__(self, genesis: Sequence[Neuron], joiners: Sequence[Neuron]) -> None:
        self._planned = {neuron.hotkey: neuron for neuron in (*genesis, *joiners)}
        self.by_uid: dict[int, Neuron] = {neuron.uid: neuron for neuron in genesis}

    def apply(self, events: Iterable[EventRecord]) -> None:
        """Follow the registrations among ``events``."""
        for event in events:
            if event.kind != "registered":
                continue
            hotkey, uid = event.data["hotkey"], int(event.data["uid"])
            planned = self._planned.get(hotkey)
            self.by_uid[uid] = (dataclasses.replace(planned, uid=uid) if planned is not None
                                else Neuron(uid=uid, role="unknown", behaviour="unknown",
                                            hotkey=hotkey, coldkey=""))


def epoch_rows(record: EpochRecord, holders: Mapping[int, Neuron], *, scenario: str,
               seed: int) -> dict[str, list[Any]]:
    """Columns of ``record``'s rows: one per uid held at the epoch, in uid order."""
    uids = sorted(uid for uid in holders if uid < len(record.stake))
    params = dataclasses.asdict(record.params)
    active = record.active
    columns: dict[str, list[Any]] = {
        "scenario": [scenario] * len(uids), "seed": [seed] * len(uids),
        "epoch": [record.index] * len(uids), "block": [record.block] * len(uids),
        "uid": uids,
        "hotkey": [holders[uid].hotkey for uid in uids],
        "coldkey": [holders[uid].coldkey for uid in uids],
        "role": [holders[uid].role for uid in uids],
        "behaviour": [holders[uid].behaviour for uid in uids],
        "stake_tao": record.stake[uids].tolist(),
        "incentive": record.incentive[uids].tolist(),
        "dividends": record.dividends[uids].tolist(),
        "emission_tao": record.emission_tao[uids].tolist(),
        "incentive_tao": record.incentive_tao[uids].tolist(),
        "dividends_tao": record.dividends_tao[uids].tolist(),
        "emission_share": record.emission_share[uids].tolist(),
        "consensus": record.consensus[uids].tolist(),
        "validator_trust": record.validator_trust[uids].tolist(),
        "validator_permit": record.validator_permit[uids].tolist(),
        "active": active[uids].tolist(),
    }
    for name, value in params.items():
        columns[name] = [value] * len(uids)
    return columns


def metagraph_rows(metagraph: Metagraph, holders: Mapping[int, Neuron],
                   coldkeys: Sequence[str | None]) -> dict[str, list[Any]]:
    """btcli's metagraph columns for the registered uids (STAKE and EMISSION in TAO)."""
    uids = [int(uid) for uid in np.flatnonzero(metagraph.registered)]
    updated = metagraph.updated
    return {
        "UID": uids,
        "STAKE": metagraph.stake[uids].tolist(),
        "CONSENSUS": metagraph.consensus[uids].tolist(),
        "INCENTIVE": metagraph.incentive[uids].tolist(),
        "DIVIDENDS": metagraph.dividends[uids].tolist(),
        "EMISSION": metagraph.emission[uids].tolist(),
        "VTRUST": metagraph.validator_trust[uids].tolist(),
        "VAL": metagraph.validator_permit[uids].tolist(),
        "UPDATED": updated[uids].tolist(),
        "ACTIVE": metagraph.active[uids].tolist(),
        "HOTKEY": [metagraph.hotkeys[uid] for uid in uids],
        "COLDKEY": [coldkeys[uid] for uid in uids],
        "BEHAVIOUR": [holders[uid].behaviour if uid in holders else "unknown" for uid in uids],
    }


def concat_columns(parts: Sequence[Mapping[str, list[Any]]]) -> dict[str, list[Any]]:
    """Column-wise concatenation of row blocks that share their columns (in order)."""
    if not parts:
        return {name: [] for name in EPOCH_COLUMNS}
    merged: dict[str, list[Any]] = {name: [] for name in parts[0]}
    for part in parts:
        for name, values in part.items():
            merged[name].extend(values)
    return merged
