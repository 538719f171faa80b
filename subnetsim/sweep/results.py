"""A sweep's output folder: one Parquet file per finished run, errors, the merged table.

Layout of ``DIR``::

    sweep.json                      what decides the results (scenario, points, seeds), and
                                    under "provenance" the software, code and executor
    runs/p00003-r0001.parquet       one finished run: long format, its facts in the metadata
    errors.csv                      runs that raised: point, replicate, seed, parameters,
                                    error type, message, traceback file
    errors/p00003-r0001.txt         the full traceback of a failed run
    epochs.parquet                  every run, merged in (point, replicate, epoch, uid) order

A run file is written to a temporary name and renamed when complete, so a killed sweep leaves
only whole files; ``--resume`` trusts exactly the files in ``runs/``. Every run file shares one
schema: ``sweep, point, replicate, seed``, one column per parameter, then the run's columns.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.records import canonical_json
from subnetsim.sweep.config import Sweep
from subnetsim.sweep.task import OUTPUT_FIELDS, RunOutput

__all__ = ["ResultsDir", "run_schema"]

_RUN_FILE = re.compile(r"^p(\d+)-r(\d+)\.parquet$")
_INFO_KEY = b"subnetsim.run"
_ERROR_COLUMNS = ("point", "replicate", "seed", "parameters", "error", "message", "traceback")


def run_schema(sweep: Sweep) -> pa.Schema:
    """The columns of every run table of ``sweep`` (and of the merged table)."""
    keys = [pa.field("sweep", pa.string()), pa.field("point", pa.int64()),
            pa.field("replicate", pa.int64()), pa.field("seed", pa.int64())]
    parameters = [pa.field(name, _arrow_type([p.values[name] for p in sweep.points]))
                  for name in sweep.parameters]
    run = [pa.field(name, pa.int64()) for name in ("epoch", "block", "uid")]
    run += [pa.field(name, pa.string()) for name in ("hotkey", "role", "behaviour")]
    run += [pa.field(name, pa.bool_() if name == "validator_permit" else pa.float64())
            for name in OUTPUT_FIELDS]
    run.append(pa.field("model_loss", pa.float64()))
    return pa.schema([*keys, *parameters, *run])


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResultsDir:
    """The output folder of one sweep."""

    path: Path
    sweep: Sweep

    @classmethod
    def prepare(cls, path: str | Path, sweep: Sweep, resume: bool,
                provenance: dict[str, Any] | None = None) -> ResultsDir:
        """Create (or, with ``resume``, reopen) the folder; a folder holding another sweep, or
        results without ``resume``, is a ConfigError. ``provenance`` (software, code version,
        executor) is stored beside the identity and ignored when resuming."""
        path = Path(path)
        manifest = path / "sweep.json"
        identity = canonical_json(sweep.identity())
        if manifest.exists():
            if not resume:
                raise ConfigError("--out", str(path), "already holds a sweep: pass --resume to "
                                  "continue it, or choose another folder")
            try:  # a damaged manifest is a different sweep, not a crash
                stored = json.loads(manifest.read_bytes())
            except ValueError:
                stored = None
            if isinstance(stored, dict):
                stored.pop("provenance", None)
            if stored is None or canonical_json(stored) != identity:
                raise ConfigError("--out", str(path), "holds a different sweep (scenario, "
                                  "points, seeds or fast_path changed): use another folder")
        (path / "runs").mkdir(parents=True, exist_ok=True)
        manifest.write_text(canonical_json({**sweep.identity(), "provenance": provenance or {}}),
                            encoding="utf-8")
        results = cls(path=path, sweep=sweep)
        with results.errors_path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow(_ERROR_COLUMNS)  # failed runs are retried: start afresh
        return results

    @property
    def errors_path(self) -> Path:
        return self.path / "errors.csv"

    def run_path(self, point: int, replicate: int) -> Path:
        return self.path / "runs" / f"p{point:05d}-r{replicate:04d}.parquet"

    def finished(self) -> set[tuple[int, int]]:
        """(point, replicate) of every complete run file; a damaged one (a disk error, an edit)
        is deleted so that its run is done again."""
        found = set()
        for entry in (self.path / "runs").iterdir():
            match = _RUN_FILE.match(entry.name)
            if match and _readable_run(entry):
                found.add((int(match[1]), int(match[2])))
            elif match:
                entry.unlink()
        return found

    def write_run(self, output: RunOutput) -> Path:
        """Write one finished run atomically (temporary file, then rename)."""
        table = self._table(output)
        final = self.run_path(output.point, output.replicate)
        partial = final.with_name(f".{final.name}.partial")
        pq.write_table(table, partial)
        os.replace(partial, final)
        return final

    def record_error(self, point: int, replicate: int, seed: int, error: BaseException) -> None:
        """Append a failed run to ``errors.csv`` (one line, flushed at once) and write its
        traceback (with a worker's remote traceback, when the executor passes one on) to
        ``errors/p<point>-r<replicate>.txt``."""
        message = " ".join(str(error).split())
        folder = self.path / "errors"
        folder.mkdir(exist_ok=True)
        trace = folder / f"p{point:05d}-r{replicate:04d}.txt"
        trace.write_text("".join(traceback.format_exception(error)), encoding="utf-8")
        parameters = json.dumps(self.sweep.points[point].values, sort_keys=True)
        with self.errors_path.open("a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow([point, replicate, seed, parameters,
                                         type(error).__name__, message,
                                         trace.relative_to(self.path).as_posix()])

    def sort_errors(self) -> None:
        """Rewrite ``errors.csv`` in (point, replicate) order: runs fail in completion order,
        which depends on the executor, and the sweep's outputs must not."""
        with self.errors_path.open(newline="", encoding="utf-8") as handle:
            header, *rows = list(csv.reader(handle))
        rows.sort(key=lambda row: (int(row[0]), int(row[1])))
        partial = self.errors_path.with_name(".errors.csv.partial")
        with partial.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, *rows])
        os.replace(partial, self.errors_path)

    def read_run(self, point: int, replicate: int) -> tuple[pa.Table, dict[str, Any]]:
        """A run's table and its facts (digest, blocks, epochs, halt block, method)."""
        table = pq.read_table(self.run_path(point, replicate))
        info = json.loads(table.schema.metadata[_INFO_KEY])
        return table, info

    def runs(self) -> Iterator[tuple[int, int]]:
        """Finished (point, replicate) pairs in order."""
        yield from sorted(self.finished())

    def merge(self) -> Path:
        """Write ``epochs.parquet``: every finished run in (point, replicate) order."""
        target = self.path / "epochs.parquet"
        partial = target.with_name(".epochs.parquet.partial")
        schema = run_schema(self.sweep)
        with pq.ParquetWriter(partial, schema) as writer:
            for point, replicate in self.runs():
                table, _ = self.read_run(point, replicate)
                writer.write_table(table.replace_schema_metadata(None).cast(schema))
        os.replace(partial, target)
        return target

    def _table(self, output: RunOutput) -> pa.Table:
        schema = run_schema(self.sweep)
        rows = len(output.columns["epoch"])
        values = self.sweep.points[output.point].values
        constants = {"sweep": self.sweep.name, "point": output.point,
                     "replicate": output.replicate, "seed": output.seed, **values}
        arrays = []
        for field in schema:
            if field.name in constants:
                value = constants[field.name]
                if field.type == pa.string():
                    value = str(value)  # a parameter of mixed types is kept as text
                arrays.append(pa.array([value] * rows, type=field.type))
            else:
                # NaN (an unknown model loss) is stored as null, so equal tables compare equal.
                arrays.append(pa.array(output.columns[field.name], type=field.type,
                                       from_pandas=True))
        metadata = {_INFO_KEY: canonical_json(output.info).encode()}
        return pa.Table.from_arrays(arrays, schema=schema.with_metadata(metadata))


def _arrow_type(values: list[Any]) -> pa.DataType:
    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


def _readable_run(path: Path) -> bool:
    """Whether a run file is a Parquet file carrying this package's run facts."""
    try:
        metadata = pq.read_schema(path).metadata or {}
        json.loads(metadata[_INFO_KEY])
    except (pa.ArrowException, OSError, KeyError, ValueError):
        return False
    return True
