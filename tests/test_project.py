"""Project-level guarantees: our packages are ours, layering holds, the repo is self-contained."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import subnetsim.governance
import subnetsim.miners
import subnetsim.subnet
import subnetsim.tui
import subnetsim.validators

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package", [subnetsim.subnet, subnetsim.validators, subnetsim.miners,
subnetsim.governance, subnetsim.tui])
def test_top_level_packages_are_ours_not_pypi_namesakes(package):
    # `validators` is also a PyPI package; an install mix-up would import theirs silently.
    assert Path(package.__file__).resolve().parent.parent == ROOT


def test_import_layers_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    command = [str(lint)] if lint.exists() else [shutil.which("lint-imports") or "lint-imports"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_nothing_reads_the_shared_folder():
    # A user's clone has no shared folder beside it: read the copies in the repo.
    needles = ("../" + "shared", "/work/" + "shared")  # split so this file does not match itself
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if ".venv" not in path.parts
        and any(needle in path.read_text(encoding="utf-8") for needle in needles)
    ]
    assert offenders == []


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).with_name("ruff")
    command = [str(ruff) if ruff.exists() else "ruff", "check", "subnet", "validators", "miners",
               "governance", "tui", "tests", "benchmarks"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
