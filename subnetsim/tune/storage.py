"""A study's output folder: its identity and provenance, per-trial trajectories, errors.

Layout of ``DIR``::

    study.json                      what decides the results (scenario, search space,
                                    objectives, seeds, sampler), the storage URL, provenance
    study.db                        the Optuna study (SQLite; absent with --storage URL)
    trials/trial-00012.parquet      per-epoch metrics of trial 12, every seed (long format)
    errors.csv                      runs that raised: trial, replicate, seed, parameters,
                                    error type, message, traceback file
    errors/trial-00012-r0001.txt    the full traceback of that run

Files are written under a temporary name and renamed, so a killed study leaves whole files.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from subnetsim.subnet.errors import ConfigError
from subnetsim.subnet.records import canonical_json
from subnetsim.sweep.trajectories import write_trajectories
from subnetsim.tune.config import Tune
from subnetsim.tune.evaluate import TrialResult

__all__ = ["ERROR_COLUMNS", "StudyDir"]

ERROR_COLUMNS = ("trial", "replicate", "seed", "parameters", "error", "message", "traceback")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StudyDir:
    """The output folder of one study."""

    path: Path
    tune: Tune
    storage: str

    @classmethod
    def prepare(cls, path: str | Path, tune: Tune, resume: bool, storage: str | None,
                provenance: dict[str, Any] | None) -> StudyDir:
        """Create (or, with ``resume``, reopen) the folder. A folder holding a study needs
        ``resume``; one holding a different study is refused."""
        path = Path(path)
        manifest = path / "study.json"
        identity = tune.identity()
        if manifest.exists():
            if not resume:
                raise ConfigError("--out", str(path), "already holds a study: pass --resume to "
                                  "continue it, or choose another folder")
            stored = json.loads(manifest.read_text(encoding="utf-8"))
            if canonical_json(stored.get("identity")) != canonical_json(identity):
                raise ConfigError("--out", str(path), "holds a different study (scenario, "
                                  "parameters, objectives, seeds or sampler changed): use "
                                  "another folder")
            storage = storage or stored.get("storage")
        elif resume:
            raise ConfigError("--resume", str(path), "no study there to resume (study.json "
                              "missing): run without --resume to start one")
        storage = storage or f"sqlite:///{(path / 'study.db').resolve()}"
        (path / "trials").mkdir(parents=True, exist_ok=True)
        _atomic_write(manifest, canonical_json({
            "identity": identity, "storage": storage, "study_name": tune.name,
            "budget": tune.file.trials, "description": tune.file.description,
            "provenance": provenance or {}}))
        folder = cls(path=path, tune=tune, storage=storage)
        if not folder.errors_path.exists():
            with folder.errors_path.open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerow(ERROR_COLUMNS)
        return folder

    @property
    def errors_path(self) -> Path:
        return self.path / "errors.csv"

    def trial_path(self, number: int) -> Path:
        return self.path / "trials" / f"trial-{number:05d}.parquet"

    def write_trial(self, result: TrialResult) -> None:
        """Write a trial's trajectory and any failed runs (before the trial is told)."""
        rows = [{"point": result.number, **row} for row in result.trajectory]
        write_trajectories(self.trial_path(result.number), rows, {"study": self.tune.name})
        for failure in result.failures:
            folder = self.path / "errors"
            folder.mkdir(exist_ok=True)
            suffix = "" if failure.replicate is None else f"-r{failure.replicate:04d}"
            trace = folder / f"trial-{failure.trial:05d}{suffix}.txt"
            trace.write_text(failure.traceback, encoding="utf-8")
            with self.errors_path.open("a", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerow([
                    failure.trial, "" if failure.replicate is None else failure.replicate,
                    "" if failure.seed is None else failure.seed,
                    json.dumps(result.values, sort_keys=True), failure.error, failure.message,
                    trace.relative_to(self.path).as_posix()])


def _atomic_write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
