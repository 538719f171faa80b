"""Export stored epochs as one long-format table (CSV or Parquet) for pandas and friends.

One row per (run, epoch, registered uid), with the columns of ``subnetsim.frames``: who holds the
uid (hotkey, coldkey, role, behaviour), what the epoch gave it (shares, TAO paid, stake after),
and on every row the run's scenario, seed and the epoch's hyperparameters, so a row can be read
on its own. Empty uid slots are not written. The file is ``<prefix>-epochs.<fmt>`` with
``<prefix>`` ``run-<id>`` or ``all-runs``; floats round-trip exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pandas as pd

from subnetsim.frames import EPOCH_COLUMNS, Occupancy, concat_columns, epoch_rows
from subnetsim.subnet.errors import ConfigError, StoreError
from subnetsim.subnet.records import EventRecord
from subnetsim.subnet.scenario import scenario_from_dict
from subnetsim.subnet.store import RunStore
from subnetsim.world import plan_neurons

__all__ = ["ExportFormat", "export_epochs", "run_epochs_frame"]

ExportFormat = Literal["csv", "parquet"]


def export_epochs(store: RunStore, run_id: int | None, out_dir: str | Path,
                  fmt: ExportFormat = "csv") -> Path:
    """Write a run's (or every run's, for ``run_id=None``) epochs as one table; its path.

    Raises:
        StoreError: unknown run or unreadable rows; ConfigError: bad format or output path.
    """
    if fmt not in ("csv", "parquet"):
        raise ConfigError("--format", fmt, "must be csv or parquet")
    run_ids = [store.run(run_id).run_id] if run_id is not None else [
        info.run_id for info in store.runs()]
    frames = [run_epochs_frame(store, rid) for rid in run_ids]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["run_id", *EPOCH_COLUMNS])
    out = Path(out_dir)
    prefix = "all-runs" if run_id is None else f"run-{run_id}"
    path = out / f"{prefix}-epochs.{fmt}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
    except OSError as error:
        raise ConfigError("--out", str(path), f"cannot write: {error.strerror}") from None
    return path


def run_epochs_frame(store: RunStore, run_id: int) -> pd.DataFrame:
    """One run's epochs as rows of ``subnetsim.frames`` columns, with ``run_id`` first."""
    info = store.run(run_id)
    try:
        scenario = scenario_from_dict(json.loads(info.config_json))
    except (ValueError, TypeError) as error:
        raise StoreError(f"run {run_id}: stored scenario is unreadable ({error})") from None
    occupancy = Occupancy(*plan_neurons(scenario))
    events = store.events(run_id, kinds="registered")
    parts = []
    pending: EventRecord | None = next(events, None)
    for record in store.epochs(run_id):
        seen = []
        while pending is not None and pending.block <= record.block:
            seen.append(pending)
            pending = next(events, None)
        occupancy.apply(seen)
        parts.append(epoch_rows(record, occupancy.by_uid, scenario=scenario.name,
                                seed=info.seed))
    columns = concat_columns(parts)
    frame = pd.DataFrame(columns)
    frame.insert(0, "run_id", run_id)
    return frame
