"""One tiny study shared by the tune and report tests (it is the slow part of both)."""

from __future__ import annotations

from pathlib import Path

import pytest

from subnetsim.sweep.provenance import provenance
from subnetsim.sweep.runner import SerialExecutor
from subnetsim.tune.config import load_tune
from subnetsim.tune.outputs import write_outputs
from subnetsim.tune.study import open_study, run_study

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "tiny_tune.toml"


@pytest.fixture(scope="session")
def serial_study(tmp_path_factory) -> Path:
    """tests/data/tiny_tune.toml run in-process to the end, outputs written."""
    out = tmp_path_factory.mktemp("study")
    tune = load_tune(TINY)
    run_study(tune, out, SerialExecutor(), provenance=provenance("serial", 1))
    write_outputs(tune, open_study(tune, f"sqlite:///{out / 'study.db'}", create=False), out)
    return out
