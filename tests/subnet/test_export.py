"""export_epochs: one long table of registered uids, equal to what the API shows in-process."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import subnetsim
from subnetsim.export import export_epochs
from subnetsim.frames import EPOCH_COLUMNS
from subnetsim.run import run
from subnetsim.subnet.config import Hyperparameters
from subnetsim.subnet.errors import ConfigError, StoreError
from subnetsim.subnet.scenario import load_scenario
from subnetsim.subnet.store import RunStore

DATA = Path(__file__).resolve().parents[1] / "data"
CHURN = DATA / "churn_small.toml"  # joiners prune idle miners: occupants change mid-run


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the churn scenario (run 1) and the small scenario (run 2)."""
    db = tmp_path_factory.mktemp("export") / "runs.db"
    with RunStore.open(db) as store:
        run(load_scenario(CHURN), 5, store=store)
        run(load_scenario(DATA / "small.toml"), 3, blocks=100, store=store)
    return db


def test_the_exported_run_equals_the_api_frame_of_the_same_run(recorded, tmp_path):
    with RunStore.open(recorded, create=False) as store:
        path = export_epochs(store, 1, tmp_path, "csv")
    exported = pd.read_csv(path)
    sim = subnetsim.Simulation(CHURN, seed=5)
    sim.run(blocks=200)
    live = sim.epochs_frame()
    assert path.name == "run-1-epochs.csv"
    assert list(exported.columns[:len(EPOCH_COLUMNS) + 1]) == ["run_id", *EPOCH_COLUMNS]
    pd.testing.assert_frame_equal(exported.drop(columns="run_id"), live, check_dtype=False)


def test_only_registered_uids_are_written_with_who_holds_them(recorded, tmp_path):
    with RunStore.open(recorded, create=False) as store:
        frame = pd.read_csv(export_epochs(store, 1, tmp_path, "csv"))
    per_epoch = frame.groupby("epoch").size()
    assert per_epoch.iloc[0] == 8 and per_epoch.iloc[-1] == 10  # 8 at genesis, 10 slots full
    last = frame[frame.epoch == frame.epoch.max()].set_index("uid")
    # Two joiners were pruned by the next two: the table follows the registrations.
    assert last.loc[8, "hotkey"] == "joiner-2" and last.loc[9, "hotkey"] == "joiner-3"
    assert last.loc[8, "behaviour"] == "honest" and last.loc[0, "behaviour"] == "fixed"
    assert (frame.seed == 5).all() and (frame.scenario == "churn_small").all()
    assert (frame.kappa == Hyperparameters().kappa).all() and "bonds_moving_avg" in frame.columns
    paid = frame.groupby("epoch").emission_tao.sum()
    assert paid.iloc[-1] == pytest.approx(frame.incentive_tao.groupby(frame.epoch).sum().iloc[-1]
                                          + frame.dividends_tao.groupby(frame.epoch).sum()
                                          .iloc[-1])


def test_parquet_reads_back_exactly_what_csv_does(recorded, tmp_path):
    with RunStore.open(recorded, create=False) as store:
        csv_frame = pd.read_csv(export_epochs(store, None, tmp_path, "csv"))
        parquet = pd.read_parquet(export_epochs(store, None, tmp_path, "parquet"))
    assert sorted(parquet.run_id.unique()) == [1, 2]
    pd.testing.assert_frame_equal(csv_frame, parquet, check_dtype=False)
    assert parquet.stake_tao.dtype.kind == "f" and parquet.validator_permit.dtype.kind == "b"


def test_bad_format_unknown_run_and_unwritable_path_are_one_line_errors(recorded, tmp_path):
    with RunStore.open(recorded, create=False) as store:
        with pytest.raises(ConfigError, match="must be csv or parquet"):
            export_epochs(store, 1, tmp_path, "xlsx")  # type: ignore[arg-type]
        with pytest.raises(StoreError, match="no run 7"):
            export_epochs(store, 7, tmp_path, "csv")
        blocker = tmp_path / "file"
        blocker.write_text("x")
        with pytest.raises(ConfigError, match="cannot write"):
            export_epochs(store, 1, blocker / "sub", "csv")


def test_a_store_without_epochs_gives_a_header_only_table(tmp_path):
    with RunStore.open(tmp_path / "empty.db") as store:
        path = export_epochs(store, None, tmp_path / "out", "csv")
    frame = pd.read_csv(path)
    assert len(frame) == 0 and list(frame.columns) == ["run_id", *EPOCH_COLUMNS]
