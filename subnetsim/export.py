"""Export stored epochs as long-format tables (CSV or Parquet) for pandas and friends.

Two files per export:

* ``<prefix>-epochs-by-uid.<fmt>``: one row per (run_id, epoch_index, block, uid), one column per
  uid-indexed output (every output field holding a flat list: stake, incentive, dividends, ...);
* ``<prefix>-epochs.<fmt>``: one row per (run_id, epoch_index, block), one column per other
  output field (scalars as they are; nested lists or mappings as canonical JSON text).

``<prefix>`` is ``run-<id>`` or ``all-runs``. Epochs are streamed from the store: a first pass
learns the columns and their types, a second writes both files, so memory holds one epoch plus
(for Parquet) one row group. Floats are written with ``repr`` and read back exactly (pandas 3
does by default; older pandas needs ``read_csv(..., float_precision="round_trip")``). A field
missing from an epoch, or None, is an empty cell (a null in Parquet).
"""

from __future__ import annotations

import csv
import dataclasses
import importlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, Protocol

from subnetsim.subnet.errors import StoreError
from subnetsim.subnet.records import EpochRecord, canonical_json
from subnetsim.subnet.store import RunStore

__all__ = ["ExportFormat", "export_epochs"]

ExportFormat = Literal["csv", "parquet"]
_EPOCH_KEYS = ("run_id", "epoch_index", "block")
_UID_KEYS = (*_EPOCH_KEYS, "uid")
_SCALAR_KINDS = {bool: "bool", int: "int", float: "float", str: "str"}
_ROW_GROUP_ROWS = 65_536  # Parquet rows buffered per row group


def export_epochs(store: RunStore, run_id: int | None, out_dir: str | Path,
                  fmt: ExportFormat = "csv") -> list[Path]:
    """Write a run's (or every run's, for ``run_id=None``) epoch outputs as two tables.

    Returns:
        The paths written: the per-uid table, then the per-epoch table.

    Raises:
        StoreError: unknown run or format, pyarrow missing for Parquet, or epoch outputs whose
            uid-indexed lists differ in length or whose field changes between list and scalar.
    """
    if fmt not in ("csv", "parquet"):
        raise StoreError(f"format = {fmt!r}: must be csv or parquet")
    pyarrow = _import_pyarrow() if fmt == "parquet" else None
    run_ids = [store.run(run_id).run_id] if run_id is not None else [
        info.run_id for info in store.runs()]
    layout = _scan(store, run_ids)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prefix = "all-runs" if run_id is None else f"run-{run_id}"
    uid_path, epoch_path = (out / f"{prefix}-epochs-by-uid.{fmt}", out / f"{prefix}-epochs.{fmt}")
    uid_columns = {**dict.fromkeys(_UID_KEYS, "int"), **layout.uid_kinds}
    epoch_columns = {**dict.fromkeys(_EPOCH_KEYS, "int"), **layout.epoch_kinds}
    uid_sink = _open_sink(uid_path, uid_columns, pyarrow)
    try:
        epoch_sink = _open_sink(epoch_path, epoch_columns, pyarrow)
        try:
            for run, epoch in _epochs(store, layout.last_index):
                _write_epoch(run, epoch, layout, uid_sink, epoch_sink)
        finally:
            epoch_sink.close()
    finally:
        uid_sink.close()
    return [uid_path, epoch_path]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Layout:
    """Columns learnt in the first pass: field -> kind, and each run's last epoch index."""

    uid_kinds: dict[str, str]
    epoch_kinds: dict[str, str]
    last_index: dict[int, int]


def _epochs(store: RunStore, last_index: Mapping[int, int]) -> Iterable[tuple[int, EpochRecord]]:
    """Every epoch up to the scanned last index (a live run may have added some since)."""
    for run_id, last in last_index.items():
        for epoch in store.epochs(run_id):
            if epoch.index > last:
                break
            yield run_id, epoch


def _scan(store: RunStore, run_ids: list[int]) -> _Layout:
    """First pass: classify each output field (uid-indexed list or per-epoch) and its type."""
    uid_kinds: dict[str, set[str]] = {}
    epoch_kinds: dict[str, set[str]] = {}
    last_index: dict[int, int] = {}
    for run_id in run_ids:
        for epoch in store.epochs(run_id):
            last_index[run_id] = epoch.index
            _learn(epoch.outputs, f"run {run_id} epoch {epoch.index}", uid_kinds, epoch_kinds)
    return _Layout(uid_kinds={name: _column_kind(uid_kinds[name]) for name in sorted(uid_kinds)},
                   epoch_kinds={name: _column_kind(epoch_kinds[name])
                                for name in sorted(epoch_kinds)},
                   last_index=last_index)


def _learn(outputs: Mapping[str, Any], where: str, uid_kinds: dict[str, set[str]],
           epoch_kinds: dict[str, set[str]]) -> None:
    """Add one epoch's output fields and the kinds of their values to the columns seen."""
    uid_fields = _uid_fields(outputs, where)
    for name, value in outputs.items():
        is_uid = name in uid_fields
        if name in _UID_KEYS or name in (epoch_kinds if is_uid else uid_kinds):
            raise StoreError(f"{where}: output {name!r} cannot be a column (it is a key column,"
                             " or a list in some epochs and not in others)")
        kinds = (uid_kinds if is_uid else epoch_kinds).setdefault(name, set())
        kinds.update(_kind(item) for item in (value if is_uid else [value]))


def _uid_fields(outputs: Mapping[str, Any], where: str) -> dict[str, int]:
    """The flat-list fields and their lengths, checked equal (they are all indexed by uid)."""
    lengths = {name: len(value) for name, value in outputs.items()
               if isinstance(value, list) and not any(isinstance(item, list | dict)
                                                      for item in value)}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}: {length}" for name, length in sorted(lengths.items()))
        raise StoreError(f"{where}: uid-indexed outputs differ in length ({shown})")
    return lengths


def _kind(value: object) -> str:
    return "null" if value is None else _SCALAR_KINDS.get(type(value), "json")


def _column_kind(kinds: set[str]) -> str:
    """One type per column: ints widen to float; anything else mixed is kept as JSON text."""
    kinds = kinds - {"null"}
    if kinds == {"int", "float"}:
        return "float"
    if len(kinds) == 1:
        return kinds.pop()
    return "float" if not kinds else "json"


def _write_epoch(run_id: int, epoch: EpochRecord, layout: _Layout, uid_sink: _Sink,
                 epoch_sink: _Sink) -> None:
    outputs = epoch.outputs
    n = next((len(outputs[name]) for name in layout.uid_kinds if name in outputs), 0)
    uid_columns: dict[str, list[Any]] = {
        "run_id": [run_id] * n, "epoch_index": [epoch.index] * n, "block": [epoch.block] * n,
        "uid": list(range(n))}
    for name, kind in layout.uid_kinds.items():
        uid_columns[name] = _cells(outputs.get(name, [None] * n), kind)
    epoch_columns: dict[str, list[Any]] = {
        "run_id": [run_id], "epoch_index": [epoch.index], "block": [epoch.block]}
    for name, kind in layout.epoch_kinds.items():
        epoch_columns[name] = _cells([outputs.get(name)], kind)
    uid_sink.write(uid_columns, n)
    epoch_sink.write(epoch_columns, 1)


def _cells(values: list[Any], kind: str) -> list[Any]:
    if kind == "json":
        return [None if value is None else canonical_json(value) for value in values]
    return values


class _Sink(Protocol):
    def write(self, columns: dict[str, list[Any]], rows: int) -> None: ...

    def close(self) -> None: ...


def _open_sink(path: Path, kinds: dict[str, str], pyarrow: ModuleType | None) -> _Sink:
    return _CsvSink(path, kinds) if pyarrow is None else _ParquetSink(path, kinds, pyarrow)


class _CsvSink:
    """Rows through the stdlib csv writer: floats as repr, None as an empty cell."""

    def __init__(self, path: Path, kinds: dict[str, str]) -> None:
        self._file = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(kinds)

    def write(self, columns: dict[str, list[Any]], rows: int) -> None:
        self._writer.writerows(zip(*columns.values(), strict=True))

    def close(self) -> None:
        self._file.close()


class _ParquetSink:
    """Column buffers written as one row group per ``_ROW_GROUP_ROWS`` rows."""

    def __init__(self, path: Path, kinds: dict[str, str], pyarrow: ModuleType) -> None:
        pa = self._pa = pyarrow
        types = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
                 "str": pa.string(), "json": pa.string()}
        self._schema = pa.schema([(name, types[kind]) for name, kind in kinds.items()])
        self._writer = importlib.import_module("pyarrow.parquet").ParquetWriter(
            str(path), self._schema)
        self._buffer: dict[str, list[Any]] = {name: [] for name in kinds}
        self._rows = 0

    def write(self, columns: dict[str, list[Any]], rows: int) -> None:
        for name, values in columns.items():
            self._buffer[name].extend(values)
        self._rows += rows
        if self._rows >= _ROW_GROUP_ROWS:
            self._write_buffer()

    def close(self) -> None:
        if self._rows:
            self._write_buffer()
        self._writer.close()

    def _write_buffer(self) -> None:
        self._writer.write_table(self._pa.table(self._buffer, schema=self._schema))
        self._buffer = {name: [] for name in self._buffer}
        self._rows = 0


def _import_pyarrow() -> ModuleType:
    try:
        return importlib.import_module("pyarrow")
    except ImportError as exc:
        raise StoreError("install pyarrow for --format parquet") from exc
