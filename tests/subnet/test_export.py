"""export_epochs: long-format CSV/Parquet tables that read back to exactly what was recorded."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from subnetsim.subnet.errors import StoreError
from subnetsim.subnet.records import BlockRecord, EpochRecord
from subnetsim.subnet.store import RunStore

import subnetsim.export
from subnetsim.export import export_epochs
from tests.subnet.test_store import fill, new_run

UID_FIELDS = ["dividends", "incentive", "validator_permit"]  # list outputs of make_epoch, sorted
EPOCH_FIELDS = ["bonds", "note", "total_issuance"]


def record_epochs(store: RunStore, run_id: int, epochs: list[EpochRecord]) -> None:
    """One bare block per epoch (export reads epochs only)."""
    for epoch in epochs:
        block = BlockRecord(number=epoch.block, time=0.0, parent_hash="p", extrinsics_hash="e",
                            state_root="s", hash="h")
        store.append_block(run_id, block, [], [], epoch)
    store.flush()


@pytest.fixture
def store(tmp_path: Path):
    """Run 1: 12 blocks, epochs at 4, 8, 12 over 4 uids. Run 2: two epochs over 3 uids, with a
    field run 1 lacks and without two of run 1's fields."""
    with RunStore.open(tmp_path / "runs.db") as opened:
        fill(opened, new_run(opened), 12)
        second = new_run(opened)
        record_epochs(opened, second, [
            EpochRecord(block=b, index=i, inputs={}, params={},
                        outputs={"incentive": [0.1 * i, 1 / 3, 2.0], "extra": [True, False, None],
                                 "validator_permit": [1, 1, 0]})
            for i, b in ((1, 5), (2, 10))])
        yield opened


def expected_uid_rows(store: RunStore, run_ids: list[int]) -> list[dict]:
    rows = []
    for run_id in run_ids:
        for epoch in store.epochs(run_id):
            n = len(epoch.outputs["incentive"])
            for uid in range(n):
                row = {"run_id": run_id, "epoch_index": epoch.index, "block": epoch.block,
                       "uid": uid}
                row.update({name: value[uid] for name, value in epoch.outputs.items()
                            if isinstance(value, list) and not isinstance(value[0], list)
                            and value[uid] is not None})  # None: an empty cell, read as absent
                rows.append(row)
    return rows


def parse_cell(text: str):
    """Read back one CSV cell: empty is None; else int, float, bool, JSON or the text itself."""
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    for convert in (int, float, json.loads):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as file:
        return [{key: parse_cell(value) for key, value in row.items()
                 if value != ""} for row in csv.DictReader(file)]


def test_one_run_as_csv_reads_back_exactly(store: RunStore, tmp_path: Path):
    uid_path, epoch_path = export_epochs(store, 1, tmp_path / "out", "csv")
    assert (uid_path.name, epoch_path.name) == ("run-1-epochs-by-uid.csv", "run-1-epochs.csv")
    with uid_path.open(newline="") as file:
        assert next(csv.reader(file)) == ["run_id", "epoch_index", "block", "uid", *UID_FIELDS]
    assert read_csv(uid_path) == expected_uid_rows(store, [1])
    assert read_csv(epoch_path) == [
        {"run_id": 1, "epoch_index": epoch.index, "block": epoch.block,
         **{name: epoch.outputs[name] for name in EPOCH_FIELDS}}
        for epoch in store.epochs(1)]


def test_all_runs_share_one_table_and_missing_fields_are_empty(store: RunStore,
                                                               tmp_path: Path):
    uid_path, epoch_path = export_epochs(store, None, tmp_path, "csv")
    assert uid_path.name == "all-runs-epochs-by-uid.csv"
    rows = read_csv(uid_path)
    assert rows == expected_uid_rows(store, [1, 2])  # absent keys: cells left empty
    assert rows[-1] == {"run_id": 2, "epoch_index": 2, "block": 10, "uid": 2, "incentive": 2.0,
                        "validator_permit": 0}
    assert [row["run_id"] for row in read_csv(epoch_path)] == [1, 1, 1, 2, 2]


def test_csv_reads_back_exactly_in_pandas(store: RunStore, tmp_path: Path):
    pandas = pytest.importorskip("pandas")
    # pandas 3 parses floats exactly by default (and deprecates the option older ones need).
    exact = {} if int(pandas.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    uid_path, epoch_path = export_epochs(store, None, tmp_path, "csv")
    frame = pandas.read_csv(uid_path, **exact)
    expected = pandas.DataFrame(expected_uid_rows(store, [1, 2]))[list(frame.columns)]
    pandas.testing.assert_frame_equal(frame, expected, check_dtype=False, check_exact=True)
    epochs = pandas.read_csv(epoch_path, **exact)
    assert epochs["total_issuance"].tolist()[:3] == [1001.0, 1002.0, 1003.0]
    assert json.loads(epochs["bonds"][0]) == [[1, 2], [3]]


def test_parquet_reads_back_exactly_with_types(store: RunStore, tmp_path: Path, monkeypatch):
    pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(subnetsim.export, "_ROW_GROUP_ROWS", 5)  # several row groups
    uid_path, epoch_path = export_epochs(store, None, tmp_path, "parquet")
    table = parquet.read_table(uid_path)
    assert parquet.ParquetFile(uid_path).num_row_groups > 1
    assert {name: str(table.schema.field(name).type) for name in table.column_names} == {
        "run_id": "int64", "epoch_index": "int64", "block": "int64", "uid": "int64",
        "dividends": "double", "extra": "bool", "incentive": "double",
        "validator_permit": "int64"}
    rows = [{key: value for key, value in row.items() if value is not None}
            for row in table.to_pylist()]
    assert rows == expected_uid_rows(store, [1, 2])
    epochs = parquet.read_table(epoch_path).to_pylist()
    assert epochs[0] == {"run_id": 1, "epoch_index": 1, "block": 4, "bonds": "[[1,2],[3]]",
                         "note": "ok", "total_issuance": 1001.0}


def test_parquet_without_pyarrow_says_what_to_install(store: RunStore, tmp_path: Path,
                                                      monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` fail
    with pytest.raises(StoreError, match=r"^install pyarrow for --format parquet$"):
        export_epochs(store, 1, tmp_path, "parquet")
    assert not list(tmp_path.glob("*.parquet"))


def test_a_run_without_epochs_gives_header_only_tables(store: RunStore, tmp_path: Path):
    empty = new_run(store)
    uid_path, epoch_path = export_epochs(store, empty, tmp_path, "csv")
    assert uid_path.read_bytes() == b"run_id,epoch_index,block,uid\r\n"
    assert epoch_path.read_bytes() == b"run_id,epoch_index,block\r\n"


@pytest.mark.parametrize(("outputs", "message"), [
    ([{"a": [1.0, 2.0], "b": [1.0]}], r"run 3 epoch 0: uid-indexed outputs differ in length"
                                      r" \(a: 2, b: 1\)"),
    ([{"a": [1.0]}, {"a": 2.0}], "run 3 epoch 1: output 'a' cannot be a column"),
    ([{"uid": [1.0]}], "run 3 epoch 0: output 'uid' cannot be a column"),
])
def test_inconsistent_outputs_are_refused(store: RunStore, tmp_path: Path, outputs, message):
    run_id = new_run(store)
    record_epochs(store, run_id, [EpochRecord(block=index + 1, index=index, inputs={},
                                              params={}, outputs=data)
                                  for index, data in enumerate(outputs)])
    with pytest.raises(StoreError, match=message):
        export_epochs(store, run_id, tmp_path, "csv")


def test_unknown_run_or_format(store: RunStore, tmp_path: Path):
    with pytest.raises(StoreError, match="no run 9"):
        export_epochs(store, 9, tmp_path, "csv")
    with pytest.raises(StoreError, match="format = 'xlsx'"):
        export_epochs(store, 1, tmp_path, "xlsx")
